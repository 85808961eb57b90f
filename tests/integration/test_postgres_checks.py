"""The PostgreSQL provider's checks against real, private postgres servers, healthy and with
faults.
"""

from __future__ import annotations

import asyncio
import re
import time

import psycopg
import pytest

from providers.base import ConfirmationRequired
from providers.contract import CheckCall, CheckStatus, Health
from tests.integration import postgres_helpers
from tests.integration.postgres_helpers import (
    WRONG_PASSWORD,
    Session,
    alive,
    opened,
    silent_listener,
    target_for,
    wait_for,
)
from tests.servers.fixtures import PostgresFactory
from tests.servers.postgres import SUPERUSER_PASSWORD, PostgresServer

pytestmark = pytest.mark.integration

# Fixtures shared with test_postgres_actions (the password variables and the shared server),
# bound here, where pytest looks for them.
_password = postgres_helpers._password
shared = postgres_helpers.shared


async def test_healthy_server_passes_with_facts(postgres_server: PostgresServer) -> None:
    async with opened(target_for(postgres_server)) as provider:
        results = {
            call.check: await provider.run_check(call)
            for call in (*provider.root_checks(), CheckCall("postgres.database_size"))
        }
        root = await provider.discover()

    address = f"{postgres_server.address}/postgres"
    ready = results["postgres.ready"]
    assert ready.status is CheckStatus.PASS, ready.summary
    assert ready.facts["reason"] == "ok"
    assert ready.facts["address"] == address
    assert ready.facts["version"].startswith("15") and ready.facts["in_recovery"] is False
    assert ready.summary == f"accepting connections: PostgreSQL {ready.facts['version']}, primary"
    connections = results["postgres.connections"]
    assert connections.status is CheckStatus.PASS, connections.summary
    assert connections.facts["max_connections"] == 50 and connections.facts["usable"] == 50
    assert connections.facts["in_use"] >= 1 and connections.facts["active"] >= 1
    assert connections.facts["top_applications"]["triage"] >= 1
    assert connections.facts["top_clients"]["127.0.0.1"] >= 1
    assert results["postgres.long_queries"].status is CheckStatus.PASS
    assert results["postgres.long_queries"].facts["count"] == 0
    assert results["postgres.blocked"].status is CheckStatus.PASS
    assert results["postgres.blocked"].facts == {"count": 0, "blocked": [], "root_blockers": []}
    replication = results["postgres.replication"]
    assert replication.status is CheckStatus.PASS
    assert replication.facts["role"] == "primary" and replication.facts["replicas"] == []
    assert replication.summary == "primary, no replicas"
    size = results["postgres.database_size"]
    assert size.status in {CheckStatus.PASS, CheckStatus.WARN}
    assert size.facts["database"] == "postgres" and size.facts["size_bytes"] > 1_000_000

    assert root.kind == "postgres.server" and root.id == "postgres:db"
    assert root.status.health is Health.OK, root.status.reason
    assert re.match(r"PostgreSQL 15\.\d+, primary, \d+ of 50 connections", root.status.reason)
    postgres_db = next(child for child in root.children if child.name == "postgres")
    assert postgres_db.id == "postgres:db/postgres" and postgres_db.kind == "postgres.database"
    assert postgres_db.status.reason.endswith("MiB")
    assert CheckCall("postgres.database_size", {"database": "postgres"}) in postgres_db.checks


async def test_a_database_shows_the_applications_connected_to_it_by_the_names_they_give(
    postgres_factory: PostgresFactory,
) -> None:
    server = postgres_factory()
    server.execute("CREATE DATABASE shop")
    held = [
        server.connect(dbname="shop", application_name="storefront"),
        server.connect(dbname="shop", application_name="storefront"),
        server.connect(dbname="shop", application_name="billing-worker-5d9c7b8f4-xk2lp"),
        server.connect(dbname="shop", application_name="psql"),
        server.connect(dbname="shop"),  # no name given
        server.connect(dbname="postgres", application_name="reports"),
    ]
    try:
        async with opened(target_for(server)) as provider:
            root = await provider.discover()
    finally:
        for conn in held:
            conn.close()
    clients = {child.name: child.clients for child in root.children}
    # Each name once; psql, triage's own session and a nameless client say nothing of who
    # uses the database.
    assert clients["shop"] == ("billing-worker-5d9c7b8f4-xk2lp", "storefront")
    assert clients["postgres"] == ("reports",)
    assert root.clients == ()
    shop = next(child for child in root.children if child.name == "shop")
    assert shop.to_dict()["clients"] == ["billing-worker-5d9c7b8f4-xk2lp", "storefront"]


