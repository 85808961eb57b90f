"""The walkthrough at each of its states, pinned: behaviour asserted before each picture.

the selected node diagnosed, a symptom typed, runbooks ranked -> checks done, causes ranked with
evidence -> a fix's preview ->
typed confirmation of a destructive fix (or read-only refusal) -> verification before/after.
The Redis here replays recordings/walkthrough.json (record_walkthrough.py recorded the real
provider, engine and gate on a private Redis at maxmemory); the real flow is tested in
test_walkthrough.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.widgets import Input, OptionList, Static

from providers.contract import CheckStatus
from providers.inventory import Environment, Inventory, Settings, Target
from runbooks.engine import Verdict
from tests.tui.conftest import wait_for_group, wait_until
from tests.tui.replayed import ReplayedRedis, replayed_kinds  # noqa: F401 - a fixture
from tui.app import TriageApp
from tui.screens.confirm_fix import ConfirmFix
from tui.screens.walkthrough import Walkthrough

SYMPTOM = "OOM command not allowed when used memory > 'maxmemory'"
SIZES = [(80, 24), (120, 40)]


def walkthrough_app(tmp_path: Path, *, read_only: bool = False) -> TriageApp:
    cache = Target(
        kind="redis",
        name="cache",
        url="redis://cache.prod.internal:6379/0",
        options={"recording": "walkthrough"},
    )
    inventory = Inventory(
        settings=Settings(audit_log=tmp_path / "audit.jsonl"),
        environments={
            "prod": Environment(read_only=read_only, targets=[cache], params={"pattern": "fill:*"})
        },
        source="triage.yaml",
    )
    return TriageApp(inventory)


async def symptom_typed(pilot) -> Walkthrough:  # type: ignore[no-untyped-def]
    app = pilot.app
    await wait_until(pilot, lambda: app.library is not None and app.screen.selected is not None)
    await wait_for_group(app, "sweep")
    await pilot.press("w")
    await wait_until(pilot, lambda: isinstance(app.screen, Walkthrough))
    screen = app.screen
    await wait_until(pilot, lambda: screen.report is not None)  # the cache, diagnosed
    await wait_for_group(screen, "walk-live")
    screen.query_one("#walk-symptom", Input).value = SYMPTOM
    await wait_until(pilot, lambda: bool(screen.ranked))
    await pilot.pause()
    return screen  # type: ignore[no-any-return]


async def diagnosed(pilot) -> Walkthrough:  # type: ignore[no-untyped-def]
    """The runbook the symptom's words rank first, run by hand."""
    screen = await symptom_typed(pilot)
    runbooks = screen.query_one("#walk-runbooks", OptionList)
    runbooks.focus()
    ids = [str(runbooks.get_option_at_index(i).id) for i in range(runbooks.option_count)]
    runbooks.highlighted = ids.index(screen.ranked[0].runbook.id)
    await pilot.pause()
    await pilot.press("enter")
    await wait_until(pilot, lambda: screen.diagnosis is not None)
    await wait_for_group(screen, "walk-diagnose")
    await pilot.pause()
    return screen


async def confirming(pilot, key: str) -> ConfirmFix:  # type: ignore[no-untyped-def]
    """Diagnose, then ask for a fix of the first cause (`enter`: its first runnable one)."""
    await diagnosed(pilot)
    await pilot.press(key)
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, ConfirmFix))
    await pilot.pause()
    return pilot.app.screen  # type: ignore[no-any-return]


def replayed_cache(app: TriageApp) -> ReplayedRedis:
    provider = app.live.provider_for("redis:cache")
    assert isinstance(provider, ReplayedRedis)
    return provider


