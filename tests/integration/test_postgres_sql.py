"""postgres.query and postgres.run_sql against a real, private PostgreSQL: a read-only query in a
transaction that is rolled back, refusals before anything reaches the server, and a changing
statement that runs only through the gate with the database's name typed."""

from __future__ import annotations

from pathlib import Path

import pytest

from providers.base import ConfirmationRequired
from providers.contract import CheckCall, CheckStatus
from providers.postgres_sql import read_only_refusal, statements
from runbooks.gate import ActionBlocked, AuditLog, Gate
from tests.integration import postgres_helpers
from tests.integration.postgres_helpers import opened, target_for
from tests.servers.postgres import PostgresServer

pytestmark = pytest.mark.integration

_password = postgres_helpers._password  # the password variables, bound where pytest looks
SECRET = "hunter2-very-secret"


@pytest.fixture
def orders(postgres_server: PostgresServer) -> PostgresServer:
    postgres_server.execute(
        "drop table if exists sql_orders;"
        "create table sql_orders (id int primary key, state text, note text);"
        "insert into sql_orders select n, case when n % 10 = 0 then 'stuck' else 'done' end,"
        f" 'n' || n from generate_series(1, 300) n;"
        f"update sql_orders set note = 'password={SECRET}' where id = 10"
    )
    yield postgres_server  # type: ignore[misc]
    postgres_server.execute("drop table if exists sql_orders")


def test_statements_split_outside_quotes_comments_and_dollar_bodies() -> None:
    text = "select ';' as a; -- two; three\n/* ; */ select $x$ ; $x$;;"
    assert statements(text) == ["select ';' as a", "select $x$ ; $x$"]
    assert read_only_refusal("SELECT 1") == ""
    assert read_only_refusal("explain analyze select * from t") == ""
    assert "UPDATE" in read_only_refusal("update t set a = 1")
    assert "changes the database" in read_only_refusal("EXPLAIN (ANALYZE, BUFFERS) DELETE FROM t")
    assert "WITH that changes rows" in read_only_refusal("with d as (delete from t) select 1")
    assert "pg_terminate_backend" in read_only_refusal("select pg_terminate_backend(42)")
    assert read_only_refusal("select 'pg_terminate_backend(1)' as words") == ""


async def test_query_shows_bounded_rows_redacted_and_changes_nothing(
    orders: PostgresServer,
) -> None:
    async with opened(target_for(orders)) as provider:
        stuck = await provider.run_check(
            CheckCall(
                "postgres.query",
                {"sql": "SELECT id, state, note FROM sql_orders WHERE state = 'stuck' ORDER BY id;",
                 "rows": 3, "warn_when_rows": True},
            )
        )  # fmt: skip
        one = await provider.run_check(
            CheckCall("postgres.query", {"sql": "select count(*) as n from sql_orders"})
        )
        explain = await provider.run_check(
            CheckCall(
                "postgres.query",
                {"sql": "EXPLAIN ANALYZE SELECT * FROM sql_orders WHERE id = 7"},
            )
        )
        locking = await provider.run_check(  # passes our reading, the server still refuses it
            CheckCall("postgres.query", {"sql": "select * from sql_orders for update"})
        )
    assert stuck.status is CheckStatus.WARN
    assert stuck.facts["row_count"] == 3 and stuck.facts["more_rows"] is True
    assert stuck.evidence == (
        "id | state | note",
        "10 | stuck | password=***",
        "20 | stuck | n20",
        "30 | stuck | n30",
        "(more rows; the first 3 shown)",
    )
    assert SECRET not in str(stuck.to_dict())
    assert one.status is CheckStatus.PASS and one.facts["first_n"] == "300"
    assert any("Index Scan" in line for line in explain.evidence), explain.evidence
    assert locking.status is CheckStatus.ERROR
    assert "read-only transaction" in locking.summary