async def test_connections_warn_near_the_limit_fail_at_it_and_when_exhausted(
    postgres_factory: PostgresFactory,
) -> None:
    server = postgres_factory(max_connections=5)
    held = [server.connect(application_name="held") for _ in range(3)]
    async with opened(target_for(server)) as provider:
        near = await provider.run_check(CheckCall("postgres.connections"))
        degraded = await provider.discover()
        held.append(server.connect(application_name="held"))
        full = await provider.run_check(CheckCall("postgres.connections"))
        server.exhaust_connections()
        ready = await provider.run_check(CheckCall("postgres.ready"))
        # The connection kept from the last call still answers: who holds the slots is shown.
        kept = await provider.run_check(CheckCall("postgres.connections"))
        kept_discovery = await provider.discover()
        async with opened(target_for(server)) as newcomer:  # nothing kept: refused as any client
            refused = await newcomer.run_check(CheckCall("postgres.connections"))
            failing = await newcomer.discover()
    for conn in held:
        conn.close()

    assert near.status is CheckStatus.WARN, near.summary
    assert near.facts["in_use"] == 4 and near.facts["usable"] == 5
    assert near.facts["used_ratio"] == 0.8
    assert near.facts["top_applications"] == {"held": 3, "triage": 1}
    assert near.summary == "connections near the limit: 4 of 5 connections (80%)"
    assert degraded.status.health is Health.DEGRADED
    assert degraded.status.reason == "connections near the limit: 4 of 5 connections (80%)"
    assert full.status is CheckStatus.FAIL
    assert full.facts["in_use"] == 5 and full.facts["used_ratio"] == 1.0
    assert full.summary == "connection limit reached: 5 of 5 connections (100%)"
    address = f"{server.address}/postgres"
    # Triage's one kept connection still answers, and says no new client can get in.
    assert ready.status is CheckStatus.FAIL
    assert (ready.facts["reason"], ready.facts["in_use"], ready.facts["usable"]) == (
        "too_many_clients",
        5,
        5,
    )
    assert ready.summary == (
        f"{address}: no free connection slot: 5 of 5 in use; new clients are refused "
        "(too many clients)"
    )
    assert kept.status is CheckStatus.FAIL, kept.summary
    assert kept.facts["in_use"] >= 5 and kept.facts["top_applications"]["held"] == 4
    assert kept_discovery.status.health is Health.FAILING
    assert kept_discovery.status.reason.startswith("connection limit reached")
    refusal = f"{address}: too many clients (max_connections reached)"
    assert refused.status is CheckStatus.ERROR and refused.summary == refusal
    assert refused.facts["reason"] == "too_many_clients"
    assert failing.status.health is Health.FAILING and failing.status.reason == refusal


