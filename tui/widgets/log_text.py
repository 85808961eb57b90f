"""How a log line reads in the log view: the view's component styles, and a line as Text
(time, source column, level word, then the message with its key=value fields and search
matches)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from rich.style import Style
from rich.text import Text

from providers.contract import LogLine
from providers.text import sanitize
from tui.widgets.log_format import Shown, level_of, shown

if TYPE_CHECKING:
    from textual.cache import LRUCache
    from textual.strip import Strip

LEVELS = ("error", "warn", "info", "debug")  # the categories of log_format.level_of
STYLES = ("time", "source", "key", "match", "cursor", "placeholder", *LEVELS)


class LogText:
    """Mixed into LogView: styling a line, no bookkeeping and no drawing of rows."""

    _styles: dict[str, Style]
    _drawn_with: dict[str, Style]  # the styles the cached lines were drawn with
    _cache: LRUCache[int, list[Strip]]
    search_pattern: re.Pattern[str] | None
    show_timestamps: bool

    if TYPE_CHECKING:  # the widget's and LogRows' own

        @property
        def rich_style(self) -> Style: ...

        def get_component_rich_style(self, *names: str, partial: bool = False) -> Style: ...

        def _source_width(self) -> int: ...

    def _style(self, name: str) -> Style:
        """A component's style, or the view's own ("base"); looked up once per style change."""
        if not self._styles:
            self._styles = {n: self.get_component_rich_style(f"log-view--{n}") for n in STYLES}
            self._styles["base"] = self.rich_style
            drawn_with, self._drawn_with = self._drawn_with, {}
            if any(self._styles[n] != style for n, style in drawn_with.items()):
                self._cache.clear()  # lines drawn with a style that changed
        return self._styles.get(name, Style.null())

    def _message(self, what: Shown) -> Text:
        message = Text(what.message)
        for key, value in what.fields:
            message.append(" " if message else "")
            message.append(key, self._style("key"))
            message.append(f"={value}")
        if self.search_pattern is not None:
            message.highlight_regex(self.search_pattern, self._style("match"))
        return message

    def _text_of(self, line: LogLine) -> Text:
        what = shown(line)
        category, word = level_of(what.level)
        text = Text(style=self._style("base"), no_wrap=True, end="")
        if self.show_timestamps:
            text.append(f"{line.time.astimezone():%H:%M:%S} ", self._style("time"))
        if width := self._source_width():
            text.append(sanitize(line.source)[: width - 1].ljust(width), self._style("source"))
        text.append(f"{word:<5} ", self._style(category))
        return text.append_text(self._message(what))
