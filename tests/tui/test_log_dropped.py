"""Lines the stream lost upstream (its reader fell behind) count with those the pane let go."""

from __future__ import annotations

from tests.tui.conftest import wait_until
from tests.tui.test_log_view import LogApp, numbered
from tui.widgets.log_tail import LogTail


async def test_lines_lost_upstream_add_to_the_dropped_count_the_pane_shows() -> None:
    app = LogApp(max_lines=10_000)
    async with app.run_test(size=(80, 24)) as pilot:
        tail = app.query_one(LogTail)
        tail.append(numbered(5_000))
        tail.append(numbered(3_000, 8_000), dropped=3_000)  # lines 5000-7999 never arrived
        view = tail.view
        assert (view.buffered, view.dropped) == (8_000, 3_000)  # counted at once
        # The title follows with the next frame (a fifteenth of a second later, more when busy).
        await wait_until(pilot, lambda: tail.border_subtitle == "following · 3,000 dropped")
        tail.append(numbered(5_000, 11_000))  # the buffer is full: the oldest 3,000 go too
        tail.append([], dropped=7)
        assert (view.buffered, view.dropped) == (10_000, 6_007)
        await wait_until(pilot, lambda: tail.border_subtitle == "following · 6,007 dropped")
        assert view.visible_lines()[0].text == "line 3000"
        # Every line written is shown or counted: 16,007 written, 10,000 kept.
        assert view.buffered + view.dropped == 5_000 + 3_000 + 3_000 + 5_000 + 7
