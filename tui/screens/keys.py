"""The keys panel (`?`): every key of the screen it opens over, the screen's own first.

Textual's help panel lists the focused widget's keys first: on the main screen, twenty rows of
tree navigation before the first of triage's own. Here the order is what an operator looks
for: the screen's commands, the keys that work everywhere, the log pane's (when the screen has
one), then the generic keys of the focused widget (moving in a tree, a table, a list). Keys are
shown as the settings' keymap has them. The panel scrolls from the keyboard.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import DataTable, Input, OptionList, Static, Tree

from tui.commands import (
    APP_COMMANDS,
    KEYS_COMMANDS,
    LOG_COMMANDS,
    LOG_VIEW_COMMANDS,
    SCREEN_COMMANDS,
    Command,
    bindings,
    remappable_ids,
)
from tui.widgets.key_footer import KeyFooter

KEY_WIDTH = 12
# What the generic keys move in, by the focused widget's kind.
WIDGET_WORDS: tuple[tuple[type[Widget], str], ...] = (
    (Tree, "the tree"),
    (DataTable, "the table"),
    (OptionList, "the list"),
    (Input, "the text field"),
)


class KeysScreen(ModalScreen[None]):
    """A panel at the right of the screen it was opened over; `?` or Escape closes it."""

    BINDINGS = bindings(KEYS_COMMANDS)

    def __init__(self, under: Screen[object]) -> None:
        super().__init__()
        self.under = under
        # Made while `under` is the app's screen: the app says which of its keys work there.
        self.sections = self._sections()

    def compose(self) -> ComposeResult:
        with Vertical(id="keys-dialog"):
            yield Static(f"Keys: {self._screen_name()}", id="keys-title")
            with VerticalScroll(id="keys-list", can_focus=False):
                for heading, rows in self.sections:
                    yield Static(Text(heading, style="bold underline"), classes="keys-heading")
                    yield Static(self._table(rows), classes="keys-table")
        yield KeyFooter()

    def _screen_name(self) -> str:
        name, _ = SCREEN_COMMANDS.get(type(self.under).__name__, ("this screen", ()))
        return name

    def _sections(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """(heading, [(keys, what they do)]) in the order the panel shows them."""
        keymap: Mapping[str, str] = getattr(self.app, "keymap", {})
        _, own = SCREEN_COMMANDS.get(type(self.under).__name__, ("", ()))
        sections = [
            (self._screen_name(), self._rows(own, keymap)),
            ("Everywhere", self._rows(self._working_here(APP_COMMANDS), keymap)),
        ]
        if self.under.query("LogTail"):
            sections.append(
                (
                    "In the log pane (Tab to it)",
                    self._rows((*LOG_COMMANDS, *LOG_VIEW_COMMANDS), keymap),
                )
            )
        generic = self._generic_rows()
        if generic:
            focused = self.under.focused
            words = next(
                (words for kind, words in WIDGET_WORDS if isinstance(focused, kind)),
                "the focused pane",
            )
            sections.append((f"Moving in {words}", generic))
        return [(heading, rows) for heading, rows in sections if rows]

    def _working_here(self, commands: Iterable[Command]) -> list[Command]:
        """The app's commands that work on the screen below (the walkthrough does not open
        over itself)."""
        app = self.app
        return [
            command
            for command in commands
            if app.check_action(command.action.removeprefix("app."), ()) is not False
        ]

    def _rows(
        self, commands: Iterable[Command], keymap: Mapping[str, str]
    ) -> list[tuple[str, str]]:
        rows = []
        for command in commands:
            keys = " ".join(self._display(key) for key in command.keys(keymap))
            rows.append((keys, command.name))
        return rows

    def _generic_rows(self) -> list[tuple[str, str]]:
        """The focused widget's own keys (Textual's: tree, table, list moves), one row per
        action, those of triage's commands left out (listed above)."""
        ours = remappable_ids()
        by_action: dict[str, tuple[list[str], str]] = {}
        for active in self.under.active_bindings.values():
            binding = active.binding
            if binding.id in ours or binding.system or not binding.description:
                continue
            keys, _ = by_action.setdefault(binding.action, ([], binding.description))
            shown = self.app.get_key_display(binding)
            if shown not in keys:
                keys.append(shown)
        return [(" ".join(keys), description) for keys, description in by_action.values()]

    def _display(self, key: str) -> str:
        return self.app.get_key_display(Binding(key, ""))

    @staticmethod
    def _table(rows: list[tuple[str, str]]) -> Table:
        """Keys right-aligned, what they do beside them (wrapped under itself)."""
        table = Table(show_header=False, box=None, padding=(0, 1, 0, 0), expand=True)
        table.add_column(justify="right", style="bold", min_width=KEY_WIDTH)
        table.add_column(ratio=1)
        for keys, description in rows:
            table.add_row(keys, description)
        return table

    def text(self) -> str:
        """What the panel lists, one line per key, as plain text (tests read it)."""
        lines = []
        for heading, rows in self.sections:
            lines.append(f"{heading}:")
            lines += [f"{keys:>{KEY_WIDTH}} {description}" for keys, description in rows]
        return "\n".join(lines)

    def action_close(self) -> None:
        self.dismiss(None)

    def action_scroll(self, how: str) -> None:
        scroll = self.query_one("#keys-list", VerticalScroll)
        {
            "down": scroll.scroll_down,
            "up": scroll.scroll_up,
            "page_down": scroll.scroll_page_down,
            "page_up": scroll.scroll_page_up,
        }[how](animate=False)