@pytest.mark.usefixtures("replayed_kinds", "stopped_clock")
class TestWalkthrough:
    @pytest.mark.parametrize("size", SIZES)
    def test_a_symptom_ranks_the_runbooks(self, snap_compare, tmp_path, size) -> None:  # type: ignore[no-untyped-def]
        async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
            screen = await symptom_typed(pilot)
            assert screen.ranked[0].runbook.id == "redis-out-of-memory"
            assert "matches signature" in " ".join(screen.ranked[0].reasons)
            runbooks = screen.query_one("#walk-runbooks", OptionList)
            first = runbooks.get_option_at_index(0)
            assert first.id == "found:0" and runbooks.highlighted == 0
            why = str(screen.query_one("#walk-why", Static).render())
            assert why.startswith("redis-out-of-memory: maxmemory-noeviction"), why

        assert snap_compare(walkthrough_app(tmp_path), terminal_size=size, run_before=run_before)

    @pytest.mark.parametrize("size", SIZES)
    def test_causes_ranked_with_their_evidence(self, snap_compare, tmp_path, size) -> None:  # type: ignore[no-untyped-def]
        async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
            screen = await diagnosed(pilot)
            diagnosis = screen.diagnosis
            assert diagnosis is not None and diagnosis.params["pattern"] == "fill:*"
            statuses = {step: result.status for step, result in diagnosis.results.items()}
            assert statuses == {
                "memory": CheckStatus.FAIL,
                "keys": CheckStatus.WARN,
                "persistence": CheckStatus.PASS,
            }
            ranking = [(item.cause.id, item.verdict) for item in diagnosis.causes]
            assert ranking == [
                ("maxmemory-noeviction", Verdict.CONFIRMED),
                ("keys-without-ttl", Verdict.CONFIRMED),
                ("bgsave-failing", Verdict.RULED_OUT),
            ]
            detail = str(screen.query_one("#walk-detail", Static).render())
            assert detail.startswith("CONFIRMED: Memory is full")
            assert "  • memory: oom errors is 1 (> 0)" in detail.splitlines()

        assert snap_compare(walkthrough_app(tmp_path), terminal_size=size, run_before=run_before)

    @pytest.mark.parametrize("size", SIZES)
    def test_a_command_names_its_server_and_wants_it_typed(
        self, snap_compare, tmp_path, size
    ) -> None:  # type: ignore[no-untyped-def]
        async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
            dialog = await confirming(pilot, "2")
            assert not dialog.planned.destructive
            assert dialog.planned.preview == (
                'run `redis-cli -u "redis://cache.prod.internal:6379/0" CONFIG SET '
                "maxmemory-policy allkeys-lru`"
            )
            assert dialog.planned.server == "cache (cache.prod.internal:6379)"
            assert dialog.planned.confirmation_word == "cache"
            prompt = str(dialog.query_one("#confirm-prompt", Static).render())
            assert prompt == "Type 'cache' to run it, Escape to cancel"
            assert pilot.app.focused is dialog.query_one("#confirm-input", Input)

        assert snap_compare(walkthrough_app(tmp_path), terminal_size=size, run_before=run_before)

    @pytest.mark.parametrize("size", SIZES)
    def test_a_destructive_fix_wants_its_target_typed(self, snap_compare, tmp_path, size) -> None:  # type: ignore[no-untyped-def]
        async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
            dialog = await confirming(pilot, "enter")
            assert dialog.planned.destructive
            assert dialog.planned.preview == (
                "delete 97 keys matching fill:* on cache.prod.internal:6379"
            )
            assert dialog.planned.server == "cache (cache.prod.internal:6379)"
            assert dialog.planned.confirmation_word == "cache/fill:*"
            await pilot.press(*"cache/fill:")  # typed so far, not yet submitted
            assert dialog.query_one("#confirm-input", Input).value == "cache/fill:"
            assert not replayed_cache(pilot.app).fixed

        assert snap_compare(walkthrough_app(tmp_path), terminal_size=size, run_before=run_before)

    @pytest.mark.parametrize("size", SIZES)
    def test_read_only_refuses_and_says_why(self, snap_compare, tmp_path, size) -> None:  # type: ignore[no-untyped-def]
        async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
            dialog = await confirming(pilot, "enter")
            blocked = str(dialog.query_one("#confirm-blocked", Static).render())
            assert blocked.startswith("prod is read-only")
            assert not dialog.query("#confirm-input")
            assert not (tmp_path / "audit.jsonl").exists()  # nothing tried yet: the dialog is up

        app = walkthrough_app(tmp_path, read_only=True)
        assert snap_compare(app, terminal_size=size, run_before=run_before)

    @pytest.mark.parametrize("size", SIZES)
    def test_verification_before_and_after(self, snap_compare, tmp_path, size) -> None:  # type: ignore[no-untyped-def]
        async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
            await confirming(pilot, "enter")
            await pilot.press(*"cache/fill:*", "enter")
            screen = pilot.app.screen
            assert isinstance(screen, Walkthrough)
            await wait_until(pilot, lambda: "Verify checks" in screen.result_text())
            await wait_for_group(screen, "walk-fix")
            text = screen.result_text()
            assert text.startswith("DONE: deleted 97 keys matching fill:*")
            assert "Effect: the verify checks pass and the cause no longer holds" in text
            assert "  memory: ✖ fail    -> ▲ warn    1.2 MiB of 2.0 MiB maxmemory (61%)" in text
            assert replayed_cache(pilot.app).fixed
            audit = [
                json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()
            ]
            assert [(entry["phase"], entry.get("outcome")) for entry in audit] == [
                ("started", None),
                ("completed", "ok"),
                ("verified", "done"),
            ]
            await pilot.pause()

        assert snap_compare(walkthrough_app(tmp_path), terminal_size=size, run_before=run_before)
