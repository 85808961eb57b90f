"""The PostgreSQL/Aurora runbooks of the library on real servers (and moto): faults and health.

Each fault scenario injects one cause and expects the engine to rank it first, confirmed, with
its evidence; each healthy scenario expects no confirmed cause.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import psycopg
import pytest

from providers.inventory import SecretRef, Target
from tests.integration.library_scenarios import assert_first, assert_healthy, run
from tests.servers.fixtures import PostgresFactory
from tests.servers.moto_server import MotoAws
from tests.servers.postgres import SUPERUSER_PASSWORD, PostgresServer
from tests.servers.process import free_port

pytestmark = pytest.mark.integration

PASSWORD_ENV = "TRIAGE_TEST_STORES_PG_PASSWORD"


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, SUPERUSER_PASSWORD)


def pg(port: int, *, dbname: str = "postgres", password_env: str = PASSWORD_ENV) -> Target:
    return Target(
        kind="postgres",
        name="db",
        url=f"postgresql://postgres@127.0.0.1:{port}/{dbname}",
        password=SecretRef(env=password_env),
        timeout=3.0,
    )


@pytest.fixture
def stopped(postgres_factory: PostgresFactory) -> PostgresServer:
    server = postgres_factory()
    server.stop()
    return server


# -- cannot connect -------------------------------------------------------------------------


async def test_cannot_connect_database_down(stopped: PostgresServer) -> None:
    diagnosis = await run("db-cannot-connect", pg(stopped.port))
    assert_first(diagnosis, "server-down", "ready: reason is 'refused' (= 'refused')")
    assert diagnosis.results["cluster"].status.value == "skipped"


@pytest.mark.parametrize(
    ("cause", "dbname", "password_env", "evidence"),
    [
        ("wrong-credentials", "postgres", "TRIAGE_TEST_STORES_WRONG", "'auth_failed'"),
        ("database-not-initialised", "stores_no_such_db", PASSWORD_ENV, "'no_database'"),
    ],
)
async def test_cannot_connect_bad_login(
    postgres_server: PostgresServer,
    monkeypatch: pytest.MonkeyPatch,
    cause: str,
    dbname: str,
    password_env: str,
    evidence: str,
) -> None:
    monkeypatch.setenv("TRIAGE_TEST_STORES_WRONG", "not-the-password-123")
    target = pg(postgres_server.port, dbname=dbname, password_env=password_env)
    assert_first(await run("db-cannot-connect", target), cause, evidence)


def aurora(aws: MotoAws, *, allowed: bool, stopped: bool = False) -> dict[str, str]:
    """An Aurora cluster, the tasks' and the database's security groups; the params."""
    aws.client("rds").create_db_cluster(
        DBClusterIdentifier="stores-aurora",
        Engine="aurora-postgresql",
        MasterUsername="app",
        MasterUserPassword="aurora-password-123",
    )
    if stopped:
        aws.client("rds").stop_db_cluster(DBClusterIdentifier="stores-aurora")
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    app = ec2.create_security_group(GroupName="app", Description="a", VpcId=vpc)["GroupId"]
    db = ec2.create_security_group(GroupName="db", Description="d", VpcId=vpc)["GroupId"]
    if allowed:
        ec2.authorize_security_group_ingress(
            GroupId=db,
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": 5432,
                    "ToPort": 5432,
                    "UserIdGroupPairs": [{"GroupId": app}],
                }
            ],
        )
    aws.client("secretsmanager").create_secret(Name="stores/db-url", SecretString="x")
    return {
        "db_cluster": "stores-aurora",
        "app_security_group": app,
        "db_security_group": db,
        "db_secret": "stores/db-url",
    }


async def test_aurora_stopped(aws: MotoAws) -> None:
    params = aurora(aws, allowed=True, stopped=True)
    diagnosis = await run("db-cannot-connect", pg(free_port()), aws.target(), **params)
    assert_first(diagnosis, "aurora-stopped", "the cluster check failed", "the ready check failed")
    assert diagnosis.results["cluster"].facts["status"] == "stopped"


async def test_aurora_security_group_missing_ingress(aws: MotoAws) -> None:
    params = aurora(aws, allowed=False)
    diagnosis = await run("db-cannot-connect", pg(free_port()), aws.target(), **params)
    assert_first(diagnosis, "security-group-missing-ingress", "ingress: allowed is false (= false)")


async def test_credentials_secret_missing(aws: MotoAws, postgres_server: PostgresServer) -> None:
    params = aurora(aws, allowed=True) | {"db_secret": "stores/deleted-secret"}
    target = pg(postgres_server.port)
    diagnosis = await run("db-cannot-connect", target, aws.target(), **params)
    assert_first(diagnosis, "credentials-secret-missing", "the secret check failed")
    assert diagnosis.results["secret"].facts["missing"] == ["stores/deleted-secret"]


async def test_cannot_connect_healthy(postgres_server: PostgresServer) -> None:
    assert_healthy(await run("db-cannot-connect", pg(postgres_server.port)))


async def test_cannot_connect_healthy_on_aurora(
    aws: MotoAws, postgres_server: PostgresServer
) -> None:
    params = aurora(aws, allowed=True)
    diagnosis = await run("db-cannot-connect", pg(postgres_server.port), aws.target(), **params)
    assert_healthy(diagnosis)
    assert {diagnosis.results[step].status.value for step in ("cluster", "ingress", "secret")} == {
        "pass"
    }


# -- connection pool, corruption, missing relation -----------------------------------------


async def test_pool_exhausted(postgres_factory: PostgresFactory) -> None:
    server = postgres_factory(max_connections=5)
    server.exhaust_connections()
    try:
        diagnosis = await run("db-connection-pool-exhausted", pg(server.port))
    finally:
        server.release_connections()
    assert_first(diagnosis, "limit-reached", "'too_many_clients'")


async def test_pool_healthy(postgres_server: PostgresServer) -> None:
    assert_healthy(await run("db-connection-pool-exhausted", pg(postgres_server.port)))


async def test_corruption_server_crashed(stopped: PostgresServer) -> None:
    diagnosis = await run("db-corruption", pg(stopped.port))
    assert_first(diagnosis, "server-crashed", "the ready check failed")


async def test_corruption_healthy(postgres_server: PostgresServer) -> None:
    assert_healthy(await run("db-corruption", pg(postgres_server.port)))


@pytest.fixture
def probe_tables(postgres_server: PostgresServer) -> Iterator[PostgresServer]:
    yield postgres_server
    postgres_server.execute(
        "drop table if exists stores_probe_present, stores_lock_probe;"
        "drop schema if exists stores_probe_schema cascade"
    )


@pytest.mark.parametrize(
    ("table", "cause", "evidence"),
    [
        ("stores_probe_missing", "migrations-not-run", "table: exists is false (= false)"),
        ("stores_probe_elsewhere", "wrong-schema", "table: other schemas is 'stores_probe_schema."),
    ],
)
async def test_missing_relation(
    probe_tables: PostgresServer, table: str, cause: str, evidence: str
) -> None:
    probe_tables.execute("create schema stores_probe_schema")
    probe_tables.execute("create table stores_probe_schema.stores_probe_elsewhere (id int)")
    diagnosis = await run("db-missing-relation", pg(probe_tables.port), table=table)
    assert_first(diagnosis, cause, evidence)


async def test_missing_relation_healthy(probe_tables: PostgresServer) -> None:
    probe_tables.execute("create table stores_probe_present (id int)")
    diagnosis = await run(
        "db-missing-relation", pg(probe_tables.port), table="stores_probe_present"
    )
    assert_healthy(diagnosis)


# -- slow queries ---------------------------------------------------------------------------


@contextlib.contextmanager
def lock_wait(server: PostgresServer) -> Iterator[None]:
    """One session holds an exclusive lock on a table; another waits for it."""
    server.execute("create table stores_lock_probe (id int)")
    holder = server.connect(autocommit=False, application_name="stores-holder")
    holder.execute("lock table stores_lock_probe in access exclusive mode")

    def wait() -> None:
        with contextlib.suppress(psycopg.Error):
            server.execute("set statement_timeout = '20s'; select * from stores_lock_probe")

    waiter = threading.Thread(target=wait)
    waiter.start()
    deadline = time.monotonic() + 10
    while (
        not server.execute("select 1 from pg_stat_activity where wait_event_type = 'Lock'")
        and time.monotonic() < deadline
    ):
        time.sleep(0.05)
    try:
        yield
    finally:
        holder.rollback()
        holder.close()
        waiter.join()


async def test_slow_queries_lock_contention(probe_tables: PostgresServer) -> None:
    with lock_wait(probe_tables):
        diagnosis = await run("db-slow-queries", pg(probe_tables.port))
    assert_first(diagnosis, "lock-contention", "the blocked check failed")
    assert diagnosis.results["blocked"].facts["count"] >= 1


async def test_slow_queries_healthy(postgres_server: PostgresServer) -> None:
    assert_healthy(await run("db-slow-queries", pg(postgres_server.port)))
