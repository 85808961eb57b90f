"""The log view: a bounded buffer of log lines, of which only the rows on screen are styled.

`RichLog` styles every line as it is written (~1,300 lines/s); this view keeps `LogLine`s in a
deque and draws through the line API, formatting only the rows on screen and caching them.
"""

from __future__ import annotations

import re
import time
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.timer import Timer

from providers.contract import LogLine
from providers.text import sanitize
from tui.commands import LOG_VIEW_COMMANDS, bindings
from tui.widgets.log_format import shown
from tui.widgets.log_rows import LogRows
from tui.widgets.log_text import STYLES, LogText

_TIME = attrgetter("time")
_MERGE_LIMIT = 2_000  # how far back a late line may be merged into the timeline
FRAME_SECONDS = 1 / 15  # during a flood the view redraws at most this often; lines wait kept


class LogView(LogText, LogRows, ScrollView, can_focus=True):
    """Log lines in a bounded buffer, merged by time; `keep` decides which ones show."""

    BINDINGS = bindings(LOG_VIEW_COMMANDS)  # ids in the registry: remappable
    COMPONENT_CLASSES = {f"log-view--{name}" for name in STYLES}

    @dataclass
    class Changed(Message):
        """Following, the filter, the window or an option changed; the pane retitles."""

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, LogView.Changed)

    def __init__(self, *, max_lines: int, id: str | None = None) -> None:
        super().__init__(id=id)
        self.max_lines = max_lines
        self.placeholder = ""
        self.following = True
        self.keep: Callable[[LogLine], bool] | None = None
        self.search_pattern: re.Pattern[str] | None = None
        self.show_timestamps = True
        self.wrap = False
        self._buffer: deque[LogLine] = deque(maxlen=max_lines)
        self._cache: LRUCache[int, list[Strip]] = LRUCache(1024)
        self._styles: dict[str, Style] = {}
        self._drawn_with: dict[str, Style] = {}  # the styles the cached lines were drawn with
        self._refitted = 0.0  # when the view last followed its lines (monotonic)
        self._refit_timer: Timer | None = None
        self._held_until = 0.0  # a key holds the view still until then (monotonic)
        self.on_refit: Callable[[], None] | None = None  # after a refit a flood put off
        self.clear()

    def clear(self) -> None:
        """Forget every line and count; keep the filter, search and options."""
        self._buffer.clear()
        self._first = 0  # absolute index of _buffer[0]; absolute indices survive drops
        self.dropped = 0
        self._visible: list[int] | None = None  # absolute indices shown; None: all of them
        self._row_ends: list[int] | None = None  # when wrapping: cumulative rows per shown line
        self._row_base = 0
        self._sources: set[str] = set()
        self._widest = 0  # the widest row rendered so far: the virtual width
        self._cursor: int | None = None  # absolute index of the cursor line, when paused
        self.new_since_pause = 0
        if self.is_mounted:
            self._rebuild()

    def on_mount(self) -> None:
        self._rebuild()

    # What the pane and the tests read.

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def visible_lines(self) -> list[LogLine]:
        indices = self._visible
        return list(self._buffer) if indices is None else [self._line(i) for i in indices]

    def visible_texts(self) -> list[str]:
        """Each shown line as it reads on screen, unwrapped."""
        return [self._text_of(line).plain for line in self.visible_lines()]

    @property
    def cursor_line(self) -> LogLine | None:
        """The line under the cursor when paused; the newest shown line when following."""
        index = self.cursor_index if not self.following else self.line_count - 1
        return None if index is None or index < 0 else self._line(self._abs(index))

    # Lines arriving.

    def append(self, lines: Sequence[LogLine], *, dropped: int = 0) -> bool:
        """Add a batch by time, after `dropped` lines lost upstream; the oldest go when full.

        Every line is kept (and counted) at once; the view follows them at most once per
        `FRAME_SECONDS`, so a flood costs a frame per interval, not one per batch. True when it
        followed now; otherwise `Changed` is posted when it does."""
        self.dropped += dropped
        if not lines:
            return self._refit_soon()
        before = self.line_count
        ordered = sorted(lines, key=_TIME)
        if (beyond := len(ordered) - self.max_lines) > 0:
            # Only the newest max_lines of a batch this big can stay: the rest are counted,
            # not laid out and dropped again line by line (a flood's batches get this big).
            ordered, self.dropped = ordered[beyond:], self.dropped + beyond
            if not self.following:
                self.new_since_pause += beyond
        batch = self._merge_tail(ordered)
        start = self._first + len(self._buffer)
        overflow = len(self._buffer) + len(batch) - self.max_lines
        self._buffer.extend(batch)
        dropped_shown = 0
        if overflow > 0:
            self._first, self.dropped = self._first + overflow, self.dropped + overflow
            if self._visible is None:  # as many as were buffered before, at most
                dropped_shown = min(overflow, start - self._first + overflow)
            else:
                dropped_shown = bisect_left(self._visible, self._first)
            self._forget_front(dropped_shown)
        fresh = [(i, line) for i, line in enumerate(batch, start) if i >= self._first]
        if self._visible is not None and (keep := self.keep) is not None:
            fresh = [(i, line) for i, line in fresh if keep(line)]
            self._visible.extend(i for i, _ in fresh)
        self._add_rows(line for _, line in fresh)
        column = self._source_width()
        self._sources.update(line.source for line in batch)
        if self._source_width() != column:
            self._rebuild()  # the source column appears or widens: every row changes
        if not self.following:
            self.new_since_pause += self.line_count - before + dropped_shown
        return self._refit_soon()

    def _refit_soon(self) -> bool:
        """Refit now, unless the last was within a frame or a key holds the view: then once,
        when that is over."""
        if self._refit_timer is not None:
            return False
        now = time.monotonic()
        wait = max(self._refitted + FRAME_SECONDS, self._held_until) - now
        if wait <= 0 or not self.is_mounted:
            self._refit()
            return True
        self._refit_timer = self.set_timer(wait, self._deferred_refit)
        return False

    def hold(self, seconds: float) -> None:
        """Follow no new lines for `seconds`: the frame of a key should not wait for a redraw
        of every row. Lines keep arriving (and counting); they show when the hold ends."""
        self._held_until = time.monotonic() + seconds
        if (timer := self._refit_timer) is not None:
            timer.stop()
            self._refit_timer = self.set_timer(seconds, self._deferred_refit)

    def _deferred_refit(self) -> None:
        self._refit_timer = None
        self._refit()
        if self.on_refit is not None:
            self.on_refit()  # the pane's title shows the same lines as this frame

    def _settle(self) -> None:
        """Before the cursor or the scroll is read: the refit a flood put off happens now."""
        if (timer := self._refit_timer) is not None:
            timer.stop()
            self._deferred_refit()

    def _merge_tail(self, batch: list[LogLine]) -> list[LogLine]:
        """Take back buffered lines newer than the batch's first, so the merge stays ordered."""
        tail: list[LogLine] = []
        while self._buffer and len(tail) < _MERGE_LIMIT and self._buffer[-1].time > batch[0].time:
            tail.append(self._buffer.pop())
        if not tail:
            return batch
        end = self._first + len(self._buffer)
        cut = len(self._buffer) if self._visible is None else bisect_left(self._visible, end)
        for kept in (self._visible, self._row_ends):
            if kept is not None:
                del kept[cut:]
        for index in range(end, end + len(tail)):
            self._cache.discard(index)
        return sorted([*reversed(tail), *batch], key=_TIME)

    def _forget_front(self, count: int) -> None:
        """Forget the first `count` shown lines; a paused view keeps still."""
        if count <= 0:
            return
        rows = count
        if self._row_ends is not None:
            rows = self._row_ends[count - 1] - self._row_base
            self._row_base = self._row_ends[count - 1]
            del self._row_ends[:count]
        if self._visible is not None:
            del self._visible[:count]
        if not self.following:
            self.scroll_to(y=max(0, self.scroll_y - rows), animate=False)

    def drop_older(self, cutoff: datetime) -> None:
        """Lines older than `cutoff` leave the view (a window of the last N minutes slides)."""
        indices = self._visible or []
        ages = (self._line(index).time for index in indices)
        count = next((n for n, time in enumerate(ages) if time >= cutoff), len(indices))
        if count:
            self._forget_front(count)
            self._refit()

    # What shows, and how.

    def set_keep(self, keep: Callable[[LogLine], bool] | None) -> None:
        self.keep = keep  # the filter and time window, as one test per line
        self._rebuild()

    def set_search(self, pattern: re.Pattern[str] | None) -> None:
        """Highlight what matches in the rows drawn from now on."""
        self.search_pattern = pattern
        self._cache.clear()
        self.refresh()

    def set_options(self, *, timestamps: bool, wrap: bool) -> None:
        self.show_timestamps, self.wrap = timestamps, wrap
        self._rebuild()

    def _rebuild(self) -> None:
        """Recompute which lines show and their rows, after a filter or option changed."""
        lines, keep = enumerate(self._buffer, self._first), self.keep
        self._visible = None if keep is None else [i for i, line in lines if keep(line)]
        self._cache.clear()
        self._widest = 0
        self._row_ends, self._row_base = ([] if self.wrap else None), 0
        self._wrap_at = max(20, self.scrollable_content_region.width)
        self._add_rows(self._line(self._abs(index)) for index in range(self.line_count))
        self._refit()
        self.post_message(self.Changed())

    def _refit(self) -> None:
        self._refitted = time.monotonic()
        width = 0 if self.wrap else self._widest
        self.virtual_size = Size(width, self._row_count())
        if self.following:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
            # A first line wider than the pane brings the horizontal scrollbar, which takes a
            # row once laid out: follow to that bottom too, or the newest line sits under it.
            self.call_after_refresh(self._keep_following)
        self.refresh()

    def _keep_following(self) -> None:
        if self.following and self.scroll_y < self.max_scroll_y:
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    def on_resize(self) -> None:
        if self.wrap:
            self._rebuild()

    def _size_updated(
        self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True
    ) -> bool:
        # Laid out again: the pane resized, or a scrollbar came and took a row (a frame or
        # more after the line that brought it, as busy as the machine is). A view following
        # stays at the new bottom.
        resized = super()._size_updated(size, virtual_size, container_size, layout)
        self._keep_following()
        return resized

    def notify_style_update(self) -> None:
        """Lines drawn stay drawn unless a style they were drawn with changed: focus comes and
        goes with every prompt (it restyles only the cursor, applied as a line is shown), and
        drawing the screenful again made a key's frame wait ~50 ms under a flood."""
        super().notify_style_update()
        if self._styles:  # compared when next looked up: the new styles may not be in yet
            self._drawn_with = {n: style for n, style in self._styles.items() if n != "cursor"}
        self._styles = {}

    # Drawing.

    def _strips(self, absolute: int) -> list[Strip]:
        """A line's rows: one, or as many as wrapping takes; cached until an option changes."""
        self._style("base")  # a style change since the last lookup empties the cache first
        if (strips := self._cache.get(absolute)) is not None:
            return strips
        text = self._text_of(self._line(absolute))
        strip = Strip(text.render(self.app.console), text.cell_len)
        strips = [strip]
        if self._row_ends is not None:
            width, end = self._wrap_at, strip.cell_length
            strips = list(strip.divide([*range(width, end, width), end]))
        elif strip.cell_length > self._widest:  # the virtual width grows with what was drawn
            self._widest = strip.cell_length
            self.call_after_refresh(self._refit)
        self._cache[absolute] = strips
        return strips

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        base = self._style("base")
        located = self._locate(scroll_y + y)
        if located is None:
            if scroll_y + y == 0 and not self._buffer and self.placeholder:
                note = Text(sanitize(self.placeholder), style=base + self._style("placeholder"))
                return Strip(note.render(self.app.console)).crop_extend(0, width, base)
            return Strip.blank(width, base)
        index, row = located
        absolute = self._abs(index)
        strips = self._strips(absolute)
        strip = strips[min(row, len(strips) - 1)]
        if not self.following and absolute == self._cursor:
            cursor = self._style("cursor")
            strip = Strip(list(Segment.apply_style(strip, post_style=cursor)), strip.cell_length)
            base = base + cursor
        return strip.crop_extend(scroll_x, scroll_x + width, base)

    # Following, the cursor and search.

    def pause(self) -> None:
        """Stop following; the cursor starts on the bottom line on screen."""
        if not self.following:
            return
        self._settle()
        self.following, self.new_since_pause = False, 0
        bottom = int(self.scroll_y) + self.scrollable_content_region.height - 1
        located = self._locate(min(bottom, self._row_count() - 1))
        self._cursor = self._abs(located[0]) if located else None
        self.refresh()
        self.post_message(self.Changed())

    def resume(self) -> None:
        """Follow again from the newest line."""
        self.following, self.new_since_pause, self._cursor = True, 0, None
        self._settle()
        self._refit()
        self.post_message(self.Changed())

    @property
    def cursor_index(self) -> int | None:
        """The cursor's place among the shown lines."""
        if self._cursor is None or not self.line_count:
            return None
        if self._visible is None:
            return max(0, min(self._cursor - self._first, self.line_count - 1))
        return min(bisect_left(self._visible, self._cursor), self.line_count - 1)

    def move_cursor(self, index: int) -> None:
        """Put the cursor on a shown line and scroll it into view."""
        if not self.line_count:
            return
        self._settle()
        index = max(0, min(index, self.line_count - 1))
        self._cursor = self._abs(index)
        row, height = self._row_of(index), self.scrollable_content_region.height
        last = row + len(self._strips(self._cursor)) - 1
        if row < self.scroll_y:
            self.scroll_to(y=row, animate=False)
        elif last >= self.scroll_y + height:
            self.scroll_to(y=last - height + 1, animate=False)
        self.refresh()

    def message_at(self, index: int) -> str:
        """What a shown line says, as search reads it and without its level or time."""
        return self._message(shown(self._line(self._abs(index)))).plain

    # Actions bound to keys.

    def action_follow(self) -> None:
        self.resume()

    def action_move(self, delta: int) -> None:
        if not self.following:
            self.move_cursor((self.cursor_index or 0) + delta)
        self.pause()  # when following, the first key press puts the cursor on the bottom line

    def action_page(self, direction: int) -> None:
        self.pause()
        page = max(1, self.scrollable_content_region.height - 1)
        self.move_cursor((self.cursor_index or 0) + direction * page)

    def action_home(self) -> None:
        self.pause()
        self.move_cursor(0)
