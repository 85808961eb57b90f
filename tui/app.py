"""The Textual app: composes the screens, loads the runbook library, owns the notices.

Worker failures anywhere become one kind of notice here, instead of try/excepts in every widget.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from textual import work
from textual.app import App, SystemCommand
from textual.driver import Driver
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from providers.redact import redact
from tui.collector import freeze_start_up
from tui.commands import APP_COMMANDS, bindings, remappable_ids
from tui.palette import TriageCommands

LIBRARY_AFTER_SECONDS = 3.0  # at the latest; a tree with every target in asks for it sooner
FREEZE_AFTER_SECONDS = 30.0  # start-up is frozen then even if the runbooks never came in

if TYPE_CHECKING:
    # Imported once the first frame is out: the inventory's validation (pydantic) and the
    # main screen's modules cost more than a fifth of a second.
    from providers.contexts import ContextOverrides
    from providers.contract import Node
    from providers.inventory import Inventory
    from runbooks.loader import Library
    from runbooks.search import Folder
    from tui.screens.main_screen import MainScreen


class TriageApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "triage"
    BINDINGS = bindings(APP_COMMANDS)
    COMMANDS = App.COMMANDS | {TriageCommands}
    ALLOW_IN_MAXIMIZED_VIEW = "KeyFooter"  # a maximized pane (the log, full screen) says its keys

    def __init__(
        self,
        inventory: Inventory | None,
        environment: str | None = None,
        *,
        read_only: bool = False,
        config: str | None = None,
        freeze_start_up: bool = False,
        runbook_dirs: Sequence[str] = (),
    ) -> None:
        """Without an inventory, the app reads `config` (None: the usual places, else what this
        machine reaches) once its first frame is out, and ends with `config_error` set when the
        inventory is broken. `freeze_start_up`: see `freeze_start_up()` (for the one app of a
        process: what it freezes is never collected)."""
        super().__init__()
        self.freezes_start_up = freeze_start_up
        self.forced_read_only = read_only
        self.library: Library | None = None
        self._library_asked = False
        self._library_folders: list[Folder] = []
        self.runbook_dirs = list(runbook_dirs)  # --runbooks, after the inventory's folders
        self.config_path, self.requested_environment = config, environment
        self.config_error: str | None = None
        self.started = False
        # The settings' key remapping, by command id (tui/commands.py), once the inventory is in.
        self.keymap: dict[str, str] = {}
        if inventory is not None:
            self._start(inventory)

    def _start(self, inventory: Inventory) -> None:
        from providers.environment import LiveEnvironment

        self.inventory = inventory
        environment, read_only = self.requested_environment, self.forced_read_only
        self.live = LiveEnvironment(inventory, environment, read_only=read_only)
        self.keymap = {
            key: value for key, value in inventory.settings.keys.items() if key in remappable_ids()
        }
        self.started = True
        if self._library_asked and self.runbook_folders() != self._library_folders:
            self.load_runbooks()  # read before the inventory: its runbook folders join

    def get_driver_class(self) -> type[Driver]:
        """Textual's driver for this terminal, but on Linux and macOS one whose input thread
        sleeps until a key comes (tui/driver.py)."""
        from textual.drivers.linux_driver import LinuxDriver

        driver = super().get_driver_class()
        if driver is LinuxDriver:
            from tui.driver import QuietInputDriver

            return QuietInputDriver
        return driver

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """Textual's, without those triage's own commands replace ("Keys" would open Textual's
        help panel instead of triage's keys panel)."""
        replaced = {command.name for command in APP_COMMANDS} | {"Keys", "Quit"}
        for command in super().get_system_commands(screen):
            if command.title not in replaced:
                yield command

    def get_default_screen(self) -> Screen[None]:
        if not self.started:
            from tui.screens.starting import StartingScreen

            return StartingScreen(self.config_path)
        from tui.screens.main_screen import MainScreen

        return MainScreen(self.live)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Before the inventory is in, only quitting and the keys panel make sense; the
        walkthrough and the problems open from the main screen (nowhere else in its footer)."""
        if not self.started:
            return action in {"quit", "show_keys", "help_quit"}
        if action in {"walkthrough", "problems"}:
            return type(self.screen).__name__ == "MainScreen"
        return True

    def on_mount(self) -> None:
        if self.started:
            self._apply_keymap()
        else:
            self.call_after_refresh(self.read_inventory)
        # The library is read once every target is in the tree (the main screen asks), or
        # after LIBRARY_AFTER_SECONDS: at start it would compete with the SDK imports and
        # the first calls for the one core Python runs on.
        self.set_timer(LIBRARY_AFTER_SECONDS, self.load_library)
        if self.freezes_start_up:
            self.set_timer(FREEZE_AFTER_SECONDS, self._freeze_start_up)

    @work(group="inventory", exit_on_error=False)
    async def read_inventory(self) -> None:
        """Read the inventory (files, or probes of this machine's ports: in a thread), then
        show the main screen; a broken inventory ends the app with the reason."""
        # Our modules are imported here, on the UI thread; only the reading goes to a thread.
        from providers.inventory import ConfigError, load_inventory
        from tui.screens.main_screen import MainScreen

        def read() -> Inventory:
            inventory = load_inventory(self.config_path)
            inventory.environment_name(self.requested_environment)  # an unknown --env: an error
            return inventory

        try:
            inventory = await asyncio.to_thread(read)
        except Exception as error:  # broken or unreadable: said, never "Reading..." for ever
            self.config_error = (
                str(error)
                if isinstance(error, ConfigError)
                else redact(f"cannot read the inventory: {type(error).__name__}: {error}")
            )
            self.exit(return_code=2)
            return
        self._start(inventory)
        self._apply_keymap()
        await self.push_screen(MainScreen(self.live))  # over the starting screen, for good

    def _apply_keymap(self) -> None:
        unknown = sorted(set(self.inventory.settings.keys) - remappable_ids())
        if unknown:
            self.notify(
                f"settings.keys: unknown command ids {', '.join(unknown)}; "
                f"known: {', '.join(sorted(remappable_ids()))}",
                severity="warning",
                timeout=10,
            )
        self.set_keymap(self.keymap)

    def load_library(self) -> None:
        """Read the runbook library, once."""
        if self._library_asked:
            return
        self._library_asked = True
        # After the frame that asked (the last target into the tree) is drawn: the import
        # takes a tenth of a second.
        self.call_after_refresh(self._import_library)

    def _import_library(self) -> None:
        # Imported here, on the UI thread; only the reading of the files goes to a thread
        # (two threads compiling source at once can fail on Python 3.11).
        import runbooks.loader  # noqa: F401

        self.load_runbooks()

    def runbook_folders(self) -> list[Folder]:
        """The runbook search path for the environment watched (runbooks/search.py)."""
        from runbooks.search import search_path

        if not self.started:  # the inventory's folders join once it is read (`_start`)
            return search_path((), self.runbook_dirs)
        return search_path(self.inventory.runbook_paths(self.live.name), self.runbook_dirs)

    @work(thread=True, group="library", exit_on_error=False)
    def load_runbooks(self) -> None:
        from runbooks.search import load_search_path

        self._library_folders = self.runbook_folders()
        library = load_search_path(self._library_folders)
        self.call_from_thread(self._library_loaded, library)

    def _library_loaded(self, library: Library) -> None:
        self.library = library
        if self.freezes_start_up:
            self.call_after_refresh(self._freeze_start_up)
        main = self.main_screen()
        if main is not None:
            main.library_loaded()  # what the last sweep found gets its runbooks
        if library.errors:  # the header counts them; this says the first one's place
            self.notify(
                f"{len(library.errors)} runbooks could not load; first: {library.errors[0]} "
                "(`triage runbooks validate` lists them all)",
                severity="warning",
                timeout=10,
            )

    def _freeze_start_up(self) -> None:
        if self.freezes_start_up:
            self.freezes_start_up = False  # once
            freeze_start_up()

    async def on_unmount(self) -> None:
        if self.started:
            await self.live.close()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place where a failed worker becomes something the operator sees."""
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            error = event.worker.error
            self.notify(
                redact(f"{event.worker.name or event.worker.group} failed: {error}"),
                title="Background task failed",
                severity="error",
                timeout=10,
            )

    # What screens and the palette ask of the app.

    def main_screen(self) -> MainScreen | None:
        from tui.screens.main_screen import MainScreen

        for screen in self.screen_stack:
            if isinstance(screen, MainScreen):
                return screen
        return None

    def known_nodes(self) -> list[Node]:
        main = self.main_screen()
        return main.all_nodes() if main is not None else []

    def go_to_node(self, node_id: str) -> None:
        main = self.main_screen()
        if main is None:
            return
        while self.screen is not main:
            self.pop_screen()
        main.select_by_id(node_id)

    def open_walkthrough(self, symptom: str = "", runbook_id: str | None = None) -> None:
        from tui.screens.walkthrough import Walkthrough

        if self.library is None:
            self.notify("The runbook library is still loading; try again in a moment.")
            return
        main = self.main_screen()
        node = main.current if main is not None else None
        scene = main.scene() if main is not None else None
        self.push_screen(
            Walkthrough(
                self.live,
                self.library,
                symptom=symptom,
                runbook_id=runbook_id,
                node=node,
                scene=scene,
            )
        )

    def action_walkthrough(self) -> None:
        self.open_walkthrough()

    def action_problems(self) -> None:
        main = self.main_screen()
        if main is not None:
            main.show_problems()

    def action_show_keys(self) -> None:
        """The keys of the screen shown: its own first, then the panes', then the generic
        keys of the focused widget (tui/screens/keys.py)."""
        from tui.screens.keys import KeysScreen

        if not isinstance(self.screen, KeysScreen):
            self.push_screen(KeysScreen(self.screen))

    def action_switch_environment(self) -> None:
        self.open_picker("environment")

    def action_switch_context(self) -> None:
        from providers.contexts import follows_docker_context

        start = "aws-profile"  # with nothing to switch, the picker says where names come from
        if self.live.targets_of("kubernetes"):
            start = "kube"
        elif self.live.targets_of("ecs"):
            start = "aws-profile"
        elif any(follows_docker_context(t) for t in self.live.targets_of("compose")):
            start = "docker"
        self.open_picker(start)

    def open_picker(self, start: str) -> None:
        from providers.contexts import ContextOverrides
        from tui.screens.environments import EnvironmentPicker

        picker = EnvironmentPicker(self.live, start=start)

        def chosen(choice: tuple[str, str] | None) -> None:
            if choice is None:
                return
            section, name = choice
            if section == "environment":
                if name != self.live.name:
                    # Another environment is another set of targets: chosen contexts reset.
                    self.switch_environment(name, ContextOverrides())
            elif picker.choices is not None:
                overrides = self.live.overrides.choose(section, name, picker.choices)
                if overrides != self.live.overrides:
                    self.switch_environment(self.live.name, overrides)

        self.push_screen(picker, chosen)

    @work(exclusive=True, group="environment", exit_on_error=False)
    async def switch_environment(self, name: str, overrides: ContextOverrides) -> None:
        """Watch `name` with `overrides` applied: new providers, the tree discovered again."""
        from providers.environment import LiveEnvironment

        old, folders = self.live, self.runbook_folders()
        self.live = LiveEnvironment(
            self.inventory, name, read_only=self.forced_read_only, overrides=overrides
        )
        if self._library_asked and self.runbook_folders() != folders:
            self.load_runbooks()  # this environment has runbook folders of its own
        main = self.main_screen()
        if main is not None:
            while self.screen is not main:
                self.pop_screen()
            main.watch_environment(self.live)
        await old.close()
