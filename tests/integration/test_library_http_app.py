"""The application runbooks of the library (500s, slow responses, TLS, log-in, CSRF, error codes)
on real servers: a local HTTP(S) server for the application, PostgreSQL and Redis.

A fault must rank its cause first and confirmed, with its evidence; a healthy system must
confirm no cause.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from providers.inventory import Target
from runbooks.engine import Verdict
from tests.integration.library_scenarios import LIBRARY, assert_first, assert_healthy, run
from tests.integration.postgres_helpers import wait_for
from tests.servers.fixtures import PostgresFactory
from tests.servers.http import CertificateFactory, Route, serve_http
from tests.servers.postgres import SUPERUSER_PASSWORD, PostgresServer
from tests.servers.redis import RedisServer

pytestmark = pytest.mark.integration

USERS_TABLE = "triage_http_users"
MIGRATIONS_TABLE = "triage_http_alembic_version"
PG_ENV = "TRIAGE_TEST_HTTP_PG_PASSWORD"


def http_target(name: str, url: str, **options: Any) -> Target:
    return Target(kind="http", name=name, url=url, timeout=3.0, options=options)


def postgres_target(server: PostgresServer) -> Target:
    url = f"postgresql://{server.user}@{server.host}:{server.port}/{server.dbname}"
    return Target(kind="postgres", name="db", url=url, password={"env": PG_ENV}, timeout=3.0)


@pytest.fixture(autouse=True)
def _postgres_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PG_ENV, SUPERUSER_PASSWORD)


def redis_target(server: RedisServer) -> Target:
    return Target(kind="redis", name="cache", url=server.url, timeout=3.0)


@pytest.fixture
def app_tables(postgres_server: PostgresServer) -> Iterator[PostgresServer]:
    """The shared PostgreSQL with this module's tables (users, migration version)."""
    postgres_server.execute(
        f"create table if not exists {USERS_TABLE} (id int, password_hash text);"
        f"create table if not exists {MIGRATIONS_TABLE} (version_num text)"
    )
    yield postgres_server
    postgres_server.execute(f"drop table if exists {USERS_TABLE}, {MIGRATIONS_TABLE}")


# --- 500 errors ------------------------------------------------------------------------------


async def test_server_errors_with_the_database_down(
    postgres_factory: PostgresFactory, redis_server: RedisServer
) -> None:
    database = postgres_factory()
    database.stop()
    route = Route(500, "Internal server error\nTraceback (most recent call last): ...")
    with serve_http({"/api/items": route}) as server:
        targets = [
            http_target("api", server.url("/api/items")),
            postgres_target(database),
            redis_target(redis_server),
        ]
        diagnosis = await run("app-server-errors", targets, migrations_table=MIGRATIONS_TABLE)
    assert_first(diagnosis, "database-unavailable")
    # Redis answers, so it is ruled out; the migrations cannot be known with the database down.
    verdicts = {item.cause.id: item.verdict for item in diagnosis.causes}
    assert verdicts["redis-unavailable"] is Verdict.RULED_OUT
    assert verdicts["migrations-missing"] is Verdict.UNKNOWN
    assert diagnosis.results["env"].status.value == "skipped"  # no compose target here


async def test_server_errors_healthy(app_tables: PostgresServer, redis_server: RedisServer) -> None:
    with serve_http({"/api/items": Route(200, "[]")}) as server:
        targets = [
            http_target("api", server.url("/api/items")),
            postgres_target(app_tables),
            redis_target(redis_server),
        ]
        diagnosis = await run("app-server-errors", targets, migrations_table=MIGRATIONS_TABLE)
    assert_healthy(diagnosis)
    assert diagnosis.results["migrations"].facts["exists"] is True


# --- slow responses --------------------------------------------------------------------------


@pytest.fixture
def long_query(postgres_server: PostgresServer) -> Iterator[None]:
    """A query that keeps running (pg_sleep) while the test diagnoses; cancelled after."""
    name = "triage-http-long-query"

    def sleep() -> None:
        with (
            postgres_server.connect(application_name=name) as conn,
            contextlib.suppress(psycopg.errors.QueryCanceled),
        ):
            conn.execute("select pg_sleep(20)")

    thread = threading.Thread(target=sleep, daemon=True)
    thread.start()
    wait_for(  # running for longer than the threshold below (0.5 s), as the server says
        postgres_server,
        "select 1 from pg_stat_activity where application_name = %s and state = 'active'"
        " and now() - query_start > interval '1 second'",
        (name,),
        timeout=30,
    )
    yield
    postgres_server.execute(
        "select pg_cancel_backend(pid) from pg_stat_activity where application_name = %s", (name,)
    )
    thread.join(timeout=5)


async def test_slow_responses_from_a_long_query(
    long_query: None, postgres_server: PostgresServer, redis_server: RedisServer
) -> None:
    with serve_http({"/api/report": Route(200, "done", delay=0.4)}) as server:
        targets = [
            http_target("api", server.url("/api/report")),
            postgres_target(postgres_server),
            redis_target(redis_server),
        ]
        diagnosis = await run("app-slow-responses", targets, slow_ms=200, query_seconds=0.5)
    assert_first(diagnosis, "slow-database-queries")
    assert diagnosis.results["endpoint"].status.value == "warn"
    assert "pg_sleep" in str(diagnosis.results["long_queries"].facts["queries"])


