"""The walkthrough: symptom -> runbooks -> checks live -> causes ranked -> fix -> verification.

Workers talk to providers and post messages; this screen's handlers own the state. Every fix goes
through the gate (read-only, typed confirmation, audit log) and is followed by the runbook's
verify checks, shown before and after. The transcript can be exported at any point.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Header, Input, OptionList, Static
from textual.widgets.option_list import Option

from providers.contract import CheckResult, Node, utc_now
from providers.environment import LiveEnvironment
from providers.registry import check_catalogue
from providers.text import sanitize
from runbooks.engine import BindingError, Diagnosis, bind, rank, run_step
from runbooks.fixing import FixReport, PlannedFix, apply_fix, plan_fix
from runbooks.gate import AuditLog, Gate, Refused
from runbooks.loader import Library
from runbooks.model import CheckStep, Runbook
from runbooks.suggest import suggest
from runbooks.transcript import Transcript
from tui.commands import WALKTHROUGH_COMMANDS, bindings
from tui.screens.confirm_fix import ConfirmFix, ConfirmGuess
from tui.widgets.diagnosis_view import DiagnosisView
from tui.widgets.glyphs import check_badge
from tui.widgets.key_footer import KeyFooter


def transcripts_dir() -> Path:
    state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return state / "triage" / "transcripts"


class Walkthrough(Screen[None]):
    BINDINGS = bindings(WALKTHROUGH_COMMANDS)

    @dataclass
    class StepFinished(Message):
        step_id: str
        result: CheckResult

    @dataclass
    class Diagnosed(Message):
        diagnosis: Diagnosis

    @dataclass
    class FixPlanned(Message):
        planned: PlannedFix

    @dataclass
    class FixApplied(Message):
        planned: PlannedFix
        report: FixReport
        forced: bool = False

    @dataclass
    class FixNotRun(Message):
        """The gate refused the fix (read-only, not confirmed, its cause ruled out)."""

        planned: PlannedFix
        reason: str

    @dataclass
    class Failed(Message):
        """A worker could not do its part; the text says what and why."""

        text: str

    def __init__(
        self,
        live: LiveEnvironment,
        library: Library,
        *,
        symptom: str = "",
        runbook_id: str | None = None,
        node: Node | None = None,
    ) -> None:
        super().__init__()
        self.live = live
        self.library = library
        self.symptom = symptom
        self.preselected = runbook_id
        self.node = node
        self.runbook: Runbook | None = None
        self.diagnosis: Diagnosis | None = None
        self.transcript = Transcript(live.name, symptom=symptom)
        self.gate = Gate(
            live.name,
            read_only=live.read_only,
            audit=AuditLog(live.settings.audit_log),
        )

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="")
        with ContentSwitcher(initial="walk-choose", id="walk-stages"):
            with Vertical(id="walk-choose"):
                yield Input(
                    value=self.symptom,
                    placeholder="Describe the symptom or paste an error message",
                    id="walk-symptom",
                )
                yield Input(placeholder="params: name=value ... (optional)", id="walk-params")
                yield OptionList(id="walk-runbooks")
                yield Static("", id="walk-why")
            with Vertical(id="walk-diagnosis"):
                yield DiagnosisView(id="walk-view")
                yield Static("", id="walk-result")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.title = "triage walkthrough"
        self._set_subtitle()
        self.query_one("#walk-runbooks", OptionList).border_title = "Runbooks"
        self._list_runbooks(self.symptom)
        if self.preselected and self.preselected in self.library.runbooks:
            self.start(self.library.runbooks[self.preselected])
        else:
            self.query_one("#walk-symptom", Input).focus()

    # Choosing a runbook.

    @on(Input.Changed, "#walk-symptom")
    def symptom_changed(self, event: Input.Changed) -> None:
        self.symptom = event.value
        self.transcript.symptom = event.value
        self._list_runbooks(event.value)

    @on(Input.Submitted, "#walk-symptom")
    def symptom_submitted(self) -> None:
        self.query_one("#walk-runbooks", OptionList).focus()

    def _list_runbooks(self, text: str) -> None:
        options = self.query_one("#walk-runbooks", OptionList)
        options.clear_options()
        if text.strip():
            found = suggest(text, self.library.runbooks.values(), limit=20)
            for item in found:
                options.add_option(
                    Option(Text(f"{item.score:>5.1f}  {item.runbook.title}"), id=item.runbook.id)
                )
            why = "\n".join(found[0].reasons) if found else "No runbook matches these words."
        else:
            for runbook in sorted(self.library.runbooks.values(), key=lambda r: r.title):
                options.add_option(Option(runbook.title, id=runbook.id))
            why = "Type a symptom to rank the runbooks, or pick one."
        self.query_one("#walk-why", Static).update(Text(why))
        if options.option_count:
            options.highlighted = 0

    @on(OptionList.OptionSelected, "#walk-runbooks")
    def runbook_selected(self, event: OptionList.OptionSelected) -> None:
        self.start(self.library.runbooks[str(event.option.id)])

    def _given_params(self) -> dict[str, str]:
        given: dict[str, str] = {}
        for pair in self.query_one("#walk-params", Input).value.split():
            name, sep, value = pair.partition("=")
            if sep and name:
                given[name] = value
        return given

    def start(self, runbook: Runbook) -> None:
        try:
            params = bind(runbook, self.live, self._given_params(), node=self.node)
        except BindingError as error:
            self.query_one("#walk-why", Static).update(Text(str(error)))
            self.query_one("#walk-params", Input).focus()
            self.notify(str(error), severity="warning", timeout=6)
            return
        self.runbook = runbook
        self.query_one(ContentSwitcher).current = "walk-diagnosis"
        self.query_one(DiagnosisView).begin(runbook)
        self.query_one("#walk-result", Static).update("")
        self._set_subtitle(runbook.id)
        self.diagnose(runbook, params)

    def _set_subtitle(self, runbook_id: str = "") -> None:
        """Where this runs (environment, contexts), what runs, and whether fixes are blocked."""
        parts = [self.live.name, self.live.context_line(), runbook_id]
        parts.append("read-only" if self.live.read_only else "")
        self.sub_title = " · ".join(part for part in parts if part)

    # Workers: provider calls only; results go back as messages.

    @work(exclusive=True, group="walk-diagnose", exit_on_error=False)
    async def diagnose(self, runbook: Runbook, params: dict[str, object]) -> None:
        kinds = {name: kind for name, (kind, _) in check_catalogue().items()}
        started_at = utc_now()

        async def run(step: CheckStep) -> tuple[CheckStep, CheckResult]:
            return step, await run_step(runbook, step, self.live, params, kinds)

        results: dict[str, CheckResult] = {}
        for finished in asyncio.as_completed([run(step) for step in runbook.checks]):
            step, result = await finished
            results[step.id] = result
            self.post_message(self.StepFinished(step.id, result))
        ordered = {step.id: results[step.id] for step in runbook.checks}
        self.post_message(
            self.Diagnosed(
                Diagnosis(
                    runbook,
                    self.live.name,
                    dict(params),
                    ordered,
                    rank(runbook, ordered),
                    started_at,
                )
            )
        )

    @work(exclusive=True, group="walk-fix", exit_on_error=False)
    async def plan(self, diagnosis: Diagnosis, cause_index: int, fix_index: int) -> None:
        cause = diagnosis.causes[cause_index].cause
        try:
            self.post_message(
                self.FixPlanned(await plan_fix(diagnosis, cause, fix_index, self.live))
            )
        except (BindingError, KeyError, ValueError, TimeoutError) as error:
            self.post_message(self.Failed(f"could not prepare the fix: {error}"))

    @work(exclusive=True, group="walk-fix", exit_on_error=False)
    async def apply(
        self, planned_fix: PlannedFix, confirmation: str | None, force: bool = False
    ) -> None:
        assert self.diagnosis is not None
        try:
            report = await apply_fix(
                planned_fix, self.diagnosis, self.live, self.gate, confirmation, force=force
            )
        except Refused as error:
            self.post_message(self.FixNotRun(planned_fix, str(error)))
            return
        self.post_message(self.FixApplied(planned_fix, report, force and planned_fix.needs_force))

    # Handlers: they own the state.

    def on_walkthrough_step_finished(self, message: StepFinished) -> None:
        self.query_one(DiagnosisView).record(message.step_id, message.result)

    def on_walkthrough_diagnosed(self, message: Diagnosed) -> None:
        self.diagnosis = message.diagnosis
        self.transcript.record_diagnosis(message.diagnosis)
        view = self.query_one(DiagnosisView)
        view.show(message.diagnosis)
        view.query_one("#walk-causes", OptionList).focus()

    def on_diagnosis_view_fix_chosen(self, message: DiagnosisView.FixChosen) -> None:
        if self.diagnosis is None:
            return
        fix = message.cause.cause.fixes[message.index]
        if fix.kind == "manual":
            self.notify(f"Done by hand: {fix.manual}", timeout=8)
            return
        self.plan(self.diagnosis, self.diagnosis.causes.index(message.cause), message.index)

    def on_walkthrough_fix_planned(self, message: FixPlanned) -> None:
        planned = message.planned
        if planned.refused:  # the gate says why, and records it
            self._result(f"Not run: cause {planned.cause.id} is ruled out...")
            self.apply(planned, None)
        elif planned.needs_force and not self.live.read_only:

            def decided(go_on: bool | None) -> None:
                if go_on:
                    self._confirm(planned, force=True)
                else:
                    self._cancelled(planned, "cancelled: its cause is unconfirmed")

            self.app.push_screen(ConfirmGuess(planned), decided)
        else:
            self._confirm(planned, force=False)

    def _confirm(self, planned: PlannedFix, *, force: bool) -> None:
        def confirmed(typed: str | None) -> None:
            if self.live.read_only:
                self.apply(planned, None)  # refused by the gate, which records it
            elif typed is None:
                self._cancelled(planned, "cancelled at the confirmation")
            else:
                self._result(f"Running on {planned.server}: {planned.preview}")
                self.apply(planned, typed, force)

        self.app.push_screen(
            ConfirmFix(planned, read_only=self.live.read_only, environment=self.live.name),
            confirmed,
        )

    def _cancelled(self, planned: PlannedFix, reason: str) -> None:
        self.transcript.record_refusal(planned.cause, planned.fix, planned.server, reason)
        self.notify(f"Fix {reason}; nothing was changed.", timeout=4)

    def on_walkthrough_fix_not_run(self, message: FixNotRun) -> None:
        planned = message.planned
        self.transcript.record_refusal(planned.cause, planned.fix, planned.server, message.reason)
        self._result(f"Not run: {message.reason}")
        self.notify(f"Not run: {message.reason}", severity="warning", timeout=8)

    def on_walkthrough_fix_applied(self, message: FixApplied) -> None:
        report = message.report
        self.transcript.record_fix(message.planned, report, forced=message.forced)
        self.transcript.record_verification(report.before, report.after)
        lines = Text(f"{report.outcome.value.upper()}: {sanitize(report.summary)}\n")
        for line in report.output[-5:]:
            lines.append(f"  | {sanitize(line)}\n", style="dim")
        if report.effect:
            lines.append(f"Effect: {sanitize(report.effect)}\n")
        if report.after:
            lines.append("Verify checks:\n")
        for step, after in report.after.items():
            before = report.before.get(step)
            lines.append(f"  {step}: ")
            lines.append_text(check_badge(before.status) if before else Text("-"))
            lines.append(" -> ")
            lines.append_text(check_badge(after.status))
            lines.append(f" {sanitize(after.summary)}\n")
        self.query_one("#walk-result", Static).update(lines)

    def on_walkthrough_failed(self, message: Failed) -> None:
        self._result(message.text)
        self.notify(message.text, severity="error", timeout=8)

    def _result(self, text: str) -> None:
        self.query_one("#walk-result", Static).update(Text(sanitize(text)))

    def result_text(self) -> str:
        """What the result area says now (the fix's outcome and its verification)."""
        return str(self.query_one("#walk-result", Static).render())

    # Actions. Digits pick a fix of the highlighted cause.

    def key_1(self) -> None:
        self.query_one(DiagnosisView).choose_fix(1)

    def key_2(self) -> None:
        self.query_one(DiagnosisView).choose_fix(2)

    def key_3(self) -> None:
        self.query_one(DiagnosisView).choose_fix(3)

    def action_back(self) -> None:
        switcher = self.query_one(ContentSwitcher)
        if switcher.current == "walk-diagnosis":
            switcher.current = "walk-choose"
            self.query_one("#walk-runbooks", OptionList).focus()
        else:
            self.app.pop_screen()

    def action_rerun(self) -> None:
        if self.runbook is not None:
            self.start(self.runbook)

    def action_export(self) -> None:
        self.export_transcript(self.transcript.to_markdown(), self.transcript.to_json())

    @work(group="walk-export", exit_on_error=False)
    async def export_transcript(self, markdown: str, document: str) -> None:
        folder = transcripts_dir()
        stem = f"{utc_now():%Y%m%dT%H%M%SZ}-{self.runbook.id if self.runbook else 'walkthrough'}"

        def write() -> Path:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{stem}.json").write_text(document, encoding="utf-8")
            path = folder / f"{stem}.md"
            path.write_text(markdown, encoding="utf-8")
            return path

        path = await asyncio.to_thread(write)
        self.notify(f"Transcript written to {path} (and .json)", timeout=8)
