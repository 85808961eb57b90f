"""Under a flood the log view keeps and counts every line at once, but follows them at most once
a frame; keys in the pane go before the next batch."""

from __future__ import annotations

import pytest

from tests.tui.conftest import wait_until
from tests.tui.test_log_view import LogApp, numbered
from tui.widgets import log_tail
from tui.widgets.focus_frame import FOCUSED
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


async def test_a_key_in_the_pane_goes_before_new_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    # Longer than a key and its frame take on a loaded machine: the window, not its length.
    monkeypatch.setattr(log_tail, "KEY_FIRST_SECONDS", 30.0)
    app = LogApp(max_lines=1_000)
    async with app.run_test(size=(80, 24)) as pilot:
        tail = app.query_one(LogTail)
        assert tail.key_first() == 0
        await pilot.press("t")  # timestamps off: a key the pane handles
        assert tail.key_first() > 0
        assert not tail.view.show_timestamps


async def test_a_batch_bigger_than_the_buffer_keeps_its_newest_lines_and_counts_the_rest() -> None:
    app = LogApp(max_lines=100)
    async with app.run_test(size=(80, 24)) as pilot:
        tail = app.query_one(LogTail)
        view = tail.view
        tail.append(numbered(50))
        tail.append(numbered(1_000, 50))  # 1,050 lines seen, 100 kept
        assert (view.buffered, view.dropped, view.line_count) == (100, 950, 100)
        assert view.visible_lines()[0].text == "line 950"
        assert view.visible_lines()[-1].text == "line 1049"
        tail.toggle_follow()  # paused: what arrives counts as new, kept or not
        tail.append(numbered(300, 1_050))
        assert view.dropped == 1_250 and view.new_since_pause == 300
        await wait_until(pilot, lambda: "1,250 dropped" in str(tail.border_subtitle))


async def test_a_key_holds_new_lines_back_until_its_frame_is_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(log_tail, "KEY_FRAME_SECONDS", 1.0)  # longer than a test's key takes
    app = LogApp(max_lines=1_000)
    async with app.run_test(size=(80, 24)) as pilot:
        tail = app.query_one(LogTail)
        view = tail.view
        await pilot.pause(FRAME_SECONDS * 2)
        tail.append(numbered(10))
        tail.view.focus()
        await pilot.press("backslash")  # the filter prompt opens: a key
        scroll_before = view.virtual_size.height
        tail.append(numbered(200, 10))  # kept and counted at once ...
        assert view.buffered == 210
        assert view.virtual_size.height == scroll_before  # ... drawn after the key's frame
        await wait_until(pilot, lambda: view.virtual_size.height == 210)


async def test_the_prompt_moving_the_focus_draws_no_line_again_but_a_new_theme_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = LogApp(max_lines=1_000)
    async with app.run_test(size=(80, 24)) as pilot:
        tail = app.query_one(LogTail)
        view = tail.view
        tail.append(numbered(50))
        view.focus()
        await wait_until(pilot, lambda: view.visible_lines()[-1].text == "line 49")
        await pilot.pause()
        drawn: list[str] = []
        text_of = view._text_of
        monkeypatch.setattr(view, "_text_of", lambda line: drawn.append(line.text) or text_of(line))

        await pilot.press("backslash")  # the filter prompt takes the focus from the view
        await pilot.pause()
        await pilot.press("escape")  # and gives it back
        await pilot.pause()
        assert drawn == []  # the lines on screen were drawn once, before

        app.theme = "textual-light" if app.theme != "textual-light" else "nord"
        await wait_until(pilot, lambda: "line 49" in drawn)  # drawn again in the new colours


async def test_the_pane_shows_the_focus_inside_it_and_keeps_it_while_the_prompt_is_open() -> None:
    app = LogApp(max_lines=1_000)
    async with app.run_test(size=(80, 24)) as pilot:
        tail = app.query_one(LogTail)
        await pilot.pause()
        assert tail.has_class(FOCUSED)  # the view has the focus
        frame = tail.styles.border_top
        await pilot.press("backslash")  # the prompt's input takes it, inside the pane
        await pilot.pause()
        assert app.focused is not tail.view and tail.has_class(FOCUSED)
        assert tail.styles.border_top == frame
        app.set_focus(None)
        await pilot.pause()
        assert not tail.has_class(FOCUSED)
        assert tail.styles.border_top != frame  # the border says it too
