"""A check's whole text: its summary (or why it could not run, or was skipped), its evidence
and its facts, wrapped, scrolled from the keyboard. The tables cut a summary at their edge."""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from providers.contract import CheckResult
from providers.text import sanitize
from providers.units import rough_ms
from tui.commands import DETAIL_COMMANDS, bindings
from tui.widgets.glyphs import check_badge
from tui.widgets.key_footer import KeyFooter

FACT_CHARACTERS = 400  # of one fact's value: a log tail is read in the log pane


class CheckDetail(ModalScreen[None]):
    """Enter or Escape closes it."""

    BINDINGS = bindings(DETAIL_COMMANDS)

    def __init__(self, result: CheckResult, node: str = "") -> None:
        super().__init__()
        self.result = result
        self.node = node

    def compose(self) -> ComposeResult:
        result = self.result
        on = f" on {sanitize(self.node)}" if self.node else ""
        with Vertical(id="detail-dialog"):
            yield Static(f"{result.check}{on}", id="detail-title", markup=False)
            with VerticalScroll(id="detail-body", can_focus=False):
                yield Static(self.text(), id="detail-text")
        yield KeyFooter()

    def text(self) -> Text:
        result = self.result
        took = rough_ms(result.duration * 1000)
        text = Text.assemble(check_badge(result.status), f" {took}\n")
        text.append(f"{sanitize(result.summary)}\n")
        if result.evidence:
            text.append("\nEvidence\n", style="bold")
            for line in result.evidence:
                text.append(f"{sanitize(line)}\n")
        if result.facts:
            text.append("\nFacts (what runbooks match on)\n", style="bold")
            for name, value in result.facts.items():
                text.append(f"{sanitize(name)}: ", style="bold")
                text.append(f"{sanitize(_fact(value))}\n")
        text.rstrip()
        return text

    def action_close(self) -> None:
        self.dismiss(None)

    def action_scroll(self, how: str) -> None:
        body = self.query_one("#detail-body", VerticalScroll)
        {
            "down": body.scroll_down,
            "up": body.scroll_up,
            "page_down": body.scroll_page_down,
            "page_up": body.scroll_page_up,
        }[how](animate=False)


def _fact(value: Any) -> str:
    shown = value if isinstance(value, str) else json.dumps(value, default=str)
    return shown if len(shown) <= FACT_CHARACTERS else shown[: FACT_CHARACTERS - 1] + "…"
