"""Getting around from the keyboard: problems, palette, filter, environments, remapped keys."""

from __future__ import annotations

import pytest
from textual.command import CommandPalette
from textual.widgets import Input, OptionList

from providers.inventory import Environment, Inventory, Settings, Target
from tests.servers.process import free_port
from tests.servers.redis import RedisServer
from tests.tui.conftest import wait_for_group, wait_until
from tui.app import TriageApp
from tui.screens.environments import EnvironmentPicker
from tui.screens.main_screen import MainScreen
from tui.screens.problems import ProblemsScreen
from tui.screens.walkthrough import Walkthrough
from tui.widgets.service_tree import ServiceTree

pytestmark = pytest.mark.integration


def two_environments(url: str, *, keys: dict[str, str] | None = None) -> Inventory:
    return Inventory(
        settings=Settings(keys=keys or {}),
        environments={
            "prod": Environment(
                targets=[
                    Target(kind="redis", name="cache", url=url, timeout=2),
                    Target(
                        kind="redis",
                        name="sessions",
                        url=f"redis://127.0.0.1:{free_port()}/0",
                        timeout=2,
                    ),
                ]
            ),
            "staging": Environment(
                read_only=True,
                targets=[
                    Target(kind="redis", name="staging-cache", url=url, timeout=2),
                ],
            ),
        },
        source="test",
    )


async def swept(app: TriageApp, pilot) -> MainScreen:  # type: ignore[no-untyped-def]
    screen = app.main_screen()
    assert screen is not None
    await wait_until(pilot, lambda: app.library is not None and screen.selected is not None)
    await wait_for_group(app, "sweep")
    await pilot.pause()
    return screen


async def test_problems_rank_failures_and_open_the_walkthrough(
    redis_server: RedisServer,
) -> None:
    redis_server.fill_to_maxmemory("2mb")
    app = TriageApp(two_environments(redis_server.url))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await swept(app, pilot)
        await pilot.press("u")  # a sweep after the library has loaded ranks runbooks too
        await wait_for_group(app, "sweep")
        await pilot.pause()
        problems = screen.problems
        assert problems[0].origin == "redis.memory" and problems[0].target == "cache"
        assert problems[0].suggestions[0].runbook.id == "redis-out-of-memory"
        assert {p.target for p in problems if p.origin == "redis.ping"} == {"sessions"}
        assert f"{len(problems)} problems (p)" in screen.sub_title

        await pilot.press("p")
        assert isinstance(app.screen, ProblemsScreen)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, Walkthrough))
        walkthrough = app.screen
        assert isinstance(walkthrough, Walkthrough)
        await wait_until(pilot, lambda: walkthrough.diagnosis is not None)
        assert walkthrough.runbook is not None
        assert walkthrough.runbook.id == "redis-out-of-memory"
        assert walkthrough.diagnosis is not None
        assert walkthrough.diagnosis.params["cache"] == "cache"


async def test_the_palette_finds_a_service_and_goes_there(redis_server: RedisServer) -> None:
    app = TriageApp(two_environments(redis_server.url))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await swept(app, pilot)
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"Service: sessions")
        await wait_until(
            pilot,
            lambda: app.screen.query_one("CommandList", OptionList).option_count > 0,
        )
        await pilot.press("enter")
        await wait_until(
            pilot, lambda: screen.selected is not None and screen.selected.id == "redis:sessions"
        )


async def test_slash_filters_the_tree(redis_server: RedisServer) -> None:
    app = TriageApp(two_environments(redis_server.url))
    async with app.run_test(size=(100, 30)) as pilot:
        await swept(app, pilot)
        tree = app.query_one(ServiceTree)
        assert tree.node_by_id("redis:sessions") is not None
        await pilot.press("slash", *"sess")
        assert tree.node_by_id("redis:cache") is None
        assert tree.node_by_id("redis:sessions") is not None
        await pilot.press("ctrl+a", "ctrl+k", "enter")  # clear it
        assert tree.node_by_id("redis:cache") is not None


async def test_the_filter_hands_the_keys_to_the_tree_and_escape_clears_it(
    redis_server: RedisServer,
) -> None:
    app = TriageApp(two_environments(redis_server.url))
    async with app.run_test(size=(100, 30)) as pilot:
        await swept(app, pilot)
        tree = app.query_one(ServiceTree)
        box = app.screen.query_one("#tree-filter", Input)
        await pilot.press("slash", *"sess", "down")  # Down: the filter stays, the tree moves
        assert app.focused is tree and box.display and box.value == "sess"
        assert tree.node_by_id("redis:cache") is None
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen.selected.id == "redis:sessions")
        await pilot.press("slash")
        assert app.focused is box
        await pilot.press("escape")  # Escape: cleared and closed, the cursor stays put
        assert app.focused is tree and not box.display and box.value == ""
        assert tree.node_by_id("redis:cache") is not None
        assert tree.cursor_node is not None and tree.cursor_node.data.id == "redis:sessions"
        await pilot.press("up", "enter")  # the keys move the tree's cursor, not the filter's
        await wait_until(pilot, lambda: app.screen.selected.id != "redis:sessions")


async def test_switching_environment_from_the_keyboard(redis_server: RedisServer) -> None:
    app = TriageApp(two_environments(redis_server.url))
    async with app.run_test(size=(100, 30)) as pilot:
        await swept(app, pilot)
        await pilot.press("E")
        assert isinstance(app.screen, EnvironmentPicker)
        await pilot.press("down", "enter")
        await wait_until(
            pilot,
            lambda: isinstance(app.screen, MainScreen) and app.screen.live.name == "staging",
        )
        main = app.screen
        assert isinstance(main, MainScreen)
        await wait_until(pilot, lambda: main.selected is not None)
        assert main.selected is not None and main.selected.id == "redis:staging-cache"
        assert "read-only" in main.sub_title
        assert app.live.name == "staging"


async def test_keys_are_remapped_from_the_settings(redis_server: RedisServer) -> None:
    app = TriageApp(two_environments(redis_server.url, keys={"app.problems": "ctrl+o"}))
    async with app.run_test(size=(100, 30)) as pilot:
        await swept(app, pilot)
        await pilot.press("p")
        assert not isinstance(app.screen, ProblemsScreen)
        await pilot.press("ctrl+o")
        assert isinstance(app.screen, ProblemsScreen)