async def test_a_lock_held_by_an_open_transaction_shows_the_chain_and_is_terminated(
    shared: PostgresServer,
) -> None:
    shared.execute("drop table if exists lock_probe")
    shared.execute("create table lock_probe (id int primary key, v int)")
    shared.execute("insert into lock_probe values (1, 0)")
    holder = Session(shared, "holder", autocommit=False)
    holder.conn.execute("update lock_probe set v = 1 where id = 1")
    waiter = Session(shared, "waiter").run("update lock_probe set v = 2 where id = 1")
    try:
        wait_for(
            shared,
            "select 1 from pg_stat_activity where pid = %s and wait_event_type = 'Lock'",
            [waiter.pid],
        )
        async with opened(target_for(shared)) as provider:
            blocked = await provider.run_check(CheckCall("postgres.blocked"))
            root = await provider.discover()
            plan = await provider.plan_action("postgres.terminate_backend", {"pid": holder.pid})
            # Destructive: the target's name with the pid; the bare pid (or yes) is refused.
            word = f"db/{holder.pid}"
            assert plan.confirmation_word() == word
            for wrong in (None, "yes", str(holder.pid), f"other/{holder.pid}"):
                with pytest.raises(ConfirmationRequired, match=f"type '{word}' to run it"):
                    await provider.run_action(plan, confirmation=wrong)
            assert alive(shared, holder.pid) == {holder.pid}
            outcome = await provider.run_action(plan, confirmation=word)
        waiter.thread.join(timeout=5)  # type: ignore[union-attr]
    finally:
        holder.close()
        waiter.close()

    assert blocked.status is CheckStatus.FAIL, blocked.summary
    assert blocked.facts["count"] == 1 and blocked.facts["root_blockers"] == [holder.pid]
    assert blocked.facts["blocked"][0]["pid"] == waiter.pid
    assert blocked.facts["blocked"][0]["blocked_by"] == [holder.pid]
    assert blocked.summary == f"1 sessions blocked; held up by pid {holder.pid}"
    assert re.fullmatch(
        rf"pid {waiter.pid} \(update lock_probe set v = 2 where id = 1\) waits for pid "
        rf"{holder.pid} \(idle in transaction \d+s\)",
        blocked.evidence[0],
    ), blocked.evidence
    assert root.status.health is Health.DEGRADED
    assert root.status.reason == "1 sessions blocked by locks"
    assert plan.preview.target == str(holder.pid) and plan.preview.destructive
    assert plan.preview.summary == (
        f"terminate pid {holder.pid} (user postgres, application holder, idle in transaction): "
        "update lock_probe set v = 1 where id = 1"
    )
    assert plan.preview.counts == {"sessions": 1}
    assert outcome.ok and outcome.summary == f"pg_terminate_backend({holder.pid}) returned true"
    assert waiter.error is None  # the waiter got its lock once the holder was gone
    assert shared.execute("select v from lock_probe") == [(2,)]


SLEEP_WITH_SECRET = "select pg_sleep(20) /* password 'hunter2' */"


async def test_a_long_query_is_reported_and_cancelled(postgres_server: PostgresServer) -> None:
    sleeper = Session(postgres_server, "sleeper").run(SLEEP_WITH_SECRET)
    try:
        wait_for(
            postgres_server,
            "select 1 from pg_stat_activity where pid = %s and now() - query_start > '1.1s'",
            [sleeper.pid],
        )
        async with opened(target_for(postgres_server)) as provider:
            found = await provider.run_check(
                CheckCall("postgres.long_queries", {"threshold_seconds": 1})
            )
            plan = await provider.plan_action("postgres.cancel_query", {"pid": sleeper.pid})
            # Not destructive: the pid whose query it cancels; never a bare yes.
            assert plan.confirmation_word() == str(sleeper.pid)
            for wrong in (None, "yes"):
                with pytest.raises(ConfirmationRequired, match=f"type '{sleeper.pid}' to run it"):
                    await provider.run_action(plan, confirmation=wrong)
            assert sleeper.thread is not None and sleeper.thread.is_alive()
            outcome = await provider.run_action(plan, confirmation=str(sleeper.pid))
        sleeper.thread.join(timeout=5)
    finally:
        sleeper.close()

    assert found.status is CheckStatus.WARN, found.summary
    assert found.facts["count"] == 1 and found.facts["threshold_seconds"] == 1.0
    query = found.facts["queries"][0]
    assert query["pid"] == sleeper.pid and query["state"] == "active"
    assert query["application"] == "sleeper"
    assert query["query"] == "select pg_sleep(20) /* password '***' */"
    assert "hunter2" not in repr(found) and "hunter2" not in repr(plan)
    assert query["duration_seconds"] >= 1
    assert re.fullmatch(r"1 queries running over 1s \(longest \d+s\)", found.summary)
    assert found.evidence[0].startswith(f"pid {sleeper.pid} (postgres, sleeper) active ")
    assert not plan.preview.destructive and plan.preview.target == str(sleeper.pid)
    assert plan.preview.summary.startswith(f"cancel the query of pid {sleeper.pid} (user postgres")
    assert outcome.ok
    assert isinstance(sleeper.error, psycopg.errors.QueryCanceled)


