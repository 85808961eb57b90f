"""Under a flood the log view keeps and counts every line at once, but follows them at most once
a frame; keys in the pane go before the next batch."""

from __future__ import annotations

from tests.tui.conftest import wait_until
from tests.tui.test_log_view import LogApp, numbered
from tui.widgets.log_tail import LogTail
from tui.widgets.log_view import FRAME_SECONDS


async def test_batches_within_a_frame_are_kept_at_once_and_followed_when_it_ends() -> None:
    app = LogApp(max_lines=1_000)
    async with app.run_test(size=(80, 24)) as pilot:
        tail = app.query_one(LogTail)
        view = tail.view
        await pilot.pause(FRAME_SECONDS * 2)
        tail.append(numbered(100))
        tail.append(numbered(1_000, 100), dropped=5)  # within the same frame
        assert (view.buffered, view.dropped, view.line_count) == (1_000, 105, 1_000)
        assert view.visible_lines()[-1].text == "line 1099"
        # When the frame ends (later on a busy machine) the view follows the newest line.
        await wait_until(pilot, lambda: tail.border_subtitle == "following · 105 dropped")
        await wait_until(pilot, lambda: view.scroll_y == view.max_scroll_y > 0)


async def test_pausing_within_a_frame_puts_the_cursor_on_the_newest_line_shown() -> None:
    app = LogApp(max_lines=1_000)
    async with app.run_test(size=(80, 24)) as pilot:
        tail = app.query_one(LogTail)
        view = tail.view
        await pilot.pause(FRAME_SECONDS * 2)
        tail.append(numbered(10))
        tail.append(numbered(200, 10))  # its refit is put off
        await pilot.press("up")  # pauses: the cursor goes on the bottom row
        assert not view.following
        assert view.cursor_line is not None and view.cursor_line.text == "line 209"


async def test_a_key_in_the_pane_goes_before_new_lines() -> None:
    app = LogApp(max_lines=1_000)
    async with app.run_test(size=(80, 24)) as pilot:
        tail = app.query_one(LogTail)
        assert tail.key_first() == 0
        await pilot.press("t")  # timestamps off: a key the pane handles
        assert tail.key_first() > 0
        assert not tail.view.show_timestamps
