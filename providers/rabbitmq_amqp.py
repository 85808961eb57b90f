"""RabbitMQ over AMQP (pika, blocking): where the broker is, passive declares, purge, errors.

pika is synchronous: every function here that touches the network is meant to run in a thread
(`asyncio.to_thread`), with socket and handshake timeouts, and opens and closes its own
connection so no connection is shared between threads. pika is imported only when called.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from providers.rabbitmq_state import QueueState

if TYPE_CHECKING:
    import pika

DEFAULT_URL = "amqp://guest@127.0.0.1:5672/%2F"

# Why a connection could not be opened, as the `reason` fact of rabbitmq.connect says it.
REASONS = ("ok", "refused", "auth_failed", "vhost_missing", "timeout", "other")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where the broker is and who we are there. `password` never leaves this object."""

    host: str
    port: int
    vhost: str
    user: str
    password: str
    tls: bool = False

    @classmethod
    def from_url(cls, url: str, *, username: str | None, password: str | None) -> Endpoint:
        parts = urlsplit(url)
        tls = parts.scheme == "amqps"
        path = parts.path[1:] if parts.path.startswith("/") else parts.path
        vhost = unquote(path) or "/"
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or (5671 if tls else 5672),
            vhost=vhost,
            user=username or unquote(parts.username or "") or "guest",
            password=password if password is not None else unquote(parts.password or "guest"),
            tls=tls,
        )

    @property
    def address(self) -> str:
        """host:port, then /vhost unless it is the default vhost."""
        base = f"{self.host}:{self.port}"
        return base if self.vhost == "/" else f"{base}/{self.vhost}"

    def with_vhost(self, vhost: str) -> Endpoint:
        return Endpoint(self.host, self.port, vhost, self.user, self.password, self.tls)

    def __repr__(self) -> str:  # the password must not show in a traceback or a log
        return f"Endpoint({self.user}@{self.address})"


def parameters(endpoint: Endpoint, timeout: float) -> pika.ConnectionParameters:
    import pika

    # pika logs every failed handshake at ERROR; we report the failure ourselves, once, with
    # the address, and a log line written to the terminal would tear a TUI frame.
    logging.getLogger("pika").setLevel(logging.CRITICAL)

    ssl_options = None
    if endpoint.tls:
        import ssl

        ssl_options = pika.SSLOptions(ssl.create_default_context(), endpoint.host)
    return pika.ConnectionParameters(
        host=endpoint.host,
        port=endpoint.port,
        virtual_host=endpoint.vhost,
        credentials=pika.PlainCredentials(endpoint.user, endpoint.password, erase_on_connect=True),
        connection_attempts=1,
        socket_timeout=timeout,
        stack_timeout=timeout,
        blocked_connection_timeout=timeout,
        ssl_options=ssl_options,
        client_properties={"connection_name": "triage"},
    )


@contextlib.contextmanager
def connection(endpoint: Endpoint, timeout: float) -> Iterator[pika.BlockingConnection]:
    import pika

    opened = pika.BlockingConnection(parameters(endpoint, timeout))
    try:
        yield opened
    finally:
        with contextlib.suppress(Exception):
            opened.close()


@dataclass(frozen=True, slots=True)
class Handshake:
    """What opening a connection told us."""

    seconds: float
    product: str
    version: str


def open_and_close(endpoint: Endpoint, timeout: float) -> Handshake:
    """Open a connection (TCP, AMQP handshake, login, vhost) and close it. Runs in a thread."""
    started = time.monotonic()
    with connection(endpoint, timeout) as opened:
        elapsed = time.monotonic() - started
        impl = getattr(opened, "_impl", None)
        properties: dict[Any, Any] = dict(getattr(impl, "server_properties", None) or {})
    return Handshake(elapsed, _text(properties.get("product")), _text(properties.get("version")))


@dataclass(frozen=True, slots=True)
class Declared:
    """A passive declare's answer: messages ready (not unacked) and consumers, exact and now."""

    vhost: str
    queue: str
    ready: int | None
    consumers: int | None
    error: str = ""


