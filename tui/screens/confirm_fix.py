"""The confirmation of a fix: its exact preview, the server it touches, and the word to type.

Every fix that changes something asks for a typed word, never a bare `yes`: the name of what it
changes, and for a destructive one the server with what it destroys (a key pattern that takes
every key wants the database and the count). In a read-only environment the dialog says why
nothing can run and offers only to close. A fix whose cause the diagnosis could not confirm is
preceded by `ConfirmGuess`, which says why it is a guess.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from providers.text import sanitize
from runbooks.fixing import PlannedFix
from tui.commands import CONFIRM_COMMANDS, GUESS_COMMANDS, bindings
from tui.widgets.key_footer import KeyFooter


class ConfirmFix(ModalScreen[str | None]):
    """Dismisses with what was typed (the gate checks it), or None when cancelled."""

    BINDINGS = bindings(CONFIRM_COMMANDS)

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
            where = f"on {sanitize(planned.server)}"
            if planned.variables:
                where += f"\nwith {sanitize(planned.variables)}"
            if planned.cwd:
                where += f"\nin {sanitize(planned.cwd)}"
            yield Static(where, id="confirm-server")
            if self.read_only:
                yield Static(
                    f"{self.environment} is read-only (inventory read_only or --read-only): "
                    "nothing can run here. Press Escape to close.",
                    id="confirm-blocked",
                )
            else:
                word = planned.confirmation_word
                yield Static(f"Type {word!r} to run it, Escape to cancel", id="confirm-prompt")
                yield Input(id="confirm-input")
        yield KeyFooter()

    def on_mount(self) -> None:
        if not self.read_only:
            self.query_one(Input).focus()

    @on(Input.Submitted, "#confirm-input")
    def submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmGuess(ModalScreen[bool]):
    """Before the fix of a cause the diagnosis could not confirm nor rule out: why it is a
    guess; `g` goes on to the typed confirmation, Escape cancels."""

    BINDINGS = bindings(GUESS_COMMANDS)

    def __init__(self, planned: PlannedFix) -> None:
        super().__init__()
        self.planned = planned

    def compose(self) -> ComposeResult:
        planned = self.planned
        why = (
            "\n".join(f"  • {sanitize(line)}" for line in planned.verdict_why) or "  • no evidence"
        )
        with Vertical(id="confirm-dialog"):
            yield Static(f"Unconfirmed cause: {sanitize(planned.cause.title)}", id="confirm-title")
            yield Static(
                "The diagnosis could not tell whether this cause holds:\n"
                f"{why}\nIts fix may change {sanitize(planned.server)} for nothing.",
                id="confirm-preview",
            )
            yield Static("g: go on to the confirmation · Escape: cancel", id="confirm-prompt")
        yield KeyFooter()

    def action_go_on(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