async def test_slow_responses_healthy(
    postgres_server: PostgresServer, redis_server: RedisServer
) -> None:
    with serve_http({"/api/report": Route(200, "done")}) as server:
        targets = [
            http_target("api", server.url("/api/report")),
            postgres_target(postgres_server),
            redis_target(redis_server),
        ]
        diagnosis = await run("app-slow-responses", targets, slow_ms=2000, query_seconds=30)
    assert_healthy(diagnosis)


# --- TLS certificates and CSRF (secure cookies need HTTPS) -----------------------------------


@pytest.mark.parametrize("fault", [True, False], ids=["certificate-expired", "healthy"])
async def test_tls_certificate(fault: bool, certificates: CertificateFactory) -> None:
    now = datetime.now(UTC)
    window = (
        {"not_before": now - timedelta(days=90), "not_after": now - timedelta(days=2)}
        if fault
        else {}
    )
    certificate = certificates("site", **window)
    with serve_http({"/": Route(200, "home")}, tls=certificate) as server:
        target = http_target("site", server.url("/"), ca_file=str(certificate.cert))
        diagnosis = await run("http-tls-certificate", [target])
    if fault:
        assert_first(diagnosis, "certificate-expired")
        assert diagnosis.results["certificate"].facts["days_left"] < 0
    else:
        assert_healthy(diagnosis)


async def test_plain_http_on_the_https_port_is_tls_not_served() -> None:
    """A proxy whose `listen 443` lost its `ssl`: the port answers, in plain HTTP."""
    with serve_http({"/health": Route(200, "ok")}) as server:
        url = server.url("/health").replace("http://", "https://")
        diagnosis = await run("http-tls-certificate", [http_target("site", url)])
    assert_first(diagnosis, "tls-not-served")
    certificate = diagnosis.results["certificate"]
    assert certificate.facts["error"] == "tls"
    assert "wrong version number" in certificate.facts["reason"].lower()


async def test_csrf_errors_over_plain_http() -> None:
    with serve_http({"/api/csrf-token": Route(200, '{"csrf_token": "t"}')}) as server:
        # Plain HTTP on a port with nothing speaking TLS on 443 of the host: no secure cookie.
        diagnosis = await run(
            "app-csrf-token-errors", [http_target("api", server.url("/api/csrf-token"))]
        )
    assert_first(diagnosis, "not-https")


async def test_csrf_healthy_over_https(certificates: CertificateFactory) -> None:
    certificate = certificates("api")
    route = Route(200, '{"csrf_token": "t"}')
    with serve_http({"/api/csrf-token": route}, tls=certificate) as server:
        target = http_target("api", server.url("/api/csrf-token"), ca_file=str(certificate.cert))
        diagnosis = await run("app-csrf-token-errors", [target])
    assert_healthy(diagnosis)


# --- log-in ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", [True, False], ids=["users-table-missing", "healthy"])
async def test_cannot_log_in(fault: bool, app_tables: PostgresServer) -> None:
    table = "triage_http_no_such_users" if fault else USERS_TABLE
    with serve_http({"/api/v1/auth/health": Route(200, "ok")}) as server:
        targets = [
            http_target("auth", server.url("/api/v1/auth/health")),
            postgres_target(app_tables),
        ]
        diagnosis = await run("app-cannot-log-in", targets, users_table=table)
    if fault:
        assert_first(diagnosis, "users-table-missing")
    else:
        assert_healthy(diagnosis)


async def test_cannot_log_in_with_a_rejected_token() -> None:
    route = Route(200, "me", require={"Authorization": "Bearer valid"})
    with serve_http({"/api/v1/users/me": route}) as server:
        target = http_target("auth", server.url("/api/v1/users/me"))
        diagnosis = await run("app-cannot-log-in", [target])
    assert_first(diagnosis, "token-rejected")


# --- error codes -----------------------------------------------------------------------------


@pytest.mark.parametrize("fault", [True, False], ids=["e002-redis-down", "healthy"])
async def test_error_codes(
    fault: bool, redis_server: RedisServer, postgres_server: PostgresServer
) -> None:
    redis_server.client().set("conversation:c1", "{}", ex=3600)
    if fault:
        redis_server.stop()
    with serve_http({"/v1/models": Route(200, '{"data": []}')}) as server:
        targets = [
            postgres_target(postgres_server),
            redis_target(redis_server),
            http_target("claude", server.url("/v1/models")),
            # Two http targets: an optional vendor param binds only when named, never by
            # being the one http target there is.
            http_target("site", server.url("/")),
        ]
        diagnosis = await run("app-error-codes", targets, llm="claude")
    if fault:
        assert_first(diagnosis, "e002-redis-connection-failed")
    else:
        assert_healthy(diagnosis)
        assert diagnosis.results["e014_conversations"].facts["matched"] == 1
    assert diagnosis.results["e004_deepgram"].status.value == "skipped"


def test_every_app_and_http_runbook_is_exercised() -> None:
    tested = {
        "app-server-errors",
        "app-slow-responses",
        "app-csrf-token-errors",
        "app-cannot-log-in",
        "app-error-codes",
        "http-tls-certificate",
    }
    assert {rid for rid in LIBRARY if rid.startswith(("app-", "http-"))} == tested
