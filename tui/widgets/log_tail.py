"""The log tail: the log pane of one node, with the keys and the prompt that drive its view.

The pane holds what the operator asked for (filter, time window, search, options) and the
view shows it; saving and copying start here too.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, Label, Static

from providers.contract import FOLLOWING, LogLine, utc_now
from providers.text import sanitize
from tui.commands import LOG_COMMANDS, bindings
from tui.widgets.focus_frame import FocusFrame
from tui.widgets.log_format import WINDOWS, compile_query, parse_since
from tui.widgets.log_view import LogView

KEY_FIRST_SECONDS = 0.3  # after a key in the pane, how long its frames go before new lines
KEY_FRAME_SECONDS = 0.1  # after a key, how long the view waits before it follows new lines

# The prompt line stays on screen (showing or hiding it would lay the whole screen out again,
# which a flood makes slow); between prompts it lists the keys the footer has no room for, as
# the settings' keymap has them.
IDLE_LABEL = "keys"
IDLE_KEYS = (
    (("log.search_next", "log.search_previous"), "next match"),
    (("log.invert",), "invert"),
    (("log.since",), "since"),
    (("log.timestamps",), "timestamps"),
    (("log.wrap",), "wrap"),
    (("log.escape",), "clears"),
)

PROMPTS = {
    "filter": "text, /regex/ or !exclude; enter applies, empty clears, esc closes",
    "search": "text or /regex/, then n and N; enter searches, esc closes",
    "since": "HH:MM or HH:MM:SS; empty shows every line",
}


class LogTail(FocusFrame, Vertical):
    """Lines arrive in batches; the view styles only what is on screen."""

    # Priority: the app runs them as the key arrives, not after the key went through the queues
    # of the view and each container above it (a flood keeps every queue busy); while the
    # prompt is open they are off (check_action), so what is typed reaches the input.
    BINDINGS = bindings(LOG_COMMANDS, priority=True)

    @dataclass
    class Saved(Message):
        """The shown lines were written to a file."""

        path: Path
        count: int

    def __init__(self, *, max_lines: int, id: str | None = None) -> None:
        super().__init__(id=id)
        self.max_lines = max_lines
        self.source = ""
        self.clock: Callable[[], datetime] = utc_now
        self.save_dir = Path.cwd()
        self.filter: re.Pattern[str] | None = None
        self.filter_text = ""
        self.inverse = False
        self.window_index = 0
        self.since: datetime | None = None
        self.cutoff: datetime | None = None  # lines older than this are outside the window
        self.search_text = ""
        self.prompt_mode = ""
        self.prompting = False  # a plain flag: a CSS class would restyle the pane's widgets
        self._subtitle = ""
        self._key_at = 0.0  # when a key last reached the pane (monotonic)
        # What the stream last said of itself (a line's `state`): "stopped: ..." once what it
        # follows stopped; None (or "following") while it follows.
        self.stream_state: str | None = None

    def compose(self) -> ComposeResult:
        yield LogView(max_lines=self.max_lines, id="log-view")
        with Horizontal(id="log-prompt"):
            yield Label(IDLE_LABEL, id="log-prompt-label", classes="-idle")
            yield Input(id="log-input", placeholder=self.idle_hint)
        yield Static("", id="log-prompt-error", markup=False)

    def on_mount(self) -> None:
        self.border_title = "Log: no node selected"
        self.query_one("#log-input", Input).can_focus = False  # until a prompt opens
        self.view.on_refit = self._retitle
        # Runs only while a "last N minutes" window is shown: an idle pane wakes nothing.
        self.window_timer = self.set_interval(1.0, self.slide_window, pause=True)
        self._retitle()

    @property
    def idle_hint(self) -> str:
        """`n/N next match · v invert · ...`, with the keys the settings give them."""
        keymap = getattr(self.app, "keymap", {})
        commands = {command.id: command for command in LOG_COMMANDS}
        parts = []
        for ids, words in IDLE_KEYS:
            keys = "/".join(
                self.app.get_key_display(Binding(commands[name].keys(keymap)[0], ""))
                for name in ids
            )
            parts.append(f"{keys} {words}")
        return " · ".join(parts)

    @property
    def view(self) -> LogView:
        return self.query_one("#log-view", LogView)

    @property
    def following(self) -> bool:
        return self.view.following

    def start(self, source: str, *, available: bool) -> None:
        """Point the pane at a new source and forget the old one's lines."""
        self.source = source
        self.view.placeholder = "" if available else f"{source} has no log stream"
        self.view.clear()
        self.stream_state = None
        self.border_title = Content(f"Log: {sanitize(source)}")
        self._retitle()

    def on_key(self, event: events.Key) -> None:
        self._keyed()  # the view's keys; not stopped: bindings still see it

    def on_input_changed(self) -> None:
        self._keyed()  # typed in the prompt

    def _keyed(self) -> None:
        """A key reached the pane: its frame goes out before the view follows new lines (a
        flood's frame redraws the whole pane, the key's only what it changed)."""
        self._key_at = time.monotonic()
        self.view.hold(KEY_FRAME_SECONDS)

    def key_first(self) -> float:
        """Seconds the pane's last key (its actions note when) still goes before new lines: a
        flood keeps the loop busy, and the operator waits on the key's frame, not the batch."""
        return max(0.0, self._key_at + KEY_FIRST_SECONDS - time.monotonic())

    def append(self, lines: Sequence[LogLine], *, dropped: int = 0) -> None:
        """Add a batch; `dropped` lines were lost before it upstream and count as dropped.
        A line that says what became of the stream (stopped, following again) sets the
        pane's state."""
        said = next((line.state for line in reversed(lines) if line.state is not None), None)
        if said is not None:
            self.stream_state = None if said == FOLLOWING else said
        if self.view.append(lines, dropped=dropped) or said is not None:
            self._retitle()  # otherwise when the view follows the batch (on_refit)

    def toggle_follow(self) -> bool:
        view = self.view
        view.pause() if view.following else view.resume()
        self._retitle()
        return view.following

    # What shows: the filter and the time window make one test per line for the view.

    @property
    def window_label(self) -> str:
        if self.since is not None:
            return f"since {self.since.astimezone():%H:%M:%S}"
        return WINDOWS[self.window_index][0]

    def set_filter(self, pattern: re.Pattern[str] | None, text: str, inverse: bool) -> None:
        self.filter, self.filter_text, self.inverse = pattern, text, inverse
        self._apply()

    def set_window(self, index: int, since: datetime | None = None) -> None:
        """Show the last N minutes (an index into WINDOWS), or every line since a time."""
        self.window_index, self.since = (0, since) if since else (index % len(WINDOWS), None)
        self._apply()

    def _apply(self) -> None:
        span = WINDOWS[self.window_index][1]
        if self.sliding:
            self.window_timer.resume()
        else:
            self.window_timer.pause()
        self.cutoff = self.since or (self.clock() - span if span is not None else None)
        pattern, inverse = self.filter, self.inverse
        if self.cutoff is None and pattern is None:
            self.view.set_keep(None)
            return

        def keep(line: LogLine) -> bool:
            if self.cutoff is not None and line.time < self.cutoff:
                return False
            if pattern is None:
                return True
            found = pattern.search(line.text) or pattern.search(line.level)
            return (found is None) is inverse

        self.view.set_keep(keep)

    @property
    def sliding(self) -> bool:
        """A "last N minutes" window: lines leave it as time passes."""
        return self.since is None and WINDOWS[self.window_index][1] is not None

    def slide_window(self) -> None:
        """Each second, lines older than the last N minutes leave the view."""
        span = WINDOWS[self.window_index][1]
        if self.sliding and span is not None:
            self.cutoff = self.clock() - span
            self.view.drop_older(self.cutoff)

    def search(self, direction: int, *, start: int | None = None) -> bool:
        """Move the cursor to the next (1, newer) or previous (-1) line that matches."""
        view = self.view
        pattern, count = view.search_pattern, view.line_count
        if pattern is None or not count:
            return False
        view.pause()
        origin = start if start is not None else view.cursor_index or 0
        for step in range(1, count + 1):
            index = (origin + direction * step) % count
            if pattern.search(view.message_at(index)):
                view.move_cursor(index)
                return True
        return False

    # Actions bound to keys.

    def action_search(self, direction: int) -> None:
        self._keyed()
        if self.view.search_pattern is None:
            self.notify("No search yet: press / to search", timeout=3)
        elif not self.search(direction):
            self.notify("No line matches the search", severity="warning", timeout=3)

    def action_invert(self) -> None:
        self._keyed()
        self.set_filter(self.filter, self.filter_text, not self.inverse)

    def action_cycle_window(self) -> None:
        self._keyed()
        self.set_window(self.window_index + 1)

    def action_toggle_option(self, option: str) -> None:
        self._keyed()
        view = self.view
        timestamps, wrap = view.show_timestamps, view.wrap
        view.set_options(
            timestamps=not timestamps if option == "timestamps" else timestamps,
            wrap=not wrap if option == "wrap" else wrap,
        )

    def action_copy(self) -> None:
        """Copy the line at the cursor with OSC 52, which works over SSH; JSON stays raw."""
        self._keyed()
        line = self.view.cursor_line
        if line is None:
            self.notify("No line to copy", timeout=3)
            return
        text = sanitize(line.text)
        self.app.copy_to_clipboard(text)
        self.notify(f"Copied {len(text):,} characters", timeout=2)

    def action_save(self) -> None:
        """Write the shown lines, raw and made safe, to a file, off the UI loop."""
        self._keyed()
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", self.source).strip("-") or "log"
        stamp = self.clock().astimezone().strftime("%Y%m%d-%H%M%S")
        self.write_lines(self.save_dir / f"triage-{slug}-{stamp}.log", self.view.visible_lines())

    @work(thread=True, exclusive=True, group="log-save", exit_on_error=False)
    def write_lines(self, path: Path, lines: list[LogLine]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as out:
            for line in lines:
                source, level, text = (sanitize(x) for x in (line.source, line.level, line.text))
                out.write(f"{line.time.isoformat()} {source} {level} {text}\n")
        self.post_message(self.Saved(path, len(lines)))

    def on_log_tail_saved(self, message: Saved) -> None:
        self.notify(f"Saved {message.count:,} lines to {message.path}", title="Log saved")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Escape is the pane's only while a prompt is open or a search is highlighted."""
        if action == "escape":
            return self.prompting or self.view.search_pattern is not None
        return not self.prompting

    def action_escape(self) -> None:
        self._keyed()
        if self.prompting:
            self.close_prompt()
        else:
            self.view.set_search(None)
            self.search_text = ""

    # The prompt: one input line for a filter, a search or a start time.

    def action_prompt(self, mode: str) -> None:
        self._keyed()
        self.prompt_mode = mode
        label = self.query_one("#log-prompt-label", Label)
        label.update(mode, layout=False)
        label.remove_class("-idle")
        prompt = self.query_one("#log-input", Input)
        prompt.placeholder = PROMPTS[mode]
        prompt.can_focus = True
        prompt.value = {
            "filter": ("!" if self.inverse else "") + self.filter_text,
            "search": self.search_text,
            "since": f"{self.since.astimezone():%H:%M:%S}" if self.since else "",
        }[mode]
        self._show_error("")
        self.prompting = True
        prompt.focus()

    def on_input_submitted(self, message: Input.Submitted) -> None:
        message.stop()
        text = message.value.strip()
        try:
            if self.prompt_mode == "since":
                self.set_window(0, parse_since(text, self.clock()) if text else None)
            elif self.prompt_mode == "filter":
                pattern, inverse = compile_query(text)
                self.set_filter(pattern, text.removeprefix("!"), inverse)
            else:
                self._search_for(text)
        except re.error as error:
            self._show_error(f"Invalid regex: {error}; the previous {self.prompt_mode} stays")
            return
        except ValueError:
            self._show_error(f"Not a time: {text!r}; type HH:MM or HH:MM:SS")
            return
        self.close_prompt()

    def _search_for(self, text: str) -> None:
        """Highlight matches and go to the nearest one at or above the cursor."""
        pattern, _ = compile_query(text.removeprefix("!"))
        self.search_text = text if pattern else ""
        view = self.view
        view.set_search(pattern)
        if pattern is not None and view.line_count:
            view.pause()
            index = view.cursor_index
            if not self.search(-1, start=index + 1 if index is not None else None):
                self.notify("No line matches the search", severity="warning", timeout=3)

    def close_prompt(self) -> None:
        self.prompting = False
        self._show_error("")
        self.prompt_mode = ""
        label = self.query_one("#log-prompt-label", Label)
        label.update(IDLE_LABEL, layout=False)
        label.add_class("-idle")
        prompt = self.query_one("#log-input", Input)
        if prompt.value:
            prompt.value = ""
        prompt.placeholder, prompt.can_focus = self.idle_hint, False
        self.view.focus()

    def _show_error(self, error: str) -> None:
        note = self.query_one("#log-prompt-error", Static)
        if str(note.content) != error:  # an unchanged note lays nothing out again
            note.update(error)
            note.set_class(bool(error), "-shown")

    # Titles: where the operator reads the pane's state.

    def on_log_view_changed(self, message: LogView.Changed) -> None:
        self._retitle()

    def _retitle(self) -> None:
        view = self.view
        stopped = self.stream_state  # the stream's own state comes before the view's
        state = (stopped or FOLLOWING) if view.following else "paused"
        if not view.following and view.new_since_pause:
            state += f" · {view.new_since_pause:,} new"
        parts = [state]
        if stopped and not view.following:
            parts.append(stopped)
        if self.filter_text:
            parts.append(f"{'not ' if self.inverse else ''}“{self.filter_text}”")
        if self.window_label != "all":
            parts.append(self.window_label)
        if view.dropped:
            parts.append(f"{view.dropped:,} dropped")
        subtitle = " · ".join(parts)
        if subtitle != self._subtitle:
            self._subtitle = subtitle
            self.border_subtitle = Content(subtitle)
