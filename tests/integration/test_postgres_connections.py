"""The PostgreSQL provider keeps a few idle connections per database between calls, uses no more
than that many at once, and never hands out one the server has dropped."""

from __future__ import annotations

import asyncio

import pytest

from providers.contract import CheckCall, CheckStatus
from providers.postgres_provider import SESSIONS_AT_ONCE
from tests.integration import postgres_helpers
from tests.integration.postgres_helpers import opened, target_for
from tests.servers.postgres import PostgresServer

pytestmark = pytest.mark.integration
_password = postgres_helpers._password  # the password variable, bound where pytest looks

BACKEND = CheckCall("postgres.query", {"sql": "select pg_backend_pid() as pid"})


def backend_pid(result_evidence: tuple[str, ...]) -> str:
    rows = [line for line in result_evidence if any(ch.isdigit() for ch in line)]
    assert rows, result_evidence
    return rows[-1]


async def test_calls_share_one_kept_connection_and_a_dropped_one_is_replaced(
    postgres_server: PostgresServer,
) -> None:
    async with opened(target_for(postgres_server)) as provider:
        first = await provider.run_check(BACKEND)
        second = await provider.run_check(BACKEND)
        assert first.status is CheckStatus.PASS and second.status is CheckStatus.PASS
        assert backend_pid(first.evidence) == backend_pid(second.evidence)

        # The server drops triage's connection (an operator's pg_terminate_backend, a restart).
        postgres_server.execute(
            "select pg_terminate_backend(pid) from pg_stat_activity "
            "where application_name = 'triage' and pid <> pg_backend_pid()"
        )
        third = await provider.run_check(BACKEND)
        assert third.status is CheckStatus.PASS, third.summary
        assert backend_pid(third.evidence) != backend_pid(first.evidence)

        kept = postgres_server.execute(
            "select count(*) from pg_stat_activity where application_name = 'triage'"
        )
    assert kept == [(1,)]
    closed = postgres_server.execute(
        "select count(*) from pg_stat_activity where application_name = 'triage'"
    )
    assert closed == [(0,)]  # close() let the kept connection go


async def test_concurrent_calls_take_turns_on_a_few_connections_kept_for_the_next_refresh(
    postgres_server: PostgresServer,
) -> None:
    """A refresh runs a server's checks at once: they share SESSIONS_AT_ONCE connections, which
    the next refresh finds open (the server forks no backend, triage holds few of its slots)."""
    held = CheckCall(
        "postgres.query", {"sql": "select pg_backend_pid() as pid, pg_sleep(0.05) as slept"}
    )
    async with opened(target_for(postgres_server)) as provider:
        first = await asyncio.gather(*(provider.run_check(held) for _ in range(8)))
        second = await asyncio.gather(*(provider.run_check(held) for _ in range(8)))
        open_after = postgres_server.execute(
            "select count(*) from pg_stat_activity where application_name = 'triage'"
        )

    assert all(result.status is CheckStatus.PASS for result in first + second)
    first_pids = {result.facts["first_pid"] for result in first}
    second_pids = {result.facts["first_pid"] for result in second}
    assert len(first_pids) == SESSIONS_AT_ONCE
    assert second_pids == first_pids
    assert open_after == [(SESSIONS_AT_ONCE,)]


async def test_a_sweep_and_a_diagnosis_hold_one_connection_at_a_time(
    postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A role allowed one connection: a second one at any moment would be refused ("too many
    connections for role"), and that refusal would show in a check's result."""
    from providers.environment import LiveEnvironment
    from providers.inventory import Environment, Inventory
    from runbooks.diagnosis import diagnose_symptom
    from runbooks.loader import load_library

    postgres_server.execute("drop role if exists one_slot")
    postgres_server.execute("create role one_slot login password 'one-slot-pw' connection limit 1")
    postgres_server.execute("grant pg_monitor to one_slot")
    monkeypatch.setenv("TRIAGE_TEST_ONE_SLOT", "one-slot-pw")
    target = target_for(postgres_server, password_env="TRIAGE_TEST_ONE_SLOT")
    target = target.model_copy(update={"username": "one_slot"})
    inventory = Inventory(environments={"prod": Environment(targets=[target])}, source="test")
    live = LiveEnvironment(inventory)
    try:
        _, results = await live.check_everything()
        report = await diagnose_symptom("is db ok?", live, load_library().runbooks.values())
    finally:
        await live.close()
    ran = [*results, *(r for f in report.findings for r in f.diagnosis.results.values())]
    assert len(ran) > 10
    refused = [r for r in ran if "too many connections" in r.summary]
    assert refused == [], [r.summary for r in refused]
    assert all(result.status.value != "error" for result in results), [
        (result.check, result.summary) for result in results if result.status.value == "error"
    ]
