"""What the log tail sends the pane from one batch: in time order, no more than it keeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from providers.contract import LogLine
from tui.log_feed import newest

START = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)


def at(second: int) -> LogLine:
    return LogLine(START + timedelta(seconds=second), "api", "info", f"line {second}")


def test_a_batch_within_the_buffer_comes_whole_and_in_time_order() -> None:
    lines, dropped = newest([at(2), at(0), at(1)], keep=10)
    assert [line.text for line in lines] == ["line 0", "line 1", "line 2"] and dropped == 0


def test_a_batch_bigger_than_the_buffer_keeps_its_newest_and_counts_the_rest() -> None:
    batch = [at(second) for second in reversed(range(25))]
    lines, dropped = newest(batch, keep=10)
    assert [line.text for line in lines] == [f"line {n}" for n in range(15, 25)]
    assert dropped == 15 and len(lines) + dropped == len(batch)
