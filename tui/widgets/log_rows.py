"""The rows of the log view: which buffered lines show, and the screen rows each one takes.

The view keeps lines in a bounded deque with absolute indices that survive drops (`_first` is
the index of the oldest); a filter keeps the shown ones' indices (`_visible`), and wrapping the
cumulative row count of each (`_row_ends`, from `_row_base`).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import deque
from collections.abc import Iterable

from rich.cells import cell_len

from providers.contract import LogLine
from providers.text import sanitize
from tui.widgets.log_format import message_width, shown


class LogRows:
    """Mixed into LogView: the bookkeeping from shown lines to rows, no drawing."""

    _buffer: deque[LogLine]
    _first: int
    _visible: list[int] | None
    _row_ends: list[int] | None
    _row_base: int
    _wrap_at: int
    _sources: set[str]
    show_timestamps: bool

    @property
    def line_count(self) -> int:
        """How many lines pass the filter and the time window."""
        return len(self._buffer) if self._visible is None else len(self._visible)

    def _abs(self, index: int) -> int:
        return self._first + index if self._visible is None else self._visible[index]

    def _line(self, absolute: int) -> LogLine:
        return self._buffer[absolute - self._first]

    def _add_rows(self, lines: Iterable[LogLine]) -> None:
        if (ends := self._row_ends) is None:
            return
        width, total = self._wrap_at, ends[-1] if ends else self._row_base
        prefix = (9 if self.show_timestamps else 0) + self._source_width() + 6  # as _text_of
        for line in lines:
            total += max(1, -(-(prefix + message_width(shown(line))) // width))
            ends.append(total)

    def _row_count(self) -> int:
        ends = self._row_ends
        return self.line_count if ends is None else (ends[-1] - self._row_base if ends else 0)

    def _row_of(self, index: int) -> int:
        if self._row_ends is None:
            return index
        return (self._row_ends[index - 1] if index else self._row_base) - self._row_base

    def _locate(self, row: int) -> tuple[int, int] | None:
        """The shown line at a row, and which of its wrapped rows."""
        ends = self._row_ends
        if ends is None:
            return (row, 0) if 0 <= row < self.line_count else None
        index = bisect_right(ends, self._row_base + row)
        return (index, row - self._row_of(index)) if row >= 0 and index < len(ends) else None

    def _source_width(self) -> int:
        if len(self._sources) < 2:
            return 0
        return min(16, max(cell_len(sanitize(source)) for source in self._sources)) + 1
