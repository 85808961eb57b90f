"""The walkthrough on a real Redis at maxmemory: from the selected node (or a symptom) to the
cause found live, to a verified fix, from the keyboard; a runbook run by hand."""

from __future__ import annotations

import json
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
from tui.screens.confirm_fix import ConfirmFix, ConfirmGuess
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


async def open_walkthrough(app: TriageApp, pilot, symptom: str = "") -> Walkthrough:  # type: ignore[no-untyped-def]
    """`w` on the main screen, the symptom typed; once the live diagnosis and the ranking by
    the symptom's words are in the list."""
    await wait_until(pilot, lambda: app.library is not None)
    await pilot.press("w")
    await wait_until(pilot, lambda: isinstance(app.screen, Walkthrough))
    screen = app.screen
    assert isinstance(screen, Walkthrough)
    await wait_until(pilot, lambda: screen.report is not None, timeout=20)
    if symptom:
        screen.query_one("#walk-symptom", Input).value = symptom
        await wait_until(pilot, lambda: bool(screen.ranked), state=lambda: screen.ranked)
    return screen


def option_ids(screen: Walkthrough) -> list[str]:
    options = screen.query_one("#walk-runbooks", OptionList)
    return [str(options.get_option_at_index(i).id) for i in range(options.option_count)]


async def pick(screen: Walkthrough, pilot, option_id: str) -> None:  # type: ignore[no-untyped-def]
    """Highlight an entry of the list and press Enter on it."""
    options = screen.query_one("#walk-runbooks", OptionList)
    options.focus()
    options.highlighted = option_ids(screen).index(option_id)
    await pilot.pause()
    await pilot.press("enter")


async def test_symptom_to_verified_fix(
    redis_server: RedisServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    redis_server.client().set("session:1", "not a fill key")
    redis_server.fill_to_maxmemory("2mb")
    audit = tmp_path / "audit.jsonl"
    app = app_for(redis_server.url, audit=audit)
    async with app.run_test(size=(100, 32)) as pilot:
        screen = await open_walkthrough(app, pilot)  # on the selected node: the cache
        # What is failing there, found live: the first entry, highlighted, Enter opens it.
        options = screen.query_one("#walk-runbooks", OptionList)
        assert app.focused is options and options.highlighted == 0
        assert option_ids(screen)[0] == "found:0"
        why = str(screen.query_one("#walk-why", Static).render())
        assert why.startswith("redis-out-of-memory: maxmemory-noeviction"), why
        await pilot.press("enter")
        await wait_until(pilot, lambda: screen.diagnosis is not None)
        diagnosis = screen.diagnosis
        assert diagnosis is not None
        assert diagnosis.params["cache"] == "cache" and diagnosis.params["pattern"] == "fill:*"
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
        assert dialog.planned.server == f"cache ({redis_server.address})"
        await pilot.press(*"fill:*", "enter")  # the pattern alone: refused, nothing deleted
        await wait_until(pilot, lambda: "not run; type 'cache/fill:*'" in screen.result_text())
        assert redis_server.client().dbsize() > 0

        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmFix))
        await pilot.press(*"cache/fill:*", "enter")
        await wait_until(pilot, lambda: "Verify checks" in screen.result_text())
        assert screen.result_text().startswith("DONE: deleted ")
        assert redis_server.client().keys("fill:*") == []
        phases = [json.loads(line)["phase"] for line in audit.read_text().splitlines()]
        assert phases == ["refused", "started", "completed", "verified"]

        await pilot.press("x")
        folder = tmp_path / "state" / "triage" / "transcripts"
        await wait_until(pilot, lambda: folder.exists() and len(list(folder.iterdir())) == 2)
        markdown = next(folder.glob("*.md")).read_text()
        assert "**confirmed**: Memory is full" in markdown
        assert "## Verification passed" in markdown


async def test_read_only_says_why_changes_nothing_and_records_it(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    redis_server.fill_to_maxmemory("2mb")
    audit = tmp_path / "audit.jsonl"
    app = app_for(redis_server.url, read_only=True, audit=audit)
    async with app.run_test(size=(100, 32)) as pilot:
        screen = await open_walkthrough(app, pilot, "OOM command not allowed")
        await pick(screen, pilot, "redis-out-of-memory")
        await wait_until(pilot, lambda: screen.diagnosis is not None)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmFix))
        blocked = app.screen.query_one("#confirm-blocked", Static)
        assert "prod is read-only" in str(blocked.render())
        await pilot.press("escape")
        assert not isinstance(app.screen, ConfirmFix)
        await wait_until(pilot, lambda: "Not run: prod is read-only" in screen.result_text())
        (refusal,) = [json.loads(line) for line in audit.read_text().splitlines()]
        assert refusal["phase"] == "refused" and "read-only" in refusal["reason"]
        assert screen.transcript.events[-1]["kind"] == "refusal"
    assert len(redis_server.client().keys("fill:*")) > 0


