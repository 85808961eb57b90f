"""The log pane's exports: the filtered lines saved to a file, the cursor line copied."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tui.test_log_view import JSON_LINE, LEVELLED, LogApp, line, type_prompt
from tests.tui.test_log_view import utc as utc  # autouse: times shown in UTC here too
from tui.widgets.log_tail import LogTail


async def test_save_writes_the_filtered_lines_off_the_ui_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved: list[LogTail.Saved] = []
    notices: list[str] = []
    app = LogApp([*LEVELLED, line(9, JSON_LINE, "error")])

    def hook(message: object) -> None:
        if isinstance(message, LogTail.Saved) and all(m is not message for m in saved):
            saved.append(message)  # the hook sees the message at each node it bubbles to

    async with app.run_test(size=(80, 24), message_hook=hook) as pilot:
        app.query_one(LogTail).save_dir = tmp_path
        monkeypatch.setattr(app, "notify", lambda message, **_: notices.append(message))
        await type_prompt(pilot, "backslash", "error")
        await pilot.press("s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert len(saved) == 1 and saved[0].count == 3
        assert saved[0].path.parent == tmp_path
        assert saved[0].path.read_text().splitlines() == [
            "2026-11-22T09:30:01+00:00 api error upstream timeout after 30s",
            "2026-11-22T09:30:04+00:00 api error GET /orders 500",
            f"2026-11-22T09:30:09+00:00 api error {JSON_LINE}",
        ]
        assert notices == [f"Saved 3 lines to {saved[0].path}"]


async def test_copy_sends_the_cursor_line_to_the_clipboard(monkeypatch: pytest.MonkeyPatch) -> None:
    copied: list[str] = []
    app = LogApp([*LEVELLED, line(9, JSON_LINE), line(10, "bell \x07 in text")])
    async with app.run_test(size=(80, 24)) as pilot:
        monkeypatch.setattr(app, "copy_to_clipboard", copied.append)
        await pilot.press("c")  # following: the newest line
        await pilot.press("up", "up", "c")  # the first up pauses on the bottom line
        await pilot.press("up", "c")
        assert copied == ["bell ^G in text", JSON_LINE, LEVELLED[4].text]
