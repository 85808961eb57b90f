"""The Textual app: composes the main screen and turns worker failures into notices."""

from __future__ import annotations

from textual.app import App
from textual.binding import Binding
from textual.worker import Worker, WorkerState

from providers.environment import LiveEnvironment
from providers.inventory import Inventory
from providers.redact import redact
from tui.screens.main_screen import MainScreen


class TriageApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "triage"
    BINDINGS = [Binding("q", "quit", "Quit", id="app.quit")]

    def __init__(
        self, inventory: Inventory, environment: str | None = None, *, read_only: bool = False
    ) -> None:
        super().__init__()
        self.live = LiveEnvironment(inventory, environment, read_only=read_only)

    def get_default_screen(self) -> MainScreen:
        return MainScreen(self.live)

    async def on_unmount(self) -> None:
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
