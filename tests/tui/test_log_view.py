"""The log view under a flood, and each thing an operator does with it: behaviour, then pictures."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.segment import Segment
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Static

import tui
from providers.contract import FOLLOWING, LogLine
from tests.tui.conftest import wait_until
from tui.widgets.key_footer import KeyFooter
from tui.widgets.log_tail import LogTail
from tui.widgets.log_view import LogView

BASE = datetime(2026, 11, 22, 9, 30, 0, tzinfo=UTC)


def line(second: float, text: str, level: str = "info", source: str = "api") -> LogLine:
    return LogLine(BASE + timedelta(seconds=second), source, level, text)


class LogApp(App[None]):
    """The log pane alone, styled by the app's stylesheet."""

    CSS_PATH = str(Path(tui.__file__).parent / "app.tcss")

    def __init__(self, lines: list[LogLine] | None = None, *, max_lines: int = 1_000) -> None:
        super().__init__()
        self.lines = lines or []
        self.max_lines = max_lines

    def compose(self) -> ComposeResult:
        yield LogTail(max_lines=self.max_lines, id="log-tail")
        yield KeyFooter()

    def on_mount(self) -> None:
        tail = self.query_one(LogTail)
        tail.start("api", available=True)
        tail.clock = lambda: BASE + timedelta(minutes=10)
        tail.append(self.lines)
        tail.view.focus()


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Times shown in UTC, so rendered rows and snapshots are the same everywhere."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def strips(view: LogView) -> list[list[Segment]]:
    return [list(view.render_line(y)) for y in range(view.scrollable_content_region.height)]


def rows(view: LogView) -> list[str]:
    """The rows on screen as text, trailing blanks removed."""
    return ["".join(s.text for s in strip).rstrip() for strip in strips(view)]


def texts(view: LogView) -> list[str]:
    """The raw text of each shown line."""
    return [shown.text for shown in view.visible_lines()]


def numbered(count: int, start: int = 0) -> list[LogLine]:
    return [line(i, f"line {i}") for i in range(start, start + count)]


async def type_prompt(pilot: Pilot[None], key: str, text: str) -> None:
    await pilot.press(key)
    await pilot.pause()
    prompt = pilot.app.query_one("#log-input")
    prompt.value = text  # type: ignore[attr-defined]
    await pilot.press("enter")
    await pilot.pause()


async def test_a_flood_keeps_max_lines_and_counts_what_it_dropped() -> None:
    app = LogApp(max_lines=10_000)
    async with app.run_test(size=(80, 24)) as pilot:
        tail = app.query_one(LogTail)
        for start in range(0, 100_000, 5_000):
            tail.append(numbered(5_000, start))
        await pilot.pause()
        view = tail.view
        assert (view.buffered, view.line_count, view.dropped) == (10_000, 10_000, 90_000)
        assert view.visible_lines()[0].text == "line 90000"
        assert view.visible_lines()[-1].text == "line 99999"
        assert tail.border_subtitle == "following · 90,000 dropped"
        assert [row for row in rows(view) if row][-1].endswith("INFO  line 99999")


async def test_pausing_keeps_the_view_still_and_counts_new_lines() -> None:
    app = LogApp(numbered(100), max_lines=120)
    async with app.run_test(size=(80, 24)) as pilot:
        tail = app.query_one(LogTail)
        view = tail.view
        assert tail.toggle_follow() is False
        await pilot.pause()
        before_rows, before_y = rows(view), view.scroll_y
        assert tail.border_subtitle == "paused"
        assert view.cursor_line is not None and view.cursor_line.text == "line 99"

        tail.append(numbered(30, start=100))  # 10 of the oldest lines leave the buffer
        # The view follows a batch at most once a frame: the title comes with that frame.
        await wait_until(pilot, lambda: "new" in str(tail.border_subtitle))
        assert rows(view) == before_rows
        assert view.scroll_y == before_y - 10
        assert view.new_since_pause == 30 and view.dropped == 10
        assert tail.border_subtitle == "paused · 30 new · 10 dropped"

        await pilot.press("up", "up")
        assert view.cursor_line is not None and view.cursor_line.text == "line 97"
        await pilot.press("end")
        await pilot.pause()
        assert view.following and tail.border_subtitle == "following · 10 dropped"
        assert [row for row in rows(view) if row][-1].endswith("line 129")
        await pilot.press("up")  # the first up pauses, the cursor on the bottom line
        assert not view.following and view.cursor_line == view.visible_lines()[-1]
        await pilot.press("up", "home")
        assert view.cursor_line == view.visible_lines()[0]


