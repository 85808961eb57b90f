"""Log streams, mixed into ComposeProvider: container logs followed, and the engine's events.

The docker SDK's streams block, so each one is read in a daemon thread of its own (never the
default executor, which short checks need) and its lines are handed to the event loop through a
queue. Closing the async generator closes every stream, which ends its thread.

- a container node: its stdout and stderr, followed with timestamps, marked `out` and `err`;
- a service or project node: the same for each of its containers, merged as lines arrive;
- the root node: the engine's event stream told as lines (died with exit code N, killed: out of
  memory, health check turned unhealthy, restarted), the live signal that keeps the tree fresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from providers.compose_model import PROJECT_LABEL, ContainerView, parse_time
from providers.contract import LogLine, utc_now
from providers.text import sanitize

if TYPE_CHECKING:
    from docker import DockerClient

TAIL_LINES = 100  # lines of history a followed container log starts with
REFOLLOW_SECONDS = 1.0  # how soon to follow again after a container stopped
EVENT_RETRY_SECONDS = 2.0
EVENTS = ("die", "oom", "health_status", "start", "destroy", "pause", "unpause")


class StreamPump:
    """Blocking streams read in daemon threads, their items queued for the event loop."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.stopped = threading.Event()
        self._lock = threading.Lock()
        self._streams: list[Any] = []
        self.running = 0

    def put(self, kind: str, item: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is listening
            self.loop.call_soon_threadsafe(self.queue.put_nowait, (kind, item))

    def register(self, stream: Any) -> bool:
        """Keep a stream to close on stop; False (and closed) when already stopped."""
        with self._lock:
            if not self.stopped.is_set():
                self._streams.append(stream)
                return True
        with contextlib.suppress(Exception):
            stream.close()
        return False

    def start(self, body: Callable[..., None], *args: Any) -> None:
        self.running += 1
        threading.Thread(target=self._run, args=(body, *args), daemon=True).start()

    def _run(self, body: Callable[..., None], *args: Any) -> None:
        try:
            body(*args)
        except Exception as error:  # reported on the stream, not raised in a thread
            if not self.stopped.is_set():
                self.put("error", error)
        finally:
            self.put("end", None)

    def stop(self) -> None:
        self.stopped.set()
        with self._lock:
            streams, self._streams = self._streams, []
        for stream in streams:
            with contextlib.suppress(Exception):
                stream.close()

    async def items(self) -> AsyncIterator[tuple[str, Any]]:
        """Everything the threads send, until all of them ended."""
        while self.running:
            kind, item = await self.queue.get()
            if kind == "end":
                self.running -= 1
                continue
            yield kind, item


def split_stamp(raw: bytes) -> tuple[datetime, str]:
    """`2024-05-01T10:00:00.123456789Z text` (docker logs --timestamps) -> time, text."""
    text = raw.decode("utf-8", errors="replace").rstrip("\r")
    stamp, _, rest = text.partition(" ")
    parsed = parse_time(stamp)
    if parsed is None:
        return utc_now(), text
    return parsed, rest


def event_line(event: Mapping[str, Any], died: dict[str, str]) -> LogLine | None:
    """One engine event as an operator reads it; None for events not worth a line."""
    action = str(event.get("Action") or event.get("status") or "")
    actor = event.get("Actor") or {}
    attributes = actor.get("Attributes") or {}
    ident = str(actor.get("ID") or event.get("id") or "")  # names are reused, ids are not
    name = sanitize(str(attributes.get("name") or str(event.get("id", ""))[:12]))
    nanos = int(event.get("timeNano") or 0)
    when = datetime.fromtimestamp(nanos / 1e9, UTC) if nanos else utc_now()
    project = attributes.get(PROJECT_LABEL)
    source = f"{project}/{name}" if project else name
    level, text = "info", ""
    if action == "die":
        code = str(attributes.get("exitCode", "?"))
        died[ident] = code
        if code == "0":
            text = f"{name} exited (exit code 0)"
        else:
            level, text = "error", f"{name} died with exit code {code}"
    elif action == "oom":
        level, text = "error", f"{name} killed: out of memory (OOM)"
    elif action.startswith("health_status"):
        status = action.partition(":")[2].strip()
        if status == "unhealthy":
            level, text = "error", f"{name} health check turned unhealthy"
        elif status == "healthy":
            text = f"{name} is healthy"
    elif action == "start":
        if ident in died:
            level = "warn"
            text = f"{name} restarted (after exit code {died.pop(ident)})"
        else:
            text = f"{name} started"
    elif action == "destroy":
        died.pop(ident, None)
        text = f"{name} removed"
    elif action in ("pause", "unpause"):
        level, text = "warn" if action == "pause" else "info", f"{name} {action}d"
    return LogLine(when, source, level, text) if text else None


class ComposeLogs:
    """Mixed into ComposeProvider; relies on its `root_id`, `client`, `new_client`, `select`,
    `parse_node`, `project_option`, `timeout` and `describe_error`."""

    if TYPE_CHECKING:
        timeout: float

        @property
        def root_id(self) -> str: ...

        @property
        def project_option(self) -> str | None: ...

        def client(self) -> DockerClient: ...

        def new_client(self, timeout: float | None, version: str | None = None) -> DockerClient: ...

        async def select(self, params: Mapping[str, Any]) -> list[ContainerView]: ...

        def parse_node(self, node_id: str) -> dict[str, str]: ...

        def describe_error(self, error: BaseException) -> str: ...

    async def logs(self, node_id: str, *, since: datetime | None = None) -> AsyncIterator[LogLine]:
        if node_id == self.root_id:
            async for line in self._events(since):
                yield line
            return
        params = self.parse_node(node_id)
        try:
            async with asyncio.timeout(self.timeout):
                views = await self.select(params)
                stream_client = await asyncio.to_thread(self._stream_client)
        except Exception as error:  # the pane says why there is nothing to show
            yield LogLine(utc_now(), node_id, "error", f"logs unavailable: {self._said(error)}")
            return
        if not views:
            yield LogLine(utc_now(), node_id, "warn", "no containers to follow")
            return
        pump = StreamPump()
        start = since.timestamp() if since else None
        for view in views:
            for stream in ("out", "err"):
                label = view.name if len(views) > 1 else ""
                pump.start(self._follow, pump, stream_client, view, stream, start, label)
        try:
            async for kind, item in pump.items():
                if kind == "line":
                    yield item
                else:
                    yield LogLine(utc_now(), node_id, "error", f"log stream: {self._said(item)}")
        finally:
            pump.stop()
            await asyncio.to_thread(stream_client.close)

    def _said(self, error: BaseException) -> str:
        return self.describe_error(error) if isinstance(error, Exception) else str(error)

    def _stream_client(self) -> DockerClient:
        """A client without a read timeout, since a followed stream may be quiet for long."""
        version = self.client().api.api_version  # asked once, within the timeout
        return self.new_client(None, version)

    def _follow(
        self,
        pump: StreamPump,
        client: DockerClient,
        view: ContainerView,
        stream: str,
        since: float | None,
        label: str,
    ) -> None:
        """Follow one output of one container, again each time it stops and starts."""
        import docker.errors

        last: datetime | None = None
        mark = since
        prefix = f"{label} | " if label else ""
        while not pump.stopped.is_set():
            kwargs: dict[str, Any] = {"stdout": stream == "out", "stderr": stream == "err"}
            if last is not None:
                kwargs["since"] = last.timestamp()
            elif mark is not None:
                kwargs["since"] = mark
            else:
                kwargs["tail"] = TAIL_LINES
            opened = time.time()
            try:
                lines = client.api.logs(
                    view.id, stream=True, follow=True, timestamps=True, **kwargs
                )
            except docker.errors.NotFound:
                pump.put("line", LogLine(utc_now(), view.name, "warn", f"{view.name} removed"))
                return
            if not pump.register(lines):
                return
            buffer = b""
            for chunk in lines:
                buffer += chunk if view.tty or chunk.endswith(b"\n") else chunk + b"\n"
                *complete, buffer = buffer.split(b"\n")
                for raw in complete:
                    when, text = split_stamp(raw)
                    if last is not None and when <= last:
                        continue  # already sent before the stream was opened again
                    last = when
                    pump.put("line", LogLine(when, view.name, stream, prefix + sanitize(text)))
            if mark is None and last is None:
                mark = max(1.0, opened - 1)
            pump.stopped.wait(REFOLLOW_SECONDS)

    async def _events(self, since: datetime | None) -> AsyncIterator[LogLine]:
        """The engine's container events, again after the engine comes back."""
        filters: dict[str, Any] = {"type": "container", "event": list(EVENTS)}
        if self.project_option:
            filters["label"] = [f"{PROJECT_LABEL}={self.project_option}"]
        start = since.timestamp() if since else None
        died: dict[str, str] = {}
        failing = False
        while True:
            pump = StreamPump()
            stream_client: DockerClient | None = None
            try:
                async with asyncio.timeout(self.timeout):
                    stream_client = await asyncio.to_thread(self._stream_client)
                opened = time.time()
                pump.start(self._read_events, pump, stream_client, start, filters)
                if failing:
                    failing = False
                    yield LogLine(utc_now(), self.root_id, "info", "engine events reachable again")
                async for kind, item in pump.items():
                    if kind == "line":
                        line = event_line(item, died)
                        if line is not None:
                            yield line
                    else:
                        raise item
                start = opened
            except Exception as error:  # told once, then retried
                if not failing:
                    failing = True
                    said = self._said(error)
                    yield LogLine(
                        utc_now(), self.root_id, "error", f"engine events lost: {said}; retrying"
                    )
            finally:
                pump.stop()
                if stream_client is not None:
                    await asyncio.to_thread(stream_client.close)
            await asyncio.sleep(EVENT_RETRY_SECONDS)

    @staticmethod
    def _read_events(
        pump: StreamPump, client: DockerClient, since: float | None, filters: dict[str, Any]
    ) -> None:
        events = client.api.events(since=since, filters=filters, decode=True)
        if not pump.register(events):
            return
        for event in events:
            pump.put("line", event)
