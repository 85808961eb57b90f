"""The confirmation of a fix: its exact preview, and what the operator must type to run it.

A destructive fix needs the target's name typed; a safe one needs `yes`. In a read-only
environment the dialog says why nothing can run and offers only to close.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from providers.text import sanitize
from runbooks.fixing import PlannedFix


class ConfirmFix(ModalScreen[str | None]):
    """Dismisses with what was typed (the gate checks it), or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="confirm.cancel")]

    def __init__(self, planned: PlannedFix, *, read_only: bool, environment: str) -> None:
        super().__init__()
        self.planned = planned
        self.read_only = read_only
        self.environment = environment

    def compose(self) -> ComposeResult:
        planned = self.planned
        with Vertical(id="confirm-dialog"):
            kind = "DESTRUCTIVE fix" if planned.destructive else "Fix"
            # Static, not Label: a long title wraps instead of being cut at 80 columns.
            yield Static(f"{kind}: {sanitize(planned.title)}", id="confirm-title")
            yield Static(sanitize(planned.preview), id="confirm-preview")
            if self.read_only:
                yield Static(
                    f"{self.environment} is read-only (inventory read_only or --read-only): "
                    "nothing can run here. Press Escape to close.",
                    id="confirm-blocked",
                )
            else:
                word = planned.confirmation_word
                prompt = (
                    f"Type {word!r} to run it, Escape to cancel"
                    if planned.destructive
                    else "Type yes to run it, Escape to cancel"
                )
                yield Static(prompt, id="confirm-prompt")
                yield Input(placeholder=word if not planned.destructive else "", id="confirm-input")

    def on_mount(self) -> None:
        if not self.read_only:
            self.query_one(Input).focus()

    @on(Input.Submitted, "#confirm-input")
    def submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)