LEVELLED = [
    line(0, "GET /health 200", "info"),
    line(1, "upstream timeout after 30s", "error"),
    line(2, "GET /orders 200", "info"),
    line(3, "retrying: Timeout talking to db", "warn"),
    line(4, "GET /orders 500", "error"),
]


async def test_the_pane_says_when_its_stream_stopped_and_when_it_follows_again() -> None:
    app = LogApp(numbered(10))
    async with app.run_test(size=(80, 24)) as pilot:
        tail = app.query_one(LogTail)
        assert tail.border_subtitle == "following"
        ended = replace(
            line(20, "api stopped: container killed by SIGKILL (137)", "error"),
            state="stopped: container killed by SIGKILL (137)",
        )
        tail.append([ended])
        await wait_until(pilot, lambda: "stopped" in str(tail.border_subtitle))
        assert tail.border_subtitle == "stopped: container killed by SIGKILL (137)"
        assert tail.view.visible_lines()[-1] == ended  # the line that says so is in the log too

        tail.toggle_follow()  # paused: both are said
        await pilot.pause()
        assert tail.border_subtitle == "paused · stopped: container killed by SIGKILL (137)"
        tail.toggle_follow()
        tail.append([replace(line(30, "api started again: following its log"), state=FOLLOWING)])
        await wait_until(pilot, lambda: tail.border_subtitle == "following")

        tail.append([ended])
        await wait_until(pilot, lambda: "stopped" in str(tail.border_subtitle))
        tail.start("worker", available=True)  # another node: its own stream, following
        await pilot.pause()
        assert tail.border_subtitle == "following"


async def test_filter_by_text_regex_and_inverse() -> None:
    app = LogApp(LEVELLED)
    async with app.run_test(size=(80, 24)) as pilot:
        tail = app.query_one(LogTail)
        view = tail.view
        await type_prompt(pilot, "backslash", "timeout")
        assert texts(view) == [LEVELLED[1].text, LEVELLED[3].text]
        assert rows(view)[:3] == [
            "09:30:01 ERROR upstream timeout after 30s",
            "09:30:03 WARN  retrying: Timeout talking to db",
            "",
        ]
        assert tail.border_subtitle == "following · “timeout”"
        assert app.focused is view

        await pilot.press("v")
        assert texts(view) == [LEVELLED[0].text, LEVELLED[2].text, LEVELLED[4].text]
        assert tail.border_subtitle == "following · not “timeout”"

        await type_prompt(pilot, "ctrl+f", r"/^GET /\w+ 5\d\d$/")
        assert view.visible_texts() == ["09:30:04 ERROR GET /orders 500"]
        await type_prompt(pilot, "ctrl+f", "!/GET/")
        assert texts(view) == [LEVELLED[1].text, LEVELLED[3].text]
        await type_prompt(pilot, "ctrl+f", "error")  # the level word matches too
        assert [x.level for x in view.visible_lines()] == ["error", "error"]


async def test_an_invalid_regex_says_so_and_keeps_the_previous_filter() -> None:
    app = LogApp(LEVELLED)
    async with app.run_test(size=(80, 24)) as pilot:
        tail = app.query_one(LogTail)
        await type_prompt(pilot, "backslash", "orders")
        assert tail.view.line_count == 2
        await type_prompt(pilot, "backslash", "/[unclosed/")
        error = app.query_one("#log-prompt-error", Static)
        assert error.display and "Invalid regex: unterminated character set" in str(error.render())
        assert tail.filter_text == "orders" and tail.view.line_count == 2
        assert tail.prompting
        await pilot.press("escape")
        assert not tail.prompting and not error.display
        assert app.focused is tail.view


async def test_time_window_cycles_slides_and_starts_at_a_typed_time() -> None:
    lines = [line(minute * 60, f"minute {minute}") for minute in range(10)]
    app = LogApp(lines)  # the clock says 09:40:00
    async with app.run_test(size=(80, 24)) as pilot:
        tail = app.query_one(LogTail)
        view = tail.view
        await pilot.press("m")
        assert tail.window_label == "last 1m"
        assert view.visible_texts() == ["09:39:00 INFO  minute 9"]
        assert tail.sliding
        await pilot.press("m")
        assert texts(view) == [f"minute {m}" for m in range(5, 10)]
        assert tail.border_subtitle == "following · last 5m"
        await pilot.press("m", "m", "m")
        assert tail.window_label == "all" and view.line_count == 10
        assert not tail.sliding  # nothing leaves "all": its timer sleeps

        await type_prompt(pilot, "M", "09:37")
        assert texts(view) == ["minute 7", "minute 8", "minute 9"]
        assert tail.border_subtitle == "following · since 09:37:00"
        await type_prompt(pilot, "M", "9 o'clock")
        assert "Not a time" in str(app.query_one("#log-prompt-error", Static).render())
        assert view.line_count == 3

        tail.set_window(2)  # last 5m; two minutes later, the one-second timer slides it
        tail.clock = lambda: BASE + timedelta(minutes=12)
        await wait_until(pilot, lambda: texts(view) == ["minute 7", "minute 8", "minute 9"])
        assert tail.sliding


