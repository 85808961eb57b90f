"""What a refresh redraws when little changed: over SSH every redrawn cell costs bytes."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.widget import Widget

from providers.contract import CheckCall, CheckResult, CheckStatus
from tests.tui.conftest import wait_until
from tests.tui.test_log_view import LogApp, numbered
from tui.trends import TREND_FACTS
from tui.widgets.check_results import CheckResults, CheckTable
from tui.widgets.key_footer import KeyFooter
from tui.widgets.log_tail import LogTail
from tui.widgets.trends import TrendLine, Trends


class ChecksApp(App[None]):
    def compose(self) -> ComposeResult:
        yield CheckResults(id="check-results")


def result(check: str, summary: str, status: CheckStatus = CheckStatus.PASS) -> CheckResult:
    return CheckResult(check=check, target="cache", status=status, summary=summary)


async def test_a_changed_summary_redraws_its_row_only(monkeypatch: pytest.MonkeyPatch) -> None:
    app = ChecksApp()
    async with app.run_test(size=(100, 30)) as pilot:
        checks = app.query_one(CheckResults)
        checks.begin("cache", (CheckCall("redis.ping"), CheckCall("redis.clients")))
        checks.record(result("redis.ping", "PONG in under 20 ms"))
        checks.record(result("redis.clients", "9 of 10000 clients"))
        await pilot.pause()
        table = app.query_one(CheckTable)
        refreshed: list[tuple[Region, ...]] = []
        plain_refresh = Widget.refresh

        def spy(widget: Widget, *regions: Region, **options: bool) -> Widget:
            if widget is table:  # what reaches Textual, after the table had its say
                refreshed.append(regions)
            return plain_refresh(widget, *regions, **options)

        monkeypatch.setattr(Widget, "refresh", spy)
        checks.record(result("redis.clients", "8 of 10000 clients"))
        await pilot.pause()

        assert table.get_cell("redis.clients", "summary") == "8 of 10000 clients"
        assert refreshed, "the changed cell was not redrawn"
        assert all(regions for regions in refreshed), "the whole table was redrawn"
        clients_row = table.get_row_index("redis.clients")
        assert all(region.y == clients_row + 1 for r in refreshed for region in r)  # +header

        refreshed.clear()
        checks.record(result("redis.ping", "PONG in under 20 ms"))  # the same text
        await pilot.pause()
        assert refreshed == []


async def test_a_trend_row_takes_its_place_with_the_first_sample_and_keeps_it() -> None:
    clients = next(trend for trend in TREND_FACTS if trend.label == "clients")
    app = ChecksApp()
    async with app.run_test(size=(100, 30)) as pilot:
        trends = app.query_one(Trends)
        table = app.query_one(CheckTable)
        trends.show([(clients, [8.0])])
        await pilot.pause()
        assert trends.display and trends.query_one("#trend-0").display
        line = trends.query_one("#trend-0 TrendLine", TrendLine)
        assert line.levels == ()  # one sample draws no line yet
        height = table.size.height

        series = [8.0]
        for value in (9.0, 8.0, 9.0, 9.0):
            series.append(value)
            trends.show([(clients, list(series))])
            await pilot.pause()
            assert table.size.height == height  # the layout did not move
        assert line.levels == (14, 16, 14, 16, 16)
        assert str(line.render()).startswith("▇")


async def test_opening_and_closing_the_log_prompt_lays_nothing_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = LogApp(numbered(30), max_lines=100)
    async with app.run_test(size=(80, 24)) as pilot:
        tail = app.query_one(LogTail)
        tail.view.focus()
        await pilot.pause()
        view_height = tail.view.size.height
        laid_out: list[str] = []
        plain_refresh = Widget.refresh

        def spy(widget: Widget, *regions: Region, **options: bool) -> Widget:
            if options.get("layout"):
                laid_out.append(type(widget).__name__)
            return plain_refresh(widget, *regions, **options)

        monkeypatch.setattr(Widget, "refresh", spy)
        await pilot.press("backslash")
        await pilot.pause()
        assert tail.prompting and app.focused is tail.query_one("#log-input")
        await pilot.press("escape")
        await pilot.pause()
        assert not tail.prompting and app.focused is tail.view
        assert laid_out == []  # the prompt line was there all along
        assert tail.view.size.height == view_height


async def test_the_footer_shows_the_keys_that_work_and_a_click_presses_one() -> None:
    app = LogApp(numbered(30), max_lines=100)
    async with app.run_test(size=(100, 24)) as pilot:
        tail = app.query_one(LogTail)
        footer = app.query_one(KeyFooter)
        tail.view.focus()
        await pilot.pause()
        assert "\\ Filter" in footer.shown.plain and "Search" in footer.shown.plain
        assert footer.shown.plain.count("Filter") == 1  # \ and ctrl+f: one hint
        await pilot.click(KeyFooter, offset=(2, 0))  # the first hint: \ Filter
        await wait_until(pilot, lambda: tail.prompting)
        assert "Filter" not in footer.shown.plain  # typed into the prompt now
