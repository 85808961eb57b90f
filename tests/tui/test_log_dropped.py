"""Lines the stream lost upstream (its reader fell behind) count with those the pane let go."""

from __future__ import annotations

from tests.tui.test_log_view import LogApp, numbered
from tui.widgets.log_tail import LogTail
from tui.widgets.log_view import FRAME_SECONDS


async def test_lines_lost_upstream_add_to_the_dropped_count_the_pane_shows() -> None:
    app = LogApp(max_lines=10_000)
    async with app.run_test(size=(80, 24)) as pilot:
        tail = app.query_one(LogTail)
        tail.append(numbered(5_000))
        tail.append(numbered(3_000, 8_000), dropped=3_000)  # lines 5000-7999 never arrived
        await pilot.pause(FRAME_SECONDS * 2)
        view = tail.view
        assert (view.buffered, view.dropped) == (8_000, 3_000)
        assert tail.border_subtitle == "following · 3,000 dropped"
        tail.append(numbered(5_000, 11_000))  # the buffer is full: the oldest 3,000 go too
        tail.append([], dropped=7)
        await pilot.pause(FRAME_SECONDS * 2)  # a flood's title follows once a frame
        assert (view.buffered, view.dropped) == (10_000, 6_007)
        assert view.visible_lines()[0].text == "line 3000"
        assert tail.border_subtitle == "following · 6,007 dropped"
        # Every line written is shown or counted: 16,007 written, 10,000 kept.
        assert view.buffered + view.dropped == 5_000 + 3_000 + 3_000 + 5_000 + 7