NEEDLES = [line(i, "needle in here" if i in (3, 10, 17) else f"hay {i}") for i in range(20)]


async def test_search_moves_to_matches_and_highlights_them() -> None:
    app = LogApp(NEEDLES)
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(LogView)
        await type_prompt(pilot, "slash", "needle")
        seconds = []
        for key in ("n", "N", "N", "N", "n"):
            seconds.append(view.cursor_line.time.second)  # type: ignore[union-attr]
            await pilot.press(key)
        seconds.append(view.cursor_line.time.second)  # type: ignore[union-attr]
        assert seconds == [17, 3, 17, 10, 3, 10]  # the nearest above, then forward and back
        assert not view.following
        underlined = [s.text for strip in strips(view) for s in strip if s.style.underline]  # type: ignore[union-attr]
        assert underlined == ["needle", "needle", "needle"]
        cursor_row = rows(view).index("09:30:10 INFO  needle in here")
        cursor_bg = strips(view)[cursor_row][0].style.bgcolor  # type: ignore[union-attr]
        assert cursor_bg != strips(view)[0][0].style.bgcolor  # type: ignore[union-attr]

        await pilot.press("escape")
        assert view.search_pattern is None
        assert not [s for strip in strips(view) for s in strip if s.style.underline]  # type: ignore[union-attr]


async def test_timestamps_and_wrap_change_the_rendering() -> None:
    long = "x" * 150
    app = LogApp([line(0, "short"), line(1, long)])
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(LogView)
        width = view.scrollable_content_region.width
        assert rows(view)[:2] == ["09:30:00 INFO  short", f"09:30:01 INFO  {long}"[:width]]
        await pilot.press("t")
        assert rows(view)[:2] == ["INFO  short", f"INFO  {long}"[:width]]
        await pilot.press("W")
        assert view.wrap and view.virtual_size.height == 4
        wrapped = f"INFO  {long}"
        chunks = [wrapped[:width], wrapped[width : 2 * width], wrapped[2 * width :]]
        assert rows(view)[:5] == ["INFO  short", *chunks, ""]
        await pilot.press("W", "t")
        assert view.virtual_size.height == 2 and rows(view)[0] == "09:30:00 INFO  short"


async def test_sources_merge_in_time_order_with_a_source_column() -> None:
    app = LogApp([line(0, "booting", source="api")])
    async with app.run_test(size=(80, 24)) as pilot:
        tail = app.query_one(LogTail)
        tail.append([line(0, "api first")])
        assert rows(tail.view)[1] == "09:30:00 INFO  api first"  # one source: no column
        batch = [line(3, "consumer lag 120", "warn", "worker-2"), line(1, "accepted order 7")]
        tail.append([*batch, line(2, "picked order 7", source="worker-2")])  # out of order
        tail.append([line(2.5, "late: charged order 7", source="billing")])
        await pilot.pause()
        assert rows(tail.view)[:6] == [
            "09:30:00 api      INFO  booting",
            "09:30:00 api      INFO  api first",
            "09:30:01 api      INFO  accepted order 7",
            "09:30:02 worker-2 INFO  picked order 7",
            "09:30:02 billing  INFO  late: charged order 7",
            "09:30:03 worker-2 WARN  consumer lag 120",
        ]


PAYMENT = {"ts": "2026-11-22T09:30:05Z", "level": "error", "msg": "payment failed"}
JSON_LINE = json.dumps({**PAYMENT, "order": 42, "user": "ann lee", "retry": True})


async def test_json_lines_read_as_level_message_and_fields() -> None:
    app = LogApp(
        [
            line(5, JSON_LINE, level="info"),
            line(6, '{"severity": "WARNING", "message": "slow", "ms": 812}'),
            line(7, '{"lvl": 50, "msg": "pino says"}'),
            line(8, '{"not": "closed"'),
        ]
    )
    async with app.run_test(size=(80, 24)):
        view = app.query_one(LogView)
        assert view.visible_texts() == [
            '09:30:05 ERROR payment failed order=42 user="ann lee" retry=true',
            "09:30:06 WARN  slow ms=812",
            "09:30:07 ERROR pino says",
            '09:30:08 INFO  {"not": "closed"',
        ]
        assert view.visible_lines()[0].text == JSON_LINE  # the raw line is kept


