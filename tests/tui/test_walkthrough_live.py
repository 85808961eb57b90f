"""The walkthrough opens on the node the operator selected and diagnoses it at once, from the
screen's own sweep; the ranking (by words, and of the live diagnosis) runs off the UI loop, so a
pasted megabyte never holds up a key."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, OptionList

from providers.inventory import Environment, Inventory, Target
from runbooks import diagnosis
from tests.servers.redis import RedisServer, start_redis
from tests.tui.conftest import wait_until
from tui.app import TriageApp
from tui.screens import walkthrough
from tui.screens.walkthrough import Walkthrough
from tui.widgets.service_tree import ServiceTree

pytestmark = pytest.mark.integration


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[RedisServer]:
    """A second Redis, beside the `redis_server` fixture's."""
    folder = tmp_path / "sessions"
    folder.mkdir()
    with start_redis(folder) as server:
        yield server


def app_for(*targets: Target) -> TriageApp:
    inventory = Inventory(
        environments={"prod": Environment(targets=list(targets))},
        source="test",
    )
    return TriageApp(inventory)


async def test_it_opens_on_the_selected_failing_node_and_enter_shows_its_cause(
    redis_server: RedisServer, sessions: RedisServer
) -> None:
    """Two Redis: the cache is fine; the sessions store is full. Selected, `w`, Enter: its
    cause, confirmed, with the evidence, and nothing typed."""
    sessions.fill_to_maxmemory("2mb")
    app = app_for(
        Target(kind="redis", name="cache", url=redis_server.url, timeout=3),
        Target(kind="redis", name="sessions", url=sessions.url, timeout=3),
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.library is not None)
        main = app.main_screen()
        assert main is not None
        await wait_until(pilot, lambda: main.scene() is not None, timeout=20)
        main.select_by_id("redis:sessions")
        await pilot.press("w")
        await wait_until(pilot, lambda: isinstance(app.screen, Walkthrough))
        screen = app.screen
        assert isinstance(screen, Walkthrough)
        assert screen.node is not None and screen.node.id == "redis:sessions"
        await wait_until(pilot, lambda: screen.report is not None, timeout=20)
        report = screen.report
        assert report is not None and report.answer is not None
        assert [entity.node.id for entity, how in report.focus] == ["redis:sessions"]
        await pilot.press("enter")
        await wait_until(pilot, lambda: screen.diagnosis is not None)
        assert screen.diagnosis is not None
        first = screen.diagnosis.causes[0]
        assert (screen.diagnosis.runbook.id, first.cause.id, first.verdict.value) == (
            "redis-out-of-memory",
            "maxmemory-noeviction",
            "confirmed",
        )
        assert screen.diagnosis.params["cache"] == "sessions"  # not the healthy cache
        detail = str(screen.query_one("#walk-detail").render())
        assert "CONFIRMED" in detail and "memory" in detail


async def test_it_opens_on_the_node_under_the_cursor_without_enter(
    redis_server: RedisServer, sessions: RedisServer
) -> None:
    """The cursor moved down to the failing sessions store (its detail shown, not Enter'd):
    `w` is about it, not about the cache selected first."""
    sessions.fill_to_maxmemory("2mb")
    app = app_for(
        Target(kind="redis", name="cache", url=redis_server.url, timeout=3),
        Target(kind="redis", name="sessions", url=sessions.url, timeout=3),
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.library is not None)
        main = app.main_screen()
        assert main is not None
        await wait_until(pilot, lambda: main.scene() is not None, timeout=20)
        await wait_until(pilot, lambda: main.selected is not None)
        assert main.selected is not None and main.selected.id == "redis:cache"
        main.query_one(ServiceTree).focus()
        await pilot.press("down")
        await wait_until(pilot, lambda: main.current is not None)
        assert main.current is not None and main.current.id == "redis:sessions"
        assert main.selected.id == "redis:cache"  # nothing Enter'd
        await pilot.press("w")
        await wait_until(pilot, lambda: isinstance(app.screen, Walkthrough))
        screen = app.screen
        assert isinstance(screen, Walkthrough)
        assert screen.node is not None and screen.node.id == "redis:sessions"


def held(release: threading.Event, entered: threading.Event, real: Callable[..., Any]) -> Any:
    """`real`, once the test lets it go: while it waits, the screen must still take keys."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        if not release.wait(timeout=60):
            raise TimeoutError("the test never released the ranking")
        return real(*args, **kwargs)

    return wrapper


async def test_ranking_a_megabyte_paste_never_holds_up_a_key(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ranking by words and the live diagnosis's ranking are held until the operator has
    typed elsewhere: if either ran on the UI loop, the keys would wait for it (and the test
    with them, until the ranking's own timeout failed it)."""
    release, words, live = threading.Event(), threading.Event(), threading.Event()
    monkeypatch.setattr(walkthrough, "suggest", held(release, words, walkthrough.suggest))
    monkeypatch.setattr(diagnosis, "plan_diagnosis", held(release, live, diagnosis.plan_diagnosis))
    app = app_for(Target(kind="redis", name="cache", url=redis_server.url, timeout=3))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.library is not None)
        await pilot.press("w")
        await wait_until(pilot, lambda: isinstance(app.screen, Walkthrough))
        screen = app.screen
        assert isinstance(screen, Walkthrough)
        paste = "OOM command not allowed when used memory > 'maxmemory'\n" * 20_000  # 1.1 MB
        screen.query_one("#walk-symptom", Input).value = paste
        await wait_until(pilot, lambda: words.is_set() and live.is_set(), timeout=20)

        params = screen.query_one("#walk-params", Input)
        params.focus()
        await pilot.press(*"pattern=fill:*")
        assert params.value == "pattern=fill:*"  # typed while both rankings wait
        assert screen.report is None and screen.ranked == []

        release.set()
        await wait_until(pilot, lambda: bool(screen.ranked), timeout=30)
        assert screen.ranked[0].runbook.id == "redis-out-of-memory"
        await wait_until(pilot, lambda: screen.report is not None, timeout=30)
        options = screen.query_one("#walk-runbooks", OptionList)
        assert options.option_count > 0
