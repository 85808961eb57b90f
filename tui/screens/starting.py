"""The first screen of `triage`: drawn before the inventory is read.

Reading the inventory means importing its validation library (pydantic, about a fifth of a
second); the operator sees the app at once, and the main screen as soon as the inventory is in.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Header, Static


class StartingScreen(Screen[None]):
    def __init__(self, config: str | None) -> None:
        super().__init__()
        self.config = config

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="")
        where = self.config or "the inventory (or what this machine reaches)"
        yield Static(f"Reading {where}…", id="starting", markup=False)
