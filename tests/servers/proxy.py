"""A forwarding HTTP proxy for the tests: CONNECT tunnels for HTTPS, plain forwarding for HTTP.

``ForwardingProxy`` listens on a free 127.0.0.1 port and reaches only the names it is given:
``routes`` maps ``host:port`` as the client asks for it (``api.shop.test:80``) to a loopback
address, so a test can aim a client at a name that does not resolve anywhere, which only the
proxy knows, and a request that reaches the server proves it went through the proxy. Any other
name is answered 502 without a lookup: nothing here leaves the loopback. ``requests`` records
each request it handled as (method, what was asked: ``host:port`` for CONNECT, the absolute URL
otherwise), so a test can count what went through it, and what never did.

A small asyncio server of our own, not a library: proxy.py (the maintained one on PyPI) runs
its plugins in acceptor processes of its own, so a request count or a name map would have to
cross processes, and it starts that pool for every proxy; pproxy has had no release since
2024. What the tests need (CONNECT, forwarding one request per connection, a name map, a
count) is the code below.

Fixture: ``forwarding_proxy`` (one proxy for one test; set its ``routes``).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

HEADER_LIMIT = 64 * 1024


class ForwardingProxy:
    """The proxy, served by an event loop in a thread of its own; use as a context manager."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[str, int]] = {}
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.StreamWriter] = set()
        self._upstreams: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ForwardingProxy:
        self._thread.start()
        started = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, "127.0.0.1", 0), self._loop
        )
        self._server = started.result(timeout=10)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            if self._server is not None:
                self._server.close()
                for client in list(self._clients):  # tunnels a client left open
                    client.close()
                await self._server.wait_closed()
            # Connections end by being closed, not by cancelling their tasks: Python 3.11's
            # start_server reports a cancelled connection task as an unhandled error.
            for upstream in list(self._upstreams):
                upstream.close()
            current = asyncio.current_task()
            serving = [task for task in asyncio.all_tasks() if task is not current]
            if serving:
                await asyncio.wait(serving, timeout=5)

        with contextlib.suppress(Exception):  # a failed test must still get its port back
            asyncio.run_coroutine_threadsafe(stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def handled(self, method: str = "") -> list[str]:
        """What was asked of the proxy (by `method`, or all), in order."""
        with self._lock:
            return [asked for m, asked in self.requests if not method or m == method]

    # -- serving -------------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._clients.add(writer)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            self._clients.discard(writer)
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = [*lines[0].split(" "), "", "", ""][:3]
        headers = [line for line in lines[1:] if line]
        with self._lock:
            self.requests.append((method, target))
        try:
            if method == "CONNECT":
                await self._tunnel(target, reader, writer)
            else:
                await self._forward(method, target, version, headers, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client or the upstream hung up mid-request: that request is over
        finally:
            self._clients.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _open(
        self, host_port: str, writer: asyncio.StreamWriter
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        address = self.routes.get(host_port.lower())
        if address is None:
            writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            return None
        up_reader, up_writer = await asyncio.open_connection(*address)
        self._upstreams.add(up_writer)
        return up_reader, up_writer

    async def _tunnel(
        self, target: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        upstream = await self._open(target, writer)
        if upstream is None:
            return
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        try:
            await _pipe_both(reader, writer, *upstream)
        finally:
            self._upstreams.discard(upstream[1])

    async def _forward(
        self,
        method: str,
        target: str,
        version: str,
        headers: list[str],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        """One request in absolute form, sent on in origin form with `Connection: close`; the
        answer goes back with `Connection: close` too, so each connection carries one request
        (a client's next request, maybe for another host, opens a new one)."""
        parts = urlsplit(target)
        port = parts.port or 80
        upstream = await self._open(f"{parts.hostname}:{port}", writer)
        if upstream is None:
            return
        up_reader, up_writer = upstream
        path = parts.path or "/"
        if parts.query:
            path += f"?{parts.query}"
        kept = [h for h in headers if h.split(":", 1)[0].strip().lower() not in _HOP_BY_HOP]
        request = [f"{method} {path} {version}", *kept, "Connection: close", "", ""]
        up_writer.write("\r\n".join(request).encode("latin-1"))
        await up_writer.drain()
        body = asyncio.ensure_future(_pipe(reader, up_writer))  # a POST's body, as it comes
        try:
            answer = await up_reader.readuntil(b"\r\n\r\n")
            answer_lines = [
                line
                for line in answer.decode("latin-1").split("\r\n")
                if line and line.split(":", 1)[0].strip().lower() != "connection"
            ]
            writer.write(
                "\r\n".join([*answer_lines, "Connection: close", "", ""]).encode("latin-1")
            )
            await writer.drain()
            await _pipe(up_reader, writer)
        finally:
            body.cancel()
            self._upstreams.discard(up_writer)
            up_writer.close()


_HOP_BY_HOP = {"connection", "proxy-connection", "keep-alive", "proxy-authorization"}


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while chunk := await source.read(65536):
            sink.write(chunk)
            await sink.drain()
    except ConnectionError:
        pass  # one side hung up: the tunnel ends, the other side is told below
    finally:
        with contextlib.suppress(Exception):
            sink.write_eof()


async def _pipe_both(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    up_reader: asyncio.StreamReader,
    up_writer: asyncio.StreamWriter,
) -> None:
    """Bytes both ways until the upstream has said all it will; then both sides are closed."""
    outbound = asyncio.ensure_future(_pipe(reader, up_writer))
    try:
        await _pipe(up_reader, writer)
    finally:
        outbound.cancel()
        up_writer.close()


@pytest.fixture
def forwarding_proxy() -> Iterator[ForwardingProxy]:
    """A forwarding proxy for one test, stopped after it; it reaches only its `routes`."""
    with ForwardingProxy() as proxy:
        yield proxy
