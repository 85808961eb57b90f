"""A diagnosis as it unfolds: checks with live progress, causes ranked, evidence and fixes."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, OptionList, Static
from textual.widgets.option_list import Option

from providers.contract import CheckResult
from providers.text import sanitize
from runbooks.engine import CauseAssessment, Diagnosis, Verdict, fix_command
from runbooks.model import Runbook
from tui.widgets.glyphs import GLYPH_STYLES, check_badge

VERDICT_STYLES = {
    Verdict.CONFIRMED: ("✖ confirmed", GLYPH_STYLES["status-fail"]),
    Verdict.LIKELY: ("▲ likely", GLYPH_STYLES["status-warn"]),
    Verdict.UNKNOWN: ("? unknown", GLYPH_STYLES["status-unknown"]),
    Verdict.RULED_OUT: ("✔ ruled out", GLYPH_STYLES["status-ok"]),
}


class DiagnosisView(Vertical):
    """Checks table, ranked causes, and the highlighted cause's evidence and fixes."""

    @dataclass
    class FixChosen(Message):
        """The operator picked fix `index` (0-based) of a cause."""

        cause: CauseAssessment
        index: int

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.diagnosis: Diagnosis | None = None
        self.highlighted: CauseAssessment | None = None
        self.results: dict[str, CheckResult] = {}  # by step id, as they finish

    def compose(self) -> ComposeResult:
        table: DataTable[str | Text] = DataTable(id="walk-checks", cursor_type="row")
        yield table
        yield OptionList(id="walk-causes")
        yield Static("", id="walk-detail")

    def on_mount(self) -> None:
        table = self.query_one("#walk-checks", DataTable)
        table.add_column("status", key="status", width=9)
        table.add_column("check", key="check")
        table.add_column("summary", key="summary")
        table.border_title = "Checks"
        table.border_subtitle = "Enter: whole text"
        causes = self.query_one("#walk-causes", OptionList)
        causes.border_title = "Causes"
        # In the border, so it stays in sight when a long explanation fills the pane below.
        causes.border_subtitle = "Enter: preview the first fix · 1-3: preview fix [n]"

    def begin(self, runbook: Runbook) -> None:
        """Show the runbook's checks as running; forget an earlier diagnosis."""
        self.diagnosis = None
        self.highlighted = None
        self.results = {}
        table = self.query_one("#walk-checks", DataTable)
        table.clear()
        for step in runbook.checks:
            table.add_row(Text("… running", style="dim"), step.use, "", key=step.id)
        self.query_one("#walk-causes", OptionList).clear_options()
        self._detail("Running the checks...")

    def record(self, step_id: str, result: CheckResult) -> None:
        self.results[step_id] = result
        table = self.query_one("#walk-checks", DataTable)
        table.update_cell(step_id, "status", check_badge(result.status))
        table.update_cell(step_id, "summary", sanitize(result.summary), update_width=True)

    def show(self, diagnosis: Diagnosis) -> None:
        """The causes, ranked; the first is highlighted with its evidence and fixes."""
        self.diagnosis = diagnosis
        for step_id, result in diagnosis.results.items():
            self.record(step_id, result)
        causes = self.query_one("#walk-causes", OptionList)
        causes.clear_options()
        for index, item in enumerate(diagnosis.causes):
            word, style = VERDICT_STYLES[item.verdict]
            prompt = Text.assemble((f"{word:<12}", style), sanitize(item.cause.title))
            causes.add_option(Option(prompt, id=str(index)))
        if diagnosis.causes:
            causes.highlighted = 0
            self._explain(diagnosis.causes[0])
        else:
            self._detail("This runbook names no causes.")

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if self.diagnosis is not None and event.option_list.id == "walk-causes":
            event.stop()
            self._explain(self.diagnosis.causes[int(event.option.id or 0)])

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """Enter on a cause picks its first runnable fix; digits pick another."""
        if self.diagnosis is None or event.option_list.id != "walk-causes":
            return
        event.stop()
        cause = self.diagnosis.causes[int(event.option.id or 0)]
        runnable = [i for i, fix in enumerate(cause.cause.fixes) if fix.kind != "manual"]
        if runnable:
            self.post_message(self.FixChosen(cause, runnable[0]))
        else:
            self.notify("This cause has no fix to run; its steps are shown below.", timeout=4)

    def choose_fix(self, number: int) -> None:
        if self.highlighted is not None and 1 <= number <= len(self.highlighted.cause.fixes):
            self.post_message(self.FixChosen(self.highlighted, number - 1))

    def _explain(self, item: CauseAssessment) -> None:
        self.highlighted = item
        assert self.diagnosis is not None
        lines = [f"{item.verdict.value.upper()}: {item.cause.title}"]
        if item.cause.description:
            lines.append(item.cause.description)
        lines += [f"  • {sanitize(entry.explanation)}" for entry in item.evidence]
        for number, fix in enumerate(item.cause.fixes, start=1):
            if fix.run:
                how = fix_command(fix, self.diagnosis.params)
            else:
                how = fix.action or f"by hand: {fix.manual}"
            lines.append(f"  [{number}] {fix.title}: {sanitize(str(how))}")
        self._detail("\n".join(lines))

    def _detail(self, text: str) -> None:
        self.query_one("#walk-detail", Static).update(Text(text))
