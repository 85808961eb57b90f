"""Choosing the inventory environment to watch, from the keyboard."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from providers.inventory import Inventory


class EnvironmentPicker(ModalScreen[str | None]):
    """Dismisses with the chosen environment's name, or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="environments.cancel")]

    def __init__(self, inventory: Inventory, current: str) -> None:
        super().__init__()
        self.inventory = inventory
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="environment-dialog"):
            yield Label(f"Environments of {self.inventory.source or 'the inventory'}")
            options = []
            for name, environment in self.inventory.environments.items():
                marks = [f"{len(environment.targets)} targets"]
                if environment.read_only:
                    marks.append("read-only")
                if name == self.current:
                    marks.append("current")
                text = f"{name}  ({', '.join(marks)})"
                if environment.description:
                    text += f"  {environment.description}"
                options.append(Option(text, id=name))
            yield OptionList(*options, id="environment-list")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        names = list(self.inventory.environments)
        options.highlighted = names.index(self.current) if self.current in names else 0
        options.focus()

    @on(OptionList.OptionSelected)
    def chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(str(event.option.id))

    def action_cancel(self) -> None:
        self.dismiss(None)