async def test_a_missing_table_fails_and_names_the_schema_that_has_it(
    shared: PostgresServer,
) -> None:
    shared.execute("create schema if not exists billing_probe")
    shared.execute("create table if not exists billing_probe.invoices (id int)")
    async with opened(target_for(shared)) as provider:
        missing = await provider.run_check(
            CheckCall("postgres.table_exists", {"table": "no_such_table"})
        )
        elsewhere = await provider.run_check(
            CheckCall("postgres.table_exists", {"table": "invoices"})
        )
        present = await provider.run_check(
            CheckCall("postgres.table_exists", {"table": "billing_probe.invoices"})
        )

    assert missing.status is CheckStatus.FAIL
    assert missing.facts == {
        "table": "no_such_table",
        "exists": False,
        "other_schemas": [],
        "database": "postgres",
    }
    assert missing.summary == 'relation "no_such_table" does not exist in database postgres'
    assert missing.evidence == ('search_path = "$user", public',)
    assert elsewhere.status is CheckStatus.FAIL
    assert elsewhere.facts["exists"] is False
    assert elsewhere.facts["other_schemas"] == ["billing_probe.invoices"]
    assert present.status is CheckStatus.PASS
    assert present.facts["exists"] is True and present.facts["schema"] == "billing_probe"


async def test_a_database_a_client_names_is_looked_for_on_the_server(
    shared: PostgresServer,
) -> None:
    shared.execute("select 1")
    async with opened(target_for(shared)) as provider:
        missing = await provider.run_check(
            CheckCall("postgres.database_exists", {"database": "loyalty"})
        )
        present = await provider.run_check(
            CheckCall("postgres.database_exists", {"database": "postgres"})
        )
        unnamed = await provider.run_check(CheckCall("postgres.database_exists"))

    assert missing.status is CheckStatus.FAIL
    assert missing.summary == 'database "loyalty" does not exist on this server'
    assert missing.facts["exists"] is False and "postgres" in missing.facts["databases"]
    assert "template0" not in missing.facts["databases"]
    assert present.status is CheckStatus.PASS and present.facts["exists"] is True
    assert unnamed.status is CheckStatus.SKIPPED


async def test_wrong_password_fails_readiness_as_auth_failed_without_the_password(
    postgres_server: PostgresServer,
) -> None:
    target = target_for(postgres_server, password_env="TRIAGE_TEST_PG_WRONG")
    async with opened(target) as provider:
        ready = await provider.run_check(CheckCall("postgres.ready"))
        other = await provider.run_check(CheckCall("postgres.connections"))
        root = await provider.discover()

    address = f"{postgres_server.address}/postgres"
    assert ready.status is CheckStatus.FAIL
    assert ready.facts == {"reason": "auth_failed", "address": address}
    assert ready.summary == f'{address}: authentication failed for user "postgres"'
    assert ready.evidence == ('password authentication failed for user "postgres"',)
    assert other.status is CheckStatus.ERROR and other.summary == ready.summary
    assert root.status.health is Health.FAILING and root.status.reason == ready.summary
    for shown in (repr(ready), repr(other), repr(root)):
        assert WRONG_PASSWORD not in shown and SUPERUSER_PASSWORD not in shown


async def test_missing_database_fails_readiness_as_no_database(
    postgres_server: PostgresServer,
) -> None:
    async with opened(target_for(postgres_server, dbname="no_such_db")) as provider:
        ready = await provider.run_check(CheckCall("postgres.ready"))

    address = f"{postgres_server.address}/no_such_db"
    assert ready.status is CheckStatus.FAIL
    assert ready.facts == {"reason": "no_database", "address": address}
    assert ready.summary == f'{address}: database "no_such_db" does not exist'


