"""The log tail: a bounded, follow-or-pause view of one node's log stream."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Log

from providers.contract import LogLine
from providers.text import sanitize


def format_line(line: LogLine) -> str:
    stamp = line.time.astimezone().strftime("%H:%M:%S")
    return f"{stamp} {line.level.upper():<5} {sanitize(line.text)}"


class LogTail(Vertical):
    """Lines arrive in batches; the `Log` widget renders only what is on screen."""

    def __init__(self, *, max_lines: int, id: str | None = None) -> None:
        super().__init__(id=id)
        self.max_lines = max_lines
        self.source = ""
        self.following = True

    def compose(self) -> ComposeResult:
        yield Log(max_lines=self.max_lines, auto_scroll=True, id="log-lines")

    def on_mount(self) -> None:
        self._retitle()

    @property
    def log(self) -> Log:  # type: ignore[override]
        return self.query_one("#log-lines", Log)

    def start(self, source: str, *, available: bool) -> None:
        """Point the pane at a new source and forget the old one's lines."""
        self.source = source
        self.log.clear()
        if not available:
            self.log.write_line(f"{sanitize(source)} has no log stream")
        self._retitle()

    def append(self, lines: Sequence[LogLine]) -> None:
        self.log.write_lines([format_line(line) for line in lines])

    def toggle_follow(self) -> bool:
        self.following = not self.following
        self.log.auto_scroll = self.following
        if self.following:
            self.log.scroll_end(animate=False)
        self._retitle()
        return self.following

    def _retitle(self) -> None:
        state = "following" if self.following else "paused"
        name = sanitize(self.source) if self.source else "no node selected"
        self.border_title = f"Log: {name}"
        self.border_subtitle = state
