"""Session and per-test fixtures for PostgreSQL, RabbitMQ and the Docker engine.

Every server here is private (its own files under /tmp, its own free loopback ports) and is
stopped and removed at teardown, whether the tests passed or not. A server that cannot start
fails the test that asked for it, with the server's log and, where a package is missing, the
hint to run ``tests/system-deps.sh``: a missing server is a broken machine, never a skip.

- ``redis_server`` (function): a private redis-server for one test (fill it, stop it).
- ``postgres_server`` (session): one shared PostgreSQL; do not stop it or exhaust it.
- ``postgres_factory`` (function): ``postgres_factory(max_connections=..., settings=...)``
  starts a private PostgreSQL for this test only (stop it, exhaust it, break it).
- ``rabbitmq_server`` (session): one RabbitMQ node with the management plugin; isolate tests
  with their own vhost or queue names.
- ``docker_engine`` (session): a private dockerd with the ``triage-test/busybox`` image.
- ``docker_client`` (function): a DockerClient on that engine; every container, non-default
  network and volume is removed after the test.
"""

from __future__ import annotations

import atexit
import contextlib
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

import docker
import pytest

from .docker_engine import DockerEngine, start_docker_engine
from .postgres import PostgresServer, PostgresTemplate, new_postgres
from .process import ServerStartError
from .rabbitmq import RabbitMQServer, start_rabbitmq
from .redis import RedisServer, start_redis

SHARED_POSTGRES_MAX_CONNECTIONS = 50
PRIVATE_POSTGRES_MAX_CONNECTIONS = 10


class PostgresFactory(Protocol):
    def __call__(
        self,
        *,
        max_connections: int = PRIVATE_POSTGRES_MAX_CONNECTIONS,
        settings: dict[str, str] | None = None,
    ) -> PostgresServer: ...


def pytest_configure(config: pytest.Config) -> None:
    """Let a SIGTERM (a CI time limit, ``kill``) end the run like Ctrl-C: teardown still runs.

    Python's default for SIGTERM is to die on the spot, which would skip the fixtures'
    teardown; the servers would then die with pytest (PR_SET_PDEATHSIG) but leave their files,
    containers and bridge for the next run to reap.
    """
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"pytest received signal {signum}; stopping the test servers")


@contextlib.contextmanager
def _fail_clearly(what: str) -> Iterator[None]:
    """A server that does not start fails the test (never skips it), with its log tail."""
    try:
        yield
    except ServerStartError as exc:
        message = f"{what} could not start: {exc}"
        raise pytest.fail.Exception(message, pytrace=False) from None


@contextlib.contextmanager
def _removed_at_exit(remove: Callable[[], Any]) -> Iterator[None]:
    """Teardown removes the server; atexit does too if teardown never ran (pytest crashed)."""
    atexit.register(remove)
    try:
        yield
    finally:
        atexit.unregister(remove)
        remove()


# -- PostgreSQL ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[PostgresTemplate]:
    """An initdb'd cluster (superuser ``postgres``, known password) that instances copy."""
    with _fail_clearly("initdb for the test PostgreSQL"):
        template = PostgresTemplate.create()
    with _removed_at_exit(template.remove):
        yield template


@pytest.fixture(scope="session")
def postgres_server(postgres_template: PostgresTemplate) -> Iterator[PostgresServer]:
    """A PostgreSQL shared by the whole session (max_connections=50). Don't stop it."""
    server = new_postgres(postgres_template, max_connections=SHARED_POSTGRES_MAX_CONNECTIONS)
    with _removed_at_exit(server.remove):
        with _fail_clearly("the shared test PostgreSQL"):
            server.start()
        yield server


@pytest.fixture
def postgres_factory(postgres_template: PostgresTemplate) -> Iterator[PostgresFactory]:
    """Start private PostgreSQL servers for one test; all are removed when it ends."""
    servers: list[PostgresServer] = []

    def make(
        *,
        max_connections: int = PRIVATE_POSTGRES_MAX_CONNECTIONS,
        settings: dict[str, str] | None = None,
    ) -> PostgresServer:
        server = new_postgres(postgres_template, max_connections=max_connections, settings=settings)
        servers.append(server)
        with _fail_clearly("a private test PostgreSQL"):
            server.start()
        return server

    try:
        yield make
    finally:
        for server in servers:
            server.remove()


# -- RabbitMQ --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def rabbitmq_server() -> Iterator[RabbitMQServer]:
    """One private RabbitMQ node (AMQP + management API) for the session."""
    with (
        _fail_clearly("the test RabbitMQ node"),
        start_rabbitmq() as server,
        _removed_at_exit(server.remove),
    ):
        yield server


# -- Docker ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[DockerEngine]:
    """A private dockerd (own data root, socket and bridge) with the test image imported."""
    with (
        _fail_clearly("the test Docker engine"),
        start_docker_engine() as engine,
        _removed_at_exit(engine.remove),
    ):
        yield engine


@pytest.fixture
def docker_client(docker_engine: DockerEngine) -> Iterator[docker.DockerClient]:
    """A client on the private engine; whatever the test created there is removed after it."""
    client = docker_engine.client()
    try:
        yield client
    finally:
        client.close()
        docker_engine.cleanup()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A private redis-server for one test, which the test may fill, slow down or stop."""
    workdir = tmp_path / "redis"
    workdir.mkdir()
    with start_redis(workdir) as server:
        yield server
