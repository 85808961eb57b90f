"""One registry of commands: it makes the key bindings, the command palette's actions and the keys
panel (`?`).

Each command has an id (`main.rerun_checks`) that users remap in the inventory's settings
(`keys: {main.rerun_checks: ctrl+r}`); the palette and the keys panel list the same commands
with the keys they have after the remapping, so the three never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from textual.binding import Binding, BindingType


@dataclass(frozen=True, slots=True)
class Command:
    id: str
    key: str
    action: str
    description: str  # the footer's word for it
    show: bool = True
    palette: bool = True
    title: str = ""  # the palette's and keys panel's name, when the footer's word says too little

    @property
    def name(self) -> str:
        return self.title or self.description

    def binding(self, *, priority: bool = False) -> Binding:
        return Binding(
            self.key,
            self.action,
            self.description,
            show=self.show,
            id=self.id,
            priority=priority,
        )

    def keys(self, keymap: Mapping[str, str]) -> list[str]:
        """Its keys once the settings' keymap is applied (Textual's names: `question_mark`)."""
        return [key.strip() for key in keymap.get(self.id, self.key).split(",") if key.strip()]


APP_COMMANDS = (
    Command("app.quit", "q", "quit", "Quit"),
    Command("app.help", "question_mark", "app.show_keys", "Keys", title="Show keys"),
    Command("app.walkthrough", "w", "app.walkthrough", "Walkthrough", title="Open the walkthrough"),
    Command("app.problems", "p", "app.problems", "Problems", title="List the problems"),
    Command(
        "app.environment",
        "E",
        "app.switch_environment",
        "Environment",
        show=False,
        title="Switch environment",
    ),
    Command("app.context", "C", "app.switch_context", "Kube context / AWS / Docker", show=False),
)

MAIN_COMMANDS = (
    Command("main.rerun_checks", "r", "rerun_checks", "Re-run checks"),
    Command(
        "main.refresh_status",
        "u",
        "refresh_status",
        "Refresh",
        show=False,
        title="Sweep every target now",
    ),
    Command(
        "main.toggle_follow", "f", "toggle_follow", "Follow/pause", title="Follow or pause the log"
    ),
    Command(
        "main.filter_tree",
        "slash",
        "filter_tree",
        "Filter",
        show=False,
        title="Filter the services",
    ),
    Command("main.focus_next", "tab", "app.focus_next", "Next pane", show=False, palette=False),
)

# The log pane's own keys (they act on the pane, so they work while it has the focus).
LOG_COMMANDS = (
    Command("log.filter", "backslash,ctrl+f", "prompt('filter')", "Filter", title="Filter the log"),
    Command("log.search", "slash", "prompt('search')", "Search", title="Search the log"),
    Command("log.search_next", "n", "search(1)", "Next match", show=False),
    Command("log.search_previous", "N", "search(-1)", "Previous match", show=False),
    Command("log.invert", "v", "invert", "Invert filter", show=False),
    Command("log.window", "m", "cycle_window", "Window", title="Time window (last N minutes)"),
    Command("log.since", "M", "prompt('since')", "Since time", show=False),
    Command("log.timestamps", "t", "toggle_option('timestamps')", "Timestamps", show=False),
    Command("log.wrap", "W", "toggle_option('wrap')", "Wrap", show=False),
    Command("log.save", "s", "save", "Save", title="Save the shown lines"),
    Command("log.copy", "c", "copy", "Copy line", title="Copy the line at the cursor"),
    Command("log.escape", "escape", "escape", "Close/clear", show=False, palette=False),
)

# The log view's moves (the view, inside the pane, has them while it has the focus).
LOG_VIEW_COMMANDS = (
    Command("log.follow", "end,G", "follow", "Follow", show=False, title="Follow the newest line"),
    Command("log.cursor_up", "up", "move(-1)", "Line up", show=False, palette=False),
    Command("log.cursor_down", "down", "move(1)", "Line down", show=False, palette=False),
    Command("log.page_up", "pageup", "page(-1)", "Page up", show=False, palette=False),
    Command("log.page_down", "pagedown", "page(1)", "Page down", show=False, palette=False),
    Command("log.home", "home,g", "home", "First line", show=False, palette=False),
)

WALKTHROUGH_COMMANDS = (
    Command("walk.back", "escape", "back", "Back"),
    Command("walk.rerun", "r", "rerun", "Re-run checks"),
    Command("walk.export", "x", "export", "Export transcript"),
    Command(
        "walk.symptom", "slash", "symptom", "Symptom", title="Type a symptom or paste an error"
    ),
    Command(
        "walk.fix_1",
        "1",
        "choose_fix(1)",
        "Fix 1",
        show=False,
        title="Preview fix [1] of the cause",
    ),
    Command(
        "walk.fix_2",
        "2",
        "choose_fix(2)",
        "Fix 2",
        show=False,
        title="Preview fix [2] of the cause",
    ),
    Command(
        "walk.fix_3",
        "3",
        "choose_fix(3)",
        "Fix 3",
        show=False,
        title="Preview fix [3] of the cause",
    ),
)

# Dialogs: each says its own keys in its own footer.
PROBLEMS_COMMANDS = (Command("problems.close", "escape", "close", "Close"),)
CONFIRM_COMMANDS = (Command("confirm.cancel", "escape", "cancel", "Cancel"),)
GUESS_COMMANDS = (
    Command("guess.go_on", "g", "go_on", "Run it anyway"),
    Command("guess.cancel", "escape", "cancel", "Cancel"),
)
PICKER_COMMANDS = (Command("environments.cancel", "escape", "cancel", "Cancel"),)
KEYS_COMMANDS = (
    Command("keys.close", "escape,question_mark", "close", "Close"),
    Command("keys.down", "down", "scroll('down')", "Scroll", palette=False, title="Scroll down"),
    Command("keys.up", "up", "scroll('up')", "Scroll up", show=False, palette=False),
    Command("keys.page_down", "pagedown", "scroll('page_down')", "Page down", show=False),
    Command("keys.page_up", "pageup", "scroll('page_up')", "Page up", show=False),
)
DETAIL_COMMANDS = (
    Command("detail.close", "escape,enter", "close", "Close"),
    Command("detail.down", "down", "scroll('down')", "Scroll", palette=False, title="Scroll down"),
    Command("detail.up", "up", "scroll('up')", "Scroll up", show=False, palette=False),
    Command("detail.page_down", "pagedown", "scroll('page_down')", "Page down", show=False),
    Command("detail.page_up", "pageup", "scroll('page_up')", "Page up", show=False),
)

# Each screen's own commands, with the name the keys panel gives them (by screen class name:
# the palette and the keys panel look them up without importing every screen).
SCREEN_COMMANDS: dict[str, tuple[str, tuple[Command, ...]]] = {
    "MainScreen": ("Main screen", MAIN_COMMANDS),
    "Walkthrough": ("Walkthrough", WALKTHROUGH_COMMANDS),
    "ProblemsScreen": ("Problems", PROBLEMS_COMMANDS),
    "ConfirmFix": ("Fix confirmation", CONFIRM_COMMANDS),
    "ConfirmGuess": ("Unconfirmed cause", GUESS_COMMANDS),
    "EnvironmentPicker": ("Switch what triage watches", PICKER_COMMANDS),
    "KeysScreen": ("Keys panel", KEYS_COMMANDS),
    "CheckDetail": ("Check", DETAIL_COMMANDS),
}
EVERY_GROUP = (
    APP_COMMANDS,
    LOG_COMMANDS,
    LOG_VIEW_COMMANDS,
    *(commands for _, commands in SCREEN_COMMANDS.values()),
)


def bindings(commands: Iterable[Command], *, priority: bool = False) -> list[BindingType]:
    return [command.binding(priority=priority) for command in commands]


def remappable_ids() -> set[str]:
    return {command.id for group in EVERY_GROUP for command in group}
