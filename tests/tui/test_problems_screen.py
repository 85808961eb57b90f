"""The problems list refills in place when the runbooks arrive, whenever that is: before the
list is mounted (the library landing as `p` is pressed) or while the operator reads it."""

from __future__ import annotations

from textual.app import App
from textual.widgets import Label, OptionList

from tui.problems import Problem
from tui.screens.problems import ProblemsScreen


def problem(name: str) -> Problem:
    return Problem(
        node_id=f"redis:{name}",
        target=name,
        origin="redis.ping",
        text=f"redis.ping: {name} refused",
        severity=1,
        suggestions=(),
    )


async def test_problems_given_before_the_list_is_mounted_are_the_ones_it_shows() -> None:
    app: App[None] = App()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = ProblemsScreen([problem("cache")])
        screen.show_problems([problem("cache"), problem("sessions")])  # not mounted yet
        await app.push_screen(screen)
        await pilot.pause()
        listed = screen.query_one(OptionList)
        assert listed.option_count == 2 and listed.highlighted == 0
        assert str(screen.query_one("#problems-count", Label).content) == "Problems right now: 2"


async def test_a_refill_keeps_the_operators_place() -> None:
    app: App[None] = App()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = ProblemsScreen([problem("cache"), problem("sessions")])
        await app.push_screen(screen)
        await pilot.pause()
        await pilot.press("down")
        listed = screen.query_one(OptionList)
        assert listed.highlighted == 1

        screen.show_problems([problem("cache"), problem("sessions"), problem("queue")])
        await pilot.pause()
        assert listed.option_count == 3 and listed.highlighted == 1
        screen.show_problems([problem("cache")])
        await pilot.pause()
        assert listed.option_count == 1 and listed.highlighted == 0
        screen.show_problems([])
        await pilot.pause()
        assert listed.option_count == 0
        assert str(screen.query_one("#problems-count", Label).content) == "No problems right now"
