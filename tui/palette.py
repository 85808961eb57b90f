"""The command palette: services, runbooks, symptoms and every command of the current screen.

Commands come from the same registry as the key bindings (tui/commands.py), so the palette and
the keys never disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider

from tui.commands import APP_COMMANDS, LOG_COMMANDS, LOG_VIEW_COMMANDS, SCREEN_COMMANDS, Command

if TYPE_CHECKING:
    from tui.app import TriageApp


class TriageCommands(Provider):
    """What the palette can find, each entry with what choosing it does."""

    def _commands(self) -> list[Command]:
        _, screen_commands = SCREEN_COMMANDS.get(type(self.screen).__name__, ("", ()))
        return [command for command in (*APP_COMMANDS, *screen_commands) if command.palette]

    def _named(self, command: Command) -> str:
        """`Show keys (?)`: its name and its first key as the footer shows it, remapped."""
        keys = command.keys(getattr(self.app, "keymap", {}))
        return f"{command.name} ({self.app.get_key_display(Binding(keys[0], ''))})"

    def _entries(self) -> Iterator[tuple[str, Callable[[], object], str]]:
        app: TriageApp = self.app  # type: ignore[assignment]
        screen = self.screen
        for command in self._commands():
            yield (
                self._named(command),
                partial(screen.run_action, command.action),
                f"command {command.id}",
            )
        log_panes = screen.query("LogTail")
        if log_panes:
            pane = log_panes.first()
            view = pane.query_one("LogView")  # the view's own moves act on it
            for commands, node in ((LOG_COMMANDS, pane), (LOG_VIEW_COMMANDS, view)):
                for command in commands:
                    if command.palette:
                        yield (
                            f"Log: {self._named(command)}",
                            partial(node.run_action, command.action),
                            f"command {command.id}",
                        )
        for node in app.known_nodes():
            yield (
                f"Service: {node.name}",
                partial(app.go_to_node, node.id),
                f"{node.kind}, {node.status.health.value}: {node.status.reason}",
            )
        if app.library is not None:
            for runbook in sorted(app.library.runbooks.values(), key=lambda r: r.title):
                yield (
                    f"Runbook: {runbook.title}",
                    partial(app.open_walkthrough, runbook_id=runbook.id),
                    runbook.id,
                )
                for symptom in runbook.symptoms:
                    yield (
                        f"Symptom: {symptom}",
                        partial(app.open_walkthrough, symptom=symptom, runbook_id=runbook.id),
                        runbook.title,
                    )

    async def discover(self) -> Hits:
        for text, run, help_text in self._entries():
            if not text.startswith("Symptom:"):
                yield DiscoveryHit(text, run, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, run, help_text in self._entries():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), run, help=help_text)
