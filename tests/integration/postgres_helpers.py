"""Shared by the PostgreSQL provider tests: targets, opened providers, sessions of their own,
waits, and the fixtures that set the password variables and clean the shared server.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from providers.inventory import Target
from providers.postgres_provider import PostgresProvider
from tests.servers.postgres import SUPERUSER_PASSWORD, PostgresServer

PASSWORD_ENV = "TRIAGE_TEST_PG_PASSWORD"
WRONG_PASSWORD = "wrong-pg-password-1234"


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, SUPERUSER_PASSWORD)
    monkeypatch.setenv("TRIAGE_TEST_PG_WRONG", WRONG_PASSWORD)


@pytest.fixture
def shared(postgres_server: PostgresServer) -> Iterator[PostgresServer]:
    """The session's shared server; what these tests create there is dropped afterwards."""
    yield postgres_server
    postgres_server.execute(
        'drop table if exists lock_probe, scanned_probe, "Order Items";'
        "drop schema if exists billing_probe cascade"
    )


def target_for(
    server: PostgresServer | None = None,
    *,
    port: int | None = None,
    dbname: str = "postgres",
    password_env: str = PASSWORD_ENV,
    timeout: float = 2.0,
    options: dict[str, Any] | None = None,
) -> Target:
    port = port or (server.port if server else 0)
    return Target(
        kind="postgres",
        name="db",
        url=f"postgresql://postgres@127.0.0.1:{port}/{dbname}",
        password={"env": password_env},
        timeout=timeout,
        options=options or {},
    )


@contextlib.asynccontextmanager
async def opened(target: Target) -> AsyncIterator[PostgresProvider]:
    provider = PostgresProvider(target)
    try:
        yield provider
    finally:
        await provider.close()


class Session:
    """A connection of its own running `sql` in a thread (a sleeper, a lock waiter)."""

    def __init__(self, server: PostgresServer, application: str, *, autocommit: bool = True):
        self.conn = server.connect(autocommit=autocommit, application_name=application)
        self.pid: int = self.conn.info.backend_pid
        self.error: BaseException | None = None
        self.thread: threading.Thread | None = None

    def run(self, sql: str) -> Session:
        def target() -> None:
            try:
                self.conn.execute(sql)
            except BaseException as error:
                self.error = error

        self.thread = threading.Thread(target=target, daemon=True)
        self.thread.start()
        return self

    def close(self) -> None:
        if self.thread is not None:
            self.thread.join(timeout=10)
        with contextlib.suppress(Exception):
            self.conn.close()


def wait_for(server: PostgresServer, sql: str, params: Any = None, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not server.execute(sql, params):
        assert time.monotonic() < deadline, f"never true: {sql}"
        time.sleep(0.02)


def alive(server: PostgresServer, *pids: int) -> set[int]:
    rows = server.execute("select pid from pg_stat_activity where pid = any(%s)", [list(pids)])
    return {row[0] for row in rows}


@contextlib.contextmanager
def silent_listener() -> Iterator[int]:
    """A port that accepts connections and never answers: a hung server."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield listener.getsockname()[1]
