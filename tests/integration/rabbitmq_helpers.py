"""Shared by the RabbitMQ provider tests: URLs, opened providers, consumers, waits on the
management API, and the ``vhost`` fixture.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pika
import pytest

from providers.inventory import Target
from providers.rabbitmq_provider import RabbitMQProvider
from tests.servers.rabbitmq import RabbitMQServer

PASSWORD_VARIABLE = "TRIAGE_TEST_RABBITMQ_PASSWORD"
BACKLOG = 10_000


def url_of(server: RabbitMQServer, vhost: str = "/", port: int | None = None) -> str:
    """The AMQP URL without its password (the inventory forbids passwords in URLs)."""
    quoted = vhost.replace("/", "%2F")
    return f"amqp://{server.user}@{server.host}:{port or server.amqp_port}/{quoted}"


@contextlib.asynccontextmanager
async def opened(
    server: RabbitMQServer,
    monkeypatch: pytest.MonkeyPatch,
    *,
    vhost: str = "/",
    port: int | None = None,
    password: str | None = None,
    timeout: float = 3.0,
    **options: Any,
) -> AsyncIterator[RabbitMQProvider]:
    monkeypatch.setenv(PASSWORD_VARIABLE, server.password if password is None else password)
    options.setdefault("management_url", server.management_url)
    provider = RabbitMQProvider(
        Target(
            kind="rabbitmq",
            name="mq",
            url=url_of(server, vhost, port),
            password={"env": PASSWORD_VARIABLE},
            timeout=timeout,
            options=options,
        )
    )
    try:
        yield provider
    finally:
        await provider.close()


@contextlib.contextmanager
def silent_listener() -> Iterator[int]:
    """A port that accepts connections and never answers: a hung broker."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield listener.getsockname()[1]


@contextlib.contextmanager
def consumer(
    server: RabbitMQServer, queue: str, vhost: str, prefetch: int, *, name: str = ""
) -> Iterator[None]:
    """A pika consumer in a thread that takes `prefetch` messages and never acks them; `name`:
    the connection name its client gives (as a pod or a service names itself)."""
    stop = threading.Event()
    ready = threading.Event()

    def run() -> None:
        parameters = server.connection_parameters(vhost)
        if name:
            parameters.client_properties = {"connection_name": name}
        connection = pika.BlockingConnection(parameters)
        try:
            channel = connection.channel()
            channel.basic_qos(prefetch_count=prefetch)
            channel.basic_consume(queue, lambda *_: None)
            ready.set()
            while not stop.is_set():
                connection.process_data_events(time_limit=0.05)
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield
    finally:
        stop.set()
        thread.join(10)


def wait_for_management(
    server: RabbitMQServer, queue: str, vhost: str, **expected: int
) -> dict[str, Any]:
    deadline = time.monotonic() + 15
    while True:
        found = server.management_queue(queue, vhost)
        if all(found.get(key) == value for key, value in expected.items()):
            return found
        assert time.monotonic() < deadline, f"management API shows {found} for {queue}"
        time.sleep(0.1)


@pytest.fixture
def vhost(rabbitmq_server: RabbitMQServer) -> Iterator[str]:
    name = f"t-{uuid.uuid4().hex[:8]}"
    rabbitmq_server.create_vhost(name)
    yield name
    rabbitmq_server.delete_vhost(name)
