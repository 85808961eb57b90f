"""The PostgreSQL provider's actions and log stream against real, private postgres servers."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from providers.base import ConfirmationRequired
from tests.integration import postgres_helpers
from tests.integration.postgres_helpers import Session, alive, opened, target_for
from tests.servers.fixtures import PostgresFactory
from tests.servers.postgres import PostgresServer

pytestmark = pytest.mark.integration

# Fixtures shared with test_postgres_checks (the password variables and the shared server),
# bound here, where pytest looks for them.
_password = postgres_helpers._password
shared = postgres_helpers.shared


async def test_terminate_idle_in_transaction_previews_exact_pids_and_ends_only_those(
    postgres_factory: PostgresFactory,
) -> None:
    server = postgres_factory()
    first, second = (Session(server, "worker", autocommit=False) for _ in range(2))
    idle = Session(server, "idle")
    for session in (first, second):
        session.conn.execute("select 1")
        await asyncio.sleep(0.05)  # so they go idle in a known order
    await asyncio.sleep(1.1)
    fresh = Session(server, "fresh", autocommit=False)
    fresh.conn.execute("select 1")  # idle in transaction, but not for long enough
    try:
        async with opened(target_for(server)) as provider:
            plan = await provider.plan_action(
                "postgres.terminate_idle_in_transaction", {"older_than_seconds": 1}
            )
            # Destructive: the target's name with the database; the bare database is not enough.
            assert plan.confirmation_word() == "db/postgres"
            for wrong in (None, "yes", "postgres", "other/postgres"):
                with pytest.raises(ConfirmationRequired, match="type 'db/postgres' to run it"):
                    await provider.run_action(plan, confirmation=wrong)
            assert alive(server, first.pid, second.pid) == {first.pid, second.pid}
            second.conn.commit()  # no longer idle in transaction: apply must leave it
            outcome = await provider.run_action(plan, confirmation="db/postgres")
        remaining = alive(server, first.pid, second.pid, idle.pid, fresh.pid)
    finally:
        for session in (first, second, idle, fresh):
            session.close()

    preview = plan.preview
    assert preview.target == "postgres" and preview.destructive
    assert preview.counts == {"sessions": 2}
    assert preview.summary == (
        "terminate 2 sessions idle in transaction for over 1s in database postgres: "
        f"pids {first.pid}, {second.pid}"
    )
    assert [line.split(" (")[0] for line in preview.touches] == [
        f"pid {first.pid}",
        f"pid {second.pid}",
    ]
    assert all("worker, idle " in line and line.endswith("select 1") for line in preview.touches)
    assert outcome.ok, outcome.summary
    assert outcome.summary == (
        f"terminated 1 of 2 sessions; left {second.pid} (no longer idle in transaction)"
    )
    assert remaining == {second.pid, idle.pid, fresh.pid}


async def test_vacuum_analyze_quotes_the_table_and_needs_the_table_typed(
    shared: PostgresServer,
) -> None:
    shared.execute('drop table if exists "Order Items"')
    shared.execute('create table "Order Items" (id int)')
    shared.execute('insert into "Order Items" select generate_series(1, 100)')
    shared.execute('delete from "Order Items" where id <= 10')
    async with opened(target_for(shared)) as provider:
        plan = await provider.plan_action("postgres.vacuum_analyze", {"table": '"Order Items"'})
        # Not destructive: the table it changes, as the preview names it; never a bare yes.
        assert plan.confirmation_word() == '"Order Items"'
        for wrong in (None, "yes", "Order Items"):
            with pytest.raises(ConfirmationRequired, match="""type '"Order Items"' to run it"""):
                await provider.run_action(plan, confirmation=wrong)
        untouched = shared.execute(
            "select vacuum_count from pg_stat_user_tables where relname = %s", ["Order Items"]
        )
        assert untouched == [(0,)]
        outcome = await provider.run_action(plan, confirmation='"Order Items"')
        with pytest.raises(ValueError, match='relation "no_such_table" does not exist'):
            await provider.plan_action("postgres.vacuum_analyze", {"table": "no_such_table"})

    assert not plan.preview.destructive and plan.preview.target == '"Order Items"'
    assert plan.preview.summary.startswith('VACUUM ANALYZE "Order Items" (')
    assert plan.preview.counts["tables"] == 1
    assert outcome.ok and outcome.summary == 'vacuumed and analyzed "Order Items"'
    vacuumed = shared.execute(
        "select vacuum_count, analyze_count from pg_stat_user_tables where relname = %s",
        ["Order Items"],
    )
    assert vacuumed and vacuumed[0][0] >= 1 and vacuumed[0][1] >= 1


async def test_log_stream_reports_changes_once_and_the_server_lost_and_back(
    postgres_factory: PostgresFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("providers.postgres_watch.POLL_SECONDS", 0.05)
    server = postgres_factory(max_connections=5)
    target = target_for(server, options={"long_query_seconds": 0.3})

    async def next_line(stream: AsyncIterator[Any]) -> Any:
        return await asyncio.wait_for(anext(stream), timeout=5)

    async with opened(target) as provider:
        stream = provider.logs(provider.root_id)
        banner = await next_line(stream)
        assert banner.level == "info"
        assert banner.text == (
            f"following pg_stat_activity of {server.address}/postgres: queries over 0.3s, "
            "blocked sessions, connections over 80%"
        )
        held = [server.connect() for _ in range(3)]
        high = await next_line(stream)
        assert (high.level, high.text) == ("warn", "connections over 80%: 4 of 5 in use (80%)")
        for conn in held:
            conn.close()
        low = await next_line(stream)
        assert low.level == "info" and low.text.startswith("connections back below 80%: 1 of 5")
        sleeper = Session(server, "sleeper").run("select pg_sleep(30)")
        try:
            long = await next_line(stream)
            assert long.level == "warn"
            assert re.fullmatch(
                rf"long query: pid {sleeper.pid} \(postgres, sleeper\) running \d+s: "
                r"select pg_sleep\(30\)",
                long.text,
            )
            server.stop()
        finally:
            sleeper.close()
        lost = await next_line(stream)
        assert lost.level == "error"
        assert lost.text.startswith("unreachable: ") and lost.text.endswith("; retrying")
        assert server.address in lost.text
        server.start()
        back = await asyncio.wait_for(anext(stream), timeout=10)
        assert (back.level, back.text) == ("info", f"{server.address}/postgres reachable again")
        await stream.aclose()
