"""Fixtures for TUI tests: the app built against real or recorded backends."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.screen import Screen

from providers.inventory import Environment, Inventory, Target
from providers.registry import PROVIDER_KINDS
from runbooks import diagnosis


def inventory_of(*targets: Target, name: str = "local") -> Inventory:
    return Inventory(environments={name: Environment(targets=list(targets))}, source="test")


async def wait_for_group(app: App[object], group: str) -> None:
    """Wait until every worker of a group has finished, then let messages land."""
    for worker in [worker for worker in app.workers if worker.group == group]:
        await worker.wait()


def painted(screen: Screen[object]) -> bool:
    """Every change the screen was asked to show is on it: no layout, scroll or repaint is
    waiting for the screen's update timer. A screen under a modal keeps the picture it last
    painted, so a change still waiting when the modal opens never shows under it."""
    return not (
        screen._layout_required
        or screen._scroll_required
        or screen._repaint_required
        or screen._dirty_widgets
    )


async def wait_until(
    pilot: Pilot[object],
    condition: Callable[[], bool],
    *,
    timeout: float = 10.0,
    state: Callable[[], object] | None = None,
) -> None:
    """Process messages until `condition` holds; fail with a clear message after `timeout`,
    saying what `state` returns then (what the screen held instead)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            seen = f"; instead: {state()!r}" if state is not None else ""
            raise AssertionError(f"condition not reached within {timeout}s{seen}")
        await pilot.pause(0.02)


@pytest.fixture
def stopped_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """A diagnosis takes no time by the clock its report is measured with (the seconds shown
    in the walkthrough would differ from run to run)."""
    monkeypatch.setattr(diagnosis, "clock", lambda: 0.0)


@pytest.fixture
def recorded_kind(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Register the recorded provider, and show times in UTC so snapshots are stable."""
    monkeypatch.setitem(PROVIDER_KINDS, "recorded", "tests.tui.recorded:RecordedProvider")
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()
