"""The problems list: what is wrong right now, worst first, each with the runbooks to run."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from tui.commands import PROBLEMS_COMMANDS, bindings
from tui.problems import Problem
from tui.widgets.glyphs import GLYPH_STYLES
from tui.widgets.key_footer import KeyFooter

SEVERITY_BADGES = {
    0: ("✖ fail ", "status-fail"),
    1: ("! error", "status-error"),
    2: ("▲ warn ", "status-warn"),
}


class ProblemsScreen(ModalScreen[Problem | None]):
    """Enter opens the walkthrough for a problem, with its best runbook chosen."""

    BINDINGS = bindings(PROBLEMS_COMMANDS)

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__()
        self.problems = problems

    def compose(self) -> ComposeResult:
        with Vertical(id="problems-dialog"):
            yield Label(id="problems-count")
            yield OptionList(id="problems-list")
        yield KeyFooter()

    def on_mount(self) -> None:
        self._fill()

    def show_problems(self, problems: list[Problem]) -> None:
        """The same problems with their runbooks, once the library has loaded: filled in
        place (recomposing could race the screen's own mount)."""
        self.problems = problems
        if self.is_mounted:
            self._fill()

    def _fill(self) -> None:
        count = len(self.problems)
        self.query_one("#problems-count", Label).update(
            f"Problems right now: {count}" if count else "No problems right now"
        )
        listed = self.query_one(OptionList)
        highlighted = listed.highlighted or 0  # where the operator was, when refilled
        listed.clear_options()
        listed.add_options(_option(index, problem) for index, problem in enumerate(self.problems))
        listed.highlighted = min(highlighted, count - 1) if count else None
        listed.focus()

    @on(OptionList.OptionSelected)
    def chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.problems[int(event.option.id or 0)])

    def action_close(self) -> None:
        self.dismiss(None)


def _option(index: int, problem: Problem) -> Option:
    word, style = SEVERITY_BADGES[problem.severity]
    line = Text.assemble((word, GLYPH_STYLES[style]), f"  {problem.target}  ", problem.text)
    if problem.suggestions:
        line.append(f"\n         → {problem.suggestions[0].runbook.title}", style="dim")
    else:
        line.append("\n         → no runbook matches; Enter opens the walkthrough", style="dim")
    return Option(line, id=str(index))