HOSTILE = [
    line(0, "clipboard \x1b]52;c;ZXZpbA==\x07 grab"),
    line(1, "clear \x1b[2J\x1b[H screen"),
    line(2, "title \x1b]0;pwned\x07 change", level="\x1b[31merror"),
    line(3, "c1 \x9b31m csi and bell \x07 and nul \x00"),
    line(4, json.dumps({"msg": "json \x1b]52;c;ZXZpbA==\x07 hides", "k\x1b[2J": "\x1b]0;t\x07"})),
    line(5, "x" * 100 + "\x1b]52;c;" + "A" * 40 + "\x07", source="other\x1b[2J"),
]


async def test_escape_sequences_never_reach_a_rendered_segment() -> None:
    app = LogApp(HOSTILE)
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(LogView)

        def assert_clean() -> None:
            texts = [segment.text for strip in strips(view) for segment in strip]
            assert any("clipboard" in text for text in texts)
            for text in texts:
                assert not any(char in text for char in "\x1b\x07\x9b\x00"), repr(text)

        assert_clean()
        await type_prompt(pilot, "slash", "/\\w+/")
        assert_clean()
        await pilot.press("W")
        assert_clean()
        assert "clear  screen" in "".join(rows(view))


SCENE = [
    line(0, "GET /health 200 in 2ms"),
    line(1, "upstream timeout after 30s talking to payments", "error"),
    line(2, "GET /orders 200 in 31ms"),
    line(3, json.dumps({"level": "warn", "msg": "retry timeout", "attempt": 2, "of": 3})),
    line(4, "cache miss for tenant:42", "debug"),
    line(5, "GET /orders 500 in 30012ms: timeout", "error"),
    line(6, "worker picked order 7", source="worker-2"),
    line(7, "payments recovered", "info", source="worker-2"),
]


class TestLogViewPictures:
    @pytest.mark.parametrize("size", [(80, 24), (120, 40)])
    def test_with_a_filter(self, snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
        async def filtered(pilot: Pilot[None]) -> None:
            await type_prompt(pilot, "backslash", "timeout")
            view = pilot.app.query_one(LogView)
            assert view.line_count == 3 and view.following

        assert snap_compare(LogApp(SCENE), terminal_size=size, run_before=filtered)

    @pytest.mark.parametrize("size", [(80, 24), (120, 40)])
    def test_with_search_highlight(self, snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
        async def searched(pilot: Pilot[None]) -> None:
            await type_prompt(pilot, "slash", "order")
            await pilot.press("N", "N")
            view = pilot.app.query_one(LogView)
            assert view.cursor_line == SCENE[2]

        assert snap_compare(LogApp(SCENE), terminal_size=size, run_before=searched)


async def test_the_newest_line_stays_in_sight_when_a_wide_line_brings_the_scrollbar() -> None:
    """Following a pane of short lines, a line wider than the pane adds a horizontal
    scrollbar, which takes a row: the view follows to the new bottom, the newest line shown."""
    app = LogApp(numbered(40))
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(LogView)
        await wait_until(pilot, lambda: view.line_count == 40, state=view.line_count)
        wide = line(41, "the newest line, wider than the pane " + "x" * 120)
        app.query_one(LogTail).append([wide])
        await wait_until(
            pilot, lambda: view.horizontal_scrollbar.display, state=lambda: view.virtual_size
        )
        # The scroll to the new bottom follows the layout that brought the bar, a frame later.
        await wait_until(
            pilot,
            lambda: (
                view.scroll_y == view.max_scroll_y
                and any("the newest line" in row for row in rows(view))
            ),
            state=lambda: (view.scroll_y, view.max_scroll_y, rows(view)[-3:]),
        )
        assert view.following


async def test_lines_that_arrive_after_a_filter_is_set_are_filtered_too() -> None:
    app = LogApp([line(0, "GET /health 200"), line(1, "ERROR payment declined")])
    async with app.run_test(size=(100, 30)) as pilot:
        tail, view = app.query_one(LogTail), app.query_one(LogView)
        await wait_until(pilot, lambda: len(texts(view)) == 2, state=lambda: texts(view))
        tail.set_filter(re.compile("ERROR"), "ERROR", inverse=False)
        assert texts(view) == ["ERROR payment declined"]
        tail.append([line(2, "GET /health 200"), line(3, "ERROR card expired")])
        wanted = ["ERROR payment declined", "ERROR card expired"]
        await wait_until(pilot, lambda: texts(view) == wanted, state=lambda: texts(view))
        tail.set_filter(re.compile("ERROR"), "ERROR", inverse=True)
        tail.append([line(4, "ERROR timeout"), line(5, "GET / 200")])
        wanted = ["GET /health 200", "GET /health 200", "GET / 200"]
        await wait_until(pilot, lambda: texts(view) == wanted, state=lambda: texts(view))
