"""One registry of commands: it makes the key bindings and the command palette's actions.

Each command has an id (`main.rerun_checks`) that users remap in the inventory's settings
(`keys: {main.rerun_checks: ctrl+r}`); the palette lists the same commands, so the two never
disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from textual.binding import Binding, BindingType


@dataclass(frozen=True, slots=True)
class Command:
    id: str
    key: str
    action: str
    description: str
    show: bool = True
    palette: bool = True

    def binding(self) -> Binding:
        return Binding(self.key, self.action, self.description, show=self.show, id=self.id)


APP_COMMANDS = (
    Command("app.quit", "q", "quit", "Quit"),
    Command("app.help", "question_mark", "app.show_keys", "Keys"),
    Command("app.walkthrough", "w", "app.walkthrough", "Walkthrough"),
    Command("app.problems", "p", "app.problems", "Problems"),
    Command("app.environment", "E", "app.switch_environment", "Environment", show=False),
    Command("app.context", "C", "app.switch_context", "Kube context / AWS profile", show=False),
)

MAIN_COMMANDS = (
    Command("main.rerun_checks", "r", "rerun_checks", "Re-run checks"),
    Command("main.refresh_status", "u", "refresh_status", "Refresh", show=False),
    Command("main.toggle_follow", "f", "toggle_follow", "Follow/pause"),
    Command("main.filter_tree", "slash", "filter_tree", "Filter", show=False),
    Command("main.focus_next", "tab", "app.focus_next", "Next pane", show=False, palette=False),
)

# The log pane's own keys (they act on the pane, so they work while it has the focus).
LOG_COMMANDS = (
    Command("log.filter", "backslash,ctrl+f", "prompt('filter')", "Filter"),
    Command("log.search", "slash", "prompt('search')", "Search"),
    Command("log.search_next", "n", "search(1)", "Next match", show=False),
    Command("log.search_previous", "N", "search(-1)", "Previous match", show=False),
    Command("log.invert", "v", "invert", "Invert filter", show=False),
    Command("log.window", "m", "cycle_window", "Window"),
    Command("log.since", "M", "prompt('since')", "Since time", show=False),
    Command("log.timestamps", "t", "toggle_option('timestamps')", "Timestamps", show=False),
    Command("log.wrap", "W", "toggle_option('wrap')", "Wrap", show=False),
    Command("log.save", "s", "save", "Save"),
    Command("log.copy", "c", "copy", "Copy line"),
    Command("log.escape", "escape", "escape", "Close/clear", show=False, palette=False),
)

WALKTHROUGH_COMMANDS = (
    Command("walk.back", "escape", "back", "Back"),
    Command("walk.rerun", "r", "rerun", "Re-run checks"),
    Command("walk.export", "x", "export", "Export transcript"),
    Command("walk.symptom", "slash", "symptom", "Symptom"),
)


def bindings(commands: Iterable[Command]) -> list[BindingType]:
    return [command.binding() for command in commands]


def remappable_ids() -> set[str]:
    return {
        command.id
        for group in (APP_COMMANDS, MAIN_COMMANDS, WALKTHROUGH_COMMANDS)
        for command in group
    }