async def diagnosed_by_hand(app: TriageApp, pilot, symptom: str, runbook: str) -> Walkthrough:  # type: ignore[no-untyped-def]
    """The runbook, ranked by the symptom's words, run by hand."""
    screen = await open_walkthrough(app, pilot, symptom)
    ranked = [item.runbook.id for item in screen.ranked]
    assert runbook in ranked[:3], ranked
    await pick(screen, pilot, runbook)
    await wait_until(pilot, lambda: screen.diagnosis is not None)
    return screen


async def test_a_ruled_out_cause_s_fix_is_refused_and_recorded(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    for index in range(50):
        redis_server.client().set(f"fill:{index}", "v")
    audit = tmp_path / "audit.jsonl"
    app = app_for(redis_server.url, audit=audit)
    async with app.run_test(size=(100, 32)) as pilot:
        screen = await diagnosed_by_hand(
            app, pilot, "OOM command not allowed", "redis-out-of-memory"
        )
        assert screen.diagnosis is not None
        oom = next(c for c in screen.diagnosis.causes if c.cause.id == "maxmemory-noeviction")
        assert oom.verdict is Verdict.RULED_OUT
        view = screen.query_one(DiagnosisView)
        view.highlighted = oom
        await pilot.press("1")
        await wait_until(pilot, lambda: "is ruled out by the diagnosis" in screen.result_text())
        assert not isinstance(app.screen, ConfirmFix)  # nothing to confirm: it cannot run
        (refusal,) = [json.loads(line) for line in audit.read_text().splitlines()]
        assert (refusal["phase"], refusal["verdict"]) == ("refused", "ruled out")
        assert screen.transcript.events[-1]["kind"] == "refusal"
    assert redis_server.client().dbsize() == 50


async def test_an_unknown_cause_s_fix_asks_a_second_time_and_says_why(
    redis_server: RedisServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    redis_server.fill_to_maxmemory("2mb")
    # This user may not read INFO persistence: the MISCONF cause cannot be decided.
    redis_server.client().execute_command(
        "ACL", "SETUSER", "nosave", "on", ">nosave-pw", "allcommands", "-info", "+info|memory",
        "+info|stats", "+info|errorstats", "+info|keyspace", "allkeys",
    )  # fmt: skip
    monkeypatch.setenv("TRIAGE_TEST_REDIS_PASSWORD", "nosave-pw")
    audit = tmp_path / "audit.jsonl"
    inventory = Inventory(
        settings={"audit_log": audit},  # type: ignore[arg-type]
        environments={
            "prod": Environment(
                targets=[
                    Target(
                        kind="redis",
                        name="cache",
                        url=redis_server.url,
                        username="nosave",
                        password={"env": "TRIAGE_TEST_REDIS_PASSWORD"},  # type: ignore[arg-type]
                    )
                ],
                params={"pattern": "fill:*"},
            )
        },
        source="test",
    )
    app = TriageApp(inventory)
    async with app.run_test(size=(100, 32)) as pilot:
        screen = await diagnosed_by_hand(
            app, pilot, "OOM command not allowed", "redis-out-of-memory"
        )
        assert screen.diagnosis is not None
        misconf = next(c for c in screen.diagnosis.causes if c.cause.id == "bgsave-failing")
        assert misconf.verdict is Verdict.UNKNOWN
        screen.query_one(DiagnosisView).highlighted = misconf
        await pilot.press("1")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmGuess))
        said = str(app.screen.query_one("#confirm-preview", Static).render())
        assert "could not tell whether this cause holds" in said
        assert "the persistence check could not run" in said
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, ConfirmGuess))
        assert screen.transcript.events[-1]["reason"] == "cancelled: its cause is unconfirmed"

        await pilot.press("1")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmGuess))
        await pilot.press("g")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmFix))
        await pilot.press(*"cache", "enter")
        await wait_until(pilot, lambda: "Verify checks" in screen.result_text())
        fix = screen.transcript.events[-2]
        assert (fix["kind"], fix["forced"], fix["verdict"]) == ("fix", True, "unknown")
    assert [json.loads(line)["phase"] for line in audit.read_text().splitlines()][:2] == [
        "started",
        "completed",
    ]


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
        assert screen.ranked[0].runbook.id == "db-missing-relation"
        await pick(screen, pilot, "db-missing-relation")
        why = str(screen.query_one("#walk-why", Static).render())
        assert why.startswith("db-missing-relation needs table: type name=value"), why
        assert app.focused is screen.query_one("#walk-params", Input)
        await pilot.press(*"table=orders", "enter")  # one Enter runs it: no second pick
        await wait_until(pilot, lambda: screen.diagnosis is not None)
        assert screen.diagnosis is not None
        assert screen.diagnosis.params == {"db": "orders-db", "table": "orders"}
        assert screen.diagnosis.results["table"].facts["exists"] is False
        assert isinstance(screen.query_one(DiagnosisView), DiagnosisView)