async def test_query_refuses_changes_before_they_reach_the_server(orders: PostgresServer) -> None:
    refused = {}
    async with opened(target_for(orders)) as provider:
        for sql in (
            "DELETE FROM sql_orders",
            "select 1; delete from sql_orders",
            "EXPLAIN ANALYZE UPDATE sql_orders SET state = 'x'",
            "select pg_terminate_backend(pg_backend_pid())",
            "",
        ):
            result = await provider.run_check(CheckCall("postgres.query", {"sql": sql}))
            refused[sql] = (result.status, result.summary)
    assert all(status is CheckStatus.ERROR for status, _ in refused.values())
    assert "not run: DELETE changes the database" in refused["DELETE FROM sql_orders"][1]
    assert "one statement at a time: 2 given" in refused["select 1; delete from sql_orders"][1]
    assert (
        "pg_terminate_backend() acts on the server"
        in (refused["select pg_terminate_backend(pg_backend_pid())"][1])
    )
    assert "no SQL statement given" in refused[""][1]
    assert orders.execute("select count(*), count(*) filter (where state = 'x') from sql_orders")[
        0
    ] == (300, 0)


async def test_a_slow_query_is_cancelled_by_the_statement_timeout(
    postgres_server: PostgresServer,
) -> None:
    async with opened(target_for(postgres_server, timeout=1.0)) as provider:
        result = await provider.run_check(
            CheckCall("postgres.query", {"sql": "select pg_sleep(30)"}), timeout=5.0
        )
    assert result.status is CheckStatus.ERROR
    assert "canceling statement due to statement timeout" in result.summary


async def test_run_sql_previews_the_exact_statement_and_runs_only_when_typed(
    orders: PostgresServer, tmp_path: Path
) -> None:
    audit = AuditLog(tmp_path / "audit.jsonl")
    sql = "CREATE INDEX sql_orders_state ON sql_orders (state)"
    async with opened(target_for(orders)) as provider:
        plan = await provider.plan_action("postgres.run_sql", {"sql": sql})
        with pytest.raises(ActionBlocked):
            await Gate("prod", read_only=True, audit=audit).run_action(
                provider, plan, confirmation="db/postgres", params={"sql": sql}
            )
        gate = Gate("prod", read_only=False, audit=audit)
        # Destructive: the target's name with the database; the bare database (the old word),
        # yes, or the database on another target are refused, at the gate and below it.
        assert plan.confirmation_word() == "db/postgres"
        with pytest.raises(ConfirmationRequired, match="type 'db/postgres' to run it"):
            await gate.run_action(provider, plan, confirmation="yes", params={"sql": sql})
        for wrong in ("yes", "postgres", "other/postgres"):
            with pytest.raises(ConfirmationRequired, match="type 'db/postgres' to run it"):
                await provider.run_action(plan, confirmation=wrong)
        assert not orders.execute("select 1 from pg_indexes where indexname = 'sql_orders_state'")
        outcome = await gate.run_action(
            provider, plan, confirmation="db/postgres", params={"sql": sql}
        )
        vacuum = await provider.plan_action("postgres.run_sql", {"sql": "VACUUM FULL sql_orders;"})
        vacuumed = await gate.run_action(
            provider, vacuum, confirmation="db/postgres", params={"sql": "VACUUM FULL sql_orders;"}
        )
        with pytest.raises(ValueError, match="one statement at a time"):
            await provider.plan_action("postgres.run_sql", {"sql": "select 1; select 2"})

    assert plan.preview.destructive and plan.preview.target == "postgres"
    assert plan.preview.summary == (
        f"run on database postgres at 127.0.0.1:{orders.port}/postgres: {sql}"
    )
    assert plan.preview.touches == ("database postgres", f"SQL: {sql}")
    assert outcome.ok and outcome.summary == "postgres: CREATE INDEX"
    assert orders.execute("select 1 from pg_indexes where indexname = 'sql_orders_state'")
    assert vacuumed.ok and vacuumed.summary == "postgres: VACUUM"  # outside a transaction block
    entries = audit.entries()
    assert [(e["phase"], e["action"]) for e in entries] == [
        ("refused", "postgres.run_sql"),  # read-only
        ("refused", "postgres.run_sql"),  # yes
        ("started", "postgres.run_sql"),
        ("completed", "postgres.run_sql"),
        ("started", "postgres.run_sql"),
        ("completed", "postgres.run_sql"),
    ]
    assert "prod is read-only" in entries[0]["reason"]
    assert entries[1]["reason"].endswith("not run; type 'db/postgres' to run it")
    assert entries[1]["typed"] is True
    assert entries[2]["preview"] == plan.preview.summary and entries[2]["destructive"] is True