async def test_a_stopped_server_is_refused_and_discovery_names_host_and_port(
    postgres_factory: PostgresFactory,
) -> None:
    server = postgres_factory()
    server.stop()
    async with opened(target_for(server)) as provider:
        ready = await provider.run_check(CheckCall("postgres.ready"))
        long = await provider.run_check(CheckCall("postgres.long_queries"))
        root = await provider.discover()

    address = f"127.0.0.1:{server.port}/postgres"
    assert ready.status is CheckStatus.FAIL
    assert ready.facts == {"reason": "refused", "address": address}
    assert ready.summary == f"{address}: connection refused"
    assert long.status is CheckStatus.ERROR and long.summary == ready.summary
    assert long.facts == {"error": "OperationalError", "reason": "refused", "address": address}
    assert root.status.health is Health.FAILING
    assert root.status.reason == f"{address}: connection refused" and root.children == ()
    assert ready.duration < 1 and long.duration < 1


async def test_a_hung_server_costs_one_timeout_and_never_more() -> None:
    with silent_listener() as port:
        async with opened(target_for(port=port, timeout=0.5)) as provider:
            params = {"table": "orders", "sql": "select 1", "database": "postgres"}
            calls = [CheckCall(name, params) for name in provider.checks]
            started = time.monotonic()
            results = await asyncio.gather(
                *(provider.run_check(call) for call in calls),
                provider.discover(),
            )
            elapsed = time.monotonic() - started

    address = f"127.0.0.1:{port}/postgres"
    *checks, root = results
    by_name = {result.check: result for result in checks}
    ready = by_name.pop("postgres.ready")
    assert ready.status is CheckStatus.FAIL
    assert ready.facts == {"reason": "timeout", "address": address}
    assert ready.summary == f"{address}: no answer within 0.5s"
    assert {result.status for result in by_name.values()} == {CheckStatus.ERROR}
    assert {result.summary for result in by_name.values()} == {ready.summary}
    assert root.status.health is Health.FAILING and root.status.reason == ready.summary
    assert elapsed < 0.5 * 1.5


async def test_slow_statements_skipped_without_the_extension(
    postgres_server: PostgresServer,
) -> None:
    async with opened(target_for(postgres_server)) as provider:
        result = await provider.run_check(CheckCall("postgres.slow_statements"))
    assert result.status is CheckStatus.SKIPPED
    assert result.summary == "pg_stat_statements is not installed in database postgres"
    assert result.facts == {"installed": False}


async def test_slow_statements_lists_the_top_statements_when_installed(
    postgres_factory: PostgresFactory,
) -> None:
    server = postgres_factory(settings={"shared_preload_libraries": "pg_stat_statements"})
    server.execute("create extension pg_stat_statements")
    for _ in range(3):
        server.execute("select pg_sleep(0.05)")
    async with opened(target_for(server)) as provider:
        result = await provider.run_check(CheckCall("postgres.slow_statements"))

    assert result.status is CheckStatus.PASS, result.summary
    assert result.facts["installed"] is True and result.facts["loaded"] is True
    sleep = next(item for item in result.facts["statements"] if "pg_sleep" in item["query"])
    assert sleep["calls"] == 3 and sleep["mean_ms"] >= 50
    assert result.summary == "top 5 statements of postgres by total time"
    assert len(result.facts["statements"]) == 5 == len(result.evidence)


async def test_database_size_reports_large_tables_read_only_by_sequential_scans(
    shared: PostgresServer,
) -> None:
    shared.execute("drop table if exists scanned_probe")
    shared.execute("create table scanned_probe as select generate_series(1, 5000) as x")
    shared.execute("select count(*) from scanned_probe")  # a sequential scan
    # A backend reports its statistics when it can (at its exit here), not with its answer.
    wait_for(
        shared,
        "select 1 from pg_stat_user_tables where relname = 'scanned_probe' and seq_scan >= 1",
        timeout=30,
    )
    async with opened(target_for(shared)) as provider:
        result = await provider.run_check(
            CheckCall("postgres.database_size", {"min_bytes": 100_000})
        )

    assert result.status is CheckStatus.WARN, result.summary
    table = next(t for t in result.facts["unindexed_tables"] if t["name"] == "public.scanned_probe")
    assert table["idx_scan"] == 0 and table["seq_scan"] >= 1 and table["size_bytes"] >= 100_000
    assert result.facts["unindexed_count"] == len(result.facts["unindexed_tables"])
    assert any(line.startswith("public.scanned_probe: ") for line in result.evidence)