def passive_declare(endpoint: Endpoint, queues: Sequence[str], timeout: float) -> list[Declared]:
    """Depth and consumers of named queues; a missing queue is reported, not raised."""
    import pika.exceptions

    found: list[Declared] = []
    with connection(endpoint, timeout) as opened:
        channel = opened.channel()
        for name in queues:
            try:
                method = channel.queue_declare(queue=name, passive=True).method
            except pika.exceptions.ChannelClosedByBroker as error:
                found.append(Declared(endpoint.vhost, name, None, None, channel_error(error)))
                channel = opened.channel()
                continue
            found.append(
                Declared(
                    endpoint.vhost, name, int(method.message_count), int(method.consumer_count)
                )
            )
    return found


def sample_depths(
    endpoint: Endpoint, queue: str, samples: int, interval: float, timeout: float
) -> list[Declared]:
    """`samples` passive declares of one queue, `interval` seconds apart, on one connection."""
    import pika.exceptions

    found: list[Declared] = []
    with connection(endpoint, timeout) as opened:
        channel = opened.channel()
        for index in range(samples):
            if index:
                opened.sleep(interval)
            try:
                method = channel.queue_declare(queue=queue, passive=True).method
            except pika.exceptions.ChannelClosedByBroker as error:
                return [Declared(endpoint.vhost, queue, None, None, channel_error(error))]
            found.append(
                Declared(
                    endpoint.vhost, queue, int(method.message_count), int(method.consumer_count)
                )
            )
    return found


def purge(endpoint: Endpoint, queue: str, timeout: float) -> int:
    """Purge the ready messages of `queue`; returns how many went."""
    with connection(endpoint, timeout) as opened:
        method = opened.channel().queue_purge(queue=queue).method
        return int(method.message_count)


def channel_error(error: BaseException) -> str:
    """A broker's channel close (404 no queue, 403 access refused) as one line."""
    code = getattr(error, "reply_code", None)
    text = str(getattr(error, "reply_text", "") or error)
    match = re.match(r"[A-Z_]+ - (.*)", text)
    detail = match.group(1) if match else text
    return f"{detail} ({code})" if code else detail


def classify(error: BaseException) -> tuple[str, str]:
    """(reason, one-line explanation) for a failure to open a connection."""
    import pika.exceptions as errors
    from pika.adapters.utils.connection_workflow import (
        AMQPConnectorSocketConnectError,
        AMQPConnectorStackTimeout,
    )

    text = " ".join(repr(arg) for arg in getattr(error, "args", ())) or str(error)
    if isinstance(error, errors.ProbableAuthenticationError | errors.AuthenticationError):
        return "auth_failed", "authentication failed"
    if isinstance(error, errors.ProbableAccessDeniedError):
        if "not found" in text:
            return "vhost_missing", "vhost not found"
        return "other", "access to the vhost refused"
    if isinstance(error, AMQPConnectorStackTimeout | TimeoutError):
        return "timeout", "no answer"
    if isinstance(error, errors.AMQPConnectionError):
        inner = error.args[0] if error.args else None
        if isinstance(inner, AMQPConnectorSocketConnectError):
            inner = getattr(inner, "exception", None) or inner
        if isinstance(inner, AMQPConnectorStackTimeout) or "Timeout" in text:
            return "timeout", "no answer"
        if isinstance(inner, ConnectionRefusedError) or "Connection refused" in text:
            return "refused", "connection refused"
        if isinstance(inner, OSError) and inner.strerror:
            return "other", inner.strerror.lower()
        if "NOT_ALLOWED" in text and "not found" in text:
            return "vhost_missing", "vhost not found"
        if "ACCESS_REFUSED" in text:
            return "auth_failed", "authentication failed"
        if isinstance(error, errors.StreamLostError):
            return "other", "connection lost"
        if isinstance(error, errors.ConnectionClosedByBroker):
            return "other", f"closed by the broker: {channel_error(error)}"
    if isinstance(error, ConnectionRefusedError):
        return "refused", "connection refused"
    if isinstance(error, OSError) and error.strerror:
        return "other", error.strerror.lower()
    return "other", text or type(error).__name__


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return "" if value is None else str(value)


def from_declared(answer: Declared) -> QueueState:
    ready = int(answer.ready or 0)
    return QueueState(answer.vhost, answer.queue, ready, ready, None, answer.consumers, "amqp")
