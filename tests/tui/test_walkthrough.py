"""The walkthrough on a real Redis at maxmemory: symptom to verified fix, from the keyboard."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from textual.widgets import Input, OptionList, Static

from providers.contract import CheckStatus
from providers.inventory import Environment, Inventory, Target
from runbooks.engine import Verdict
from tests.servers.redis import RedisServer
from tests.tui.conftest import wait_until
from tui.app import TriageApp
from tui.screens.confirm_fix import ConfirmFix
from tui.screens.walkthrough import Walkthrough
from tui.widgets.diagnosis_view import DiagnosisView

pytestmark = pytest.mark.integration


def app_for(url: str, *, read_only: bool = False, audit: Path | None = None) -> TriageApp:
    inventory = Inventory(
        settings={"audit_log": audit} if audit else {},  # type: ignore[arg-type]
        environments={
            "prod": Environment(
                read_only=read_only,
                targets=[Target(kind="redis", name="cache", url=url, timeout=3)],
                params={"pattern": "fill:*"},
            )
        },
        source="test",
    )
    return TriageApp(inventory)


async def open_walkthrough(app: TriageApp, pilot, symptom: str) -> Walkthrough:  # type: ignore[no-untyped-def]
    await wait_until(pilot, lambda: app.library is not None)
    await pilot.press("w")
    await wait_until(pilot, lambda: isinstance(app.screen, Walkthrough))
    screen = app.screen
    assert isinstance(screen, Walkthrough)
    screen.query_one("#walk-symptom", Input).value = symptom
    await pilot.pause()
    return screen


async def test_symptom_to_verified_fix(
    redis_server: RedisServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    redis_server.fill_to_maxmemory("2mb")
    audit = tmp_path / "audit.jsonl"
    app = app_for(redis_server.url, audit=audit)
    async with app.run_test(size=(100, 32)) as pilot:
        screen = await open_walkthrough(app, pilot, "OOM command not allowed when used memory")
        runbooks = screen.query_one("#walk-runbooks", OptionList)
        assert runbooks.get_option_at_index(0).id == "redis-out-of-memory"
        assert "matches signature" in str(screen.query_one("#walk-why", Static).render())

        runbooks.focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: screen.diagnosis is not None)
        diagnosis = screen.diagnosis
        assert diagnosis is not None
        assert diagnosis.params == {"cache": "cache", "pattern": "fill:*"}
        assert diagnosis.results["memory"].status is CheckStatus.FAIL
        assert (diagnosis.causes[0].cause.id, diagnosis.causes[0].verdict) == (
            "maxmemory-noeviction",
            Verdict.CONFIRMED,
        )

        await pilot.press("enter")  # the highlighted cause's first runnable fix
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmFix))
        dialog = app.screen
        assert isinstance(dialog, ConfirmFix)
        assert dialog.planned.destructive
        assert dialog.planned.preview.startswith("delete ") and "matching fill:*" in (
            dialog.planned.preview
        )
        await pilot.press(*"fill", "enter")  # the wrong word: refused, nothing deleted
        await wait_until(pilot, lambda: "not run; type 'fill:*'" in screen.result_text())
        assert redis_server.client().dbsize() > 0

        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmFix))
        await pilot.press(*"fill:*", "enter")
        await wait_until(pilot, lambda: "Verification" in screen.result_text())
        assert "Verification verified" in screen.result_text()
        assert redis_server.client().keys("fill:*") == []
        assert [line.count('"phase"') for line in audit.read_text().splitlines()] == [1, 1]

        await pilot.press("x")
        folder = tmp_path / "state" / "triage" / "transcripts"
        await wait_until(pilot, lambda: folder.exists() and len(list(folder.iterdir())) == 2)
        markdown = next(folder.glob("*.md")).read_text()
        assert "**confirmed**: Memory is full" in markdown
        assert "## Verification passed" in markdown


async def test_read_only_says_why_and_changes_nothing(redis_server: RedisServer) -> None:
    redis_server.fill_to_maxmemory("2mb")
    app = app_for(redis_server.url, read_only=True)
    async with app.run_test(size=(100, 32)) as pilot:
        screen = await open_walkthrough(app, pilot, "OOM command not allowed")
        screen.query_one("#walk-runbooks", OptionList).focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: screen.diagnosis is not None)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmFix))
        blocked = app.screen.query_one("#confirm-blocked", Static)
        assert "prod is read-only" in str(blocked.render())
        await pilot.press("escape")
        assert not isinstance(app.screen, ConfirmFix)
    assert len(redis_server.client().keys("fill:*")) > 0


async def test_a_runbook_needing_a_value_asks_for_it(postgres_server) -> None:  # type: ignore[no-untyped-def]
    inventory = Inventory(
        environments={
            "prod": Environment(
                targets=[
                    Target(
                        kind="postgres",
                        name="orders-db",
                        url=postgres_server.dsn_without_password,
                        password={"env": "TRIAGE_TEST_PG_PASSWORD"},
                    ),
                ]
            )
        },
        source="test",
    )
    os.environ["TRIAGE_TEST_PG_PASSWORD"] = postgres_server.password
    app = TriageApp(inventory)
    async with app.run_test(size=(100, 32)) as pilot:
        screen = await open_walkthrough(app, pilot, 'relation "orders" does not exist')
        runbooks = screen.query_one("#walk-runbooks", OptionList)
        assert runbooks.get_option_at_index(0).id == "db-missing-relation"
        runbooks.focus()
        await pilot.press("enter")
        why = str(screen.query_one("#walk-why", Static).render())
        assert why == "db-missing-relation needs table; pass --param NAME=VALUE"
        assert app.focused is screen.query_one("#walk-params", Input)
        await pilot.press(*"table=orders", "enter")
        runbooks.focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: screen.diagnosis is not None)
        assert screen.diagnosis is not None
        assert screen.diagnosis.params == {"db": "orders-db", "table": "orders"}
        assert screen.diagnosis.results["table"].facts["exists"] is False
        assert isinstance(screen.query_one(DiagnosisView), DiagnosisView)
