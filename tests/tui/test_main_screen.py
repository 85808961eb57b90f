"""The main screen as an operator uses it, against real Redis servers."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from textual.message import Message

from providers.contract import CheckStatus, Health
from providers.inventory import Target
from tests.servers.process import free_port
from tests.servers.redis import RedisServer
from tests.tui.conftest import inventory_of, wait_for_group, wait_until
from tui.app import TriageApp
from tui.screens.main_screen import MainScreen
from tui.widgets.check_results import CheckResults
from tui.widgets.log_tail import LogTail
from tui.widgets.service_tree import ServiceTree

pytestmark = pytest.mark.integration


def redis_target(name: str, url: str) -> Target:
    # A healthy server answers at once and a dead port is refused at once: the timeout is
    # only what a loaded machine may take to answer, so it is generous.
    return Target(kind="redis", name=name, url=url, timeout=15)


async def test_first_target_is_selected_and_its_checks_and_status_show(
    redis_server: RedisServer,
) -> None:
    app = TriageApp(inventory_of(redis_target("cache", redis_server.url)))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        assert isinstance(screen, MainScreen)
        await wait_until(pilot, lambda: screen.selected is not None)
        await wait_for_group(app, "checks")
        await pilot.pause()

        results = app.query_one(CheckResults).results
        assert {name: result.status for name, result in results.items()} == {
            "redis.ping": CheckStatus.PASS,
            "redis.memory": CheckStatus.PASS,
            "redis.clients": CheckStatus.PASS,
            "redis.persistence": CheckStatus.PASS,
            "redis.replication": CheckStatus.PASS,
        }
        tree = app.query_one(ServiceTree)
        node = tree.node_by_id("redis:cache")
        assert node is not None and node.status.health is Health.OK
        assert str(tree.root.children[0].label).startswith(f"● ok cache ({redis_server.address})")
        assert screen.sub_title == "local · test"


async def test_keyboard_selects_a_dead_target_and_shows_why(redis_server: RedisServer) -> None:
    port = free_port()
    app = TriageApp(
        inventory_of(
            redis_target("cache", redis_server.url),
            redis_target("sessions", f"redis://127.0.0.1:{port}/0"),
        )
    )
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        assert isinstance(screen, MainScreen)
        tree = app.query_one(ServiceTree)
        # Targets show as they answer (the dead one may come first), in the inventory's order.
        await wait_until(
            pilot,
            lambda: all(tree.node_by_id(f"redis:{n}") for n in ("cache", "sessions")),
        )
        await wait_for_group(app, "checks")

        dead = tree.node_by_id("redis:sessions")
        assert dead is not None and dead.status.health is Health.FAILING
        assert dead.status.reason == f"127.0.0.1:{port}: connection refused"

        tree.focus()
        tree.move_cursor(tree.root.children[1])
        await pilot.press("enter")
        await wait_until(pilot, lambda: screen.selected is not None and screen.selected == dead)
        await wait_for_group(app, "checks")
        await pilot.pause()

        results = app.query_one(CheckResults).results
        assert {result.status for result in results.values()} == {CheckStatus.ERROR}
        assert {result.summary for result in results.values()} == {
            f"127.0.0.1:{port}: connection refused"
        }


async def test_slow_log_lines_appear_in_the_log_pane(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("providers.redis_slowlog.SLOWLOG_POLL_SECONDS", 0.05)
    client = redis_server.client()
    client.config_set("slowlog-log-slower-than", 0)
    app = TriageApp(inventory_of(redis_target("cache", redis_server.url)))
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.query_one(LogTail).view
        await wait_until(
            pilot, lambda: any("following the slow log" in x for x in view.visible_texts())
        )
        client.set("tenant:42:oauth:token", "\x1b]52;c;ZXZpbA==\x07value")
        await wait_until(
            pilot, lambda: any("tenant:42:oauth:token" in x for x in view.visible_texts())
        )
        line = next(x for x in view.visible_texts() if "tenant:42:oauth:token" in x)
        assert "\x1b" not in line and "\x07" not in line
        assert "SET tenant:42:oauth:token" in line


async def test_follow_toggles_and_r_reruns_checks(redis_server: RedisServer) -> None:
    app = TriageApp(inventory_of(redis_target("cache", redis_server.url)))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        assert isinstance(screen, MainScreen)
        await wait_until(pilot, lambda: screen.selected is not None)
        await wait_for_group(app, "checks")
        await pilot.pause()
        checks = app.query_one(CheckResults)
        first = checks.results["redis.ping"].started_at

        redis_server.fill_to_maxmemory()
        await pilot.press("r")
        await wait_until(
            pilot,
            lambda: (
                "redis.memory" in checks.results
                and checks.results["redis.memory"].status is CheckStatus.FAIL
            ),
            state=lambda: {name: (r.status, r.summary) for name, r in checks.results.items()},
        )
        assert checks.results["redis.ping"].started_at > first

        tail = app.query_one(LogTail)
        await pilot.press("f")
        assert tail.following is False and tail.border_subtitle == "paused"
        await pilot.press("f")
        assert tail.following is True and tail.border_subtitle == "following"


async def test_status_refresh_picks_up_a_server_that_stopped(redis_server: RedisServer) -> None:
    app = TriageApp(inventory_of(redis_target("cache", redis_server.url)))
    async with app.run_test(size=(100, 30)) as pilot:
        tree = app.query_one(ServiceTree)
        await wait_until(pilot, lambda: tree.node_by_id("redis:cache") is not None)
        redis_server.stop()
        await pilot.press("u")
        await wait_until(
            pilot,
            lambda: tree.node_by_id("redis:cache").status.health is Health.FAILING,  # type: ignore[union-attr]
        )
        assert "failing cache" in str(tree.root.children[0].label)


async def test_q_quits() -> None:
    app = TriageApp(inventory_of())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("q")
    assert app.return_code == 0


async def test_refreshes_back_off_while_nothing_changes_and_a_key_restores_the_pace(
    redis_server: RedisServer,
) -> None:
    inventory = inventory_of(redis_target("cache", redis_server.url))
    inventory = inventory.model_copy(
        update={"settings": inventory.settings.model_copy(update={"refresh_interval": 0.2})}
    )
    app = TriageApp(inventory)
    # The pace as each sweep's result reaches the screen, before it is counted: a sweep that
    # ends while the key is pressed cannot hide what the key did.
    paces: list[tuple[int, float]] = []
    arrived: list[Message] = []  # (it bubbles on to the app: counted once)

    def note_pace(message: Message) -> None:
        if not isinstance(message, MainScreen.Swept) or any(m is message for m in arrived):
            return
        arrived.append(message)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        paces.append((screen.pacer.quiet_sweeps, screen.pacer.current_interval))

    async with app.run_test(size=(100, 30), message_hook=note_pace) as pilot:
        screen = app.screen
        assert isinstance(screen, MainScreen)
        # Sweeps at 0.2 s, 0.4 s, 0.8 s ... while the Redis says the same thing every time (a
        # loaded machine may make a PING slow now and then, which is a change: more time).
        await wait_until(
            pilot, lambda: screen.pacer.quiet_sweeps >= 2, timeout=30, state=lambda: paces
        )
        assert screen.pacer.current_interval >= 0.8
        assert screen.stale_seconds == 0  # a backed-off refresh is not stale data

        pressed = len(paces)
        await pilot.press("down")  # someone is at the keyboard: a sweep at once, at 0.2 s
        # The first sweep to end after the key found the configured pace (nothing changed in
        # the Redis: only the key can have brought it back).
        await wait_until(
            pilot, lambda: (0, 0.2) in paces[pressed:], timeout=30, state=lambda: paces[pressed:]
        )


async def test_a_check_rerun_after_the_sweep_is_what_the_problems_count(
    redis_server: RedisServer,
) -> None:
    """The sweep saw a slow PING; the selected node's own run, begun later, saw it answer at
    once: the check table shows the pass, and the problem count agrees with it."""
    app = TriageApp(inventory_of(redis_target("cache", redis_server.url)))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        assert isinstance(screen, MainScreen)
        await wait_until(pilot, lambda: screen._swept_kinds is not None)  # a sweep ended
        await wait_for_group(app, "checks")
        node = app.query_one(ServiceTree).node_by_id("redis:cache")
        assert node is not None
        ping = app.query_one(CheckResults).results["redis.ping"]
        slow = replace(
            ping,
            status=CheckStatus.WARN,
            summary="slow: PONG in 240 ms (over 100 ms)",
            started_at=ping.started_at + timedelta(seconds=1),
        )
        screen.post_message(MainScreen.Swept([node], [slow]))
        await wait_until(pilot, lambda: "1 problem (p)" in screen.sub_title)
        assert [problem.origin for problem in screen.problems] == ["redis.ping"]

        older = replace(ping, started_at=ping.started_at + timedelta(seconds=0.5))
        screen.post_message(MainScreen.CheckFinished(node.id, older))  # begun before the sweep
        await pilot.pause()
        assert "1 problem (p)" in screen.sub_title
        assert app.query_one(CheckResults).results["redis.ping"].status is CheckStatus.WARN

        rerun = replace(ping, started_at=ping.started_at + timedelta(seconds=2))
        screen.post_message(MainScreen.CheckFinished(node.id, rerun))
        await wait_until(pilot, lambda: screen.sub_title == "local · test")
        assert screen.problems == []
        assert app.query_one(CheckResults).results["redis.ping"].status is CheckStatus.PASS


async def test_the_end_of_a_sweep_does_not_put_back_an_older_tree(
    redis_server: RedisServer,
) -> None:
    """A change feed rediscovered a target after the sweep had shown it: the sweep's end keeps
    the newer tree (and labels nothing again)."""
    app = TriageApp(inventory_of(redis_target("cache", redis_server.url)))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        assert isinstance(screen, MainScreen)
        await wait_until(pilot, lambda: screen._swept_kinds is not None)  # a sweep ended
        tree = app.query_one(ServiceTree)
        swept = tree.node_by_id("redis:cache")
        assert swept is not None
        newer = replace(swept, status=replace(swept.status, reason="newer: from the change feed"))
        screen.post_message(MainScreen.TargetDiscovered(newer))
        screen.post_message(MainScreen.Swept([swept], []))
        await pilot.pause()
        shown = tree.node_by_id("redis:cache")
        assert shown is not None and shown.status.reason == "newer: from the change feed"
