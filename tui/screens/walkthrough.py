"""The walkthrough: what is failing (at the selected node, or as the symptom says) -> the causes
found live, ranked across runbooks -> a cause's evidence and fixes -> fix -> verification.

It opens on the selected node and diagnoses at once (the symptom is optional; Enter in its field
diagnoses again with it): the list shows the causes found first, then every runbook, ranked by
the symptom's words, to run one by hand. Ranking and diagnosing run off the UI loop (a pasted
megabyte never holds up a key). Workers talk to providers and post messages; this screen's
handlers own the state. Every fix goes through the gate (read-only, typed confirmation, audit
log) and is followed by the runbook's verify checks, shown before and after. The transcript can
be exported at any point.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import ContentSwitcher, DataTable, Header, Input, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from providers.contract import CheckResult, Node, utc_now
from providers.environment import LiveEnvironment
from providers.registry import check_catalogue
from providers.text import sanitize
from runbooks.candidates import bind_from_scene
from runbooks.diagnosis import Finding, Report, diagnose_symptom
from runbooks.engine import BindingError, Diagnosis, Verdict, bind, rank, run_step
from runbooks.fixing import FixReport, PlannedFix, apply_fix, plan_fix
from runbooks.gate import AuditLog, Gate, Refused, state_folder
from runbooks.loader import Library
from runbooks.model import CheckStep, Runbook
from runbooks.scene import Scene
from runbooks.suggest import Suggestion, suggest
from runbooks.transcript import Transcript
from tui.commands import WALKTHROUGH_COMMANDS, bindings
from tui.screens.confirm_fix import ConfirmFix, ConfirmGuess
from tui.widgets.diagnosis_view import VERDICT_STYLES, DiagnosisView
from tui.widgets.glyphs import check_badge
from tui.widgets.key_footer import KeyFooter

FOUND = "found:"  # option ids of the causes found: FOUND + the finding's index
SHOWN_FOUND = 8  # findings listed; the rest are ruled out or about something else


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
    class LiveDiagnosed(Message):
        """The diagnosis across runbooks of what is live, for this symptom and node."""

        report: Report
        symptom: str

    @dataclass
    class TextRanked(Message):
        """The runbooks ranked by the symptom's words alone."""

        text: str
        found: list[Suggestion]

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
        scene: Scene | None = None,
    ) -> None:
        super().__init__()
        self.live = live
        self.library = library
        self.symptom = symptom
        self.preselected = runbook_id
        self.node = node
        self.scene = scene  # the main screen's last sweep, if recent: the first diagnosis's
        self.runbook: Runbook | None = None
        self.params: dict[str, object] | None = None
        self.diagnosis: Diagnosis | None = None
        self.report: Report | None = None
        self.reported_for: str | None = None  # the symptom the report answers
        self.ranked: list[Suggestion] = []
        self.wanting_params: Runbook | None = None  # asked for a value: Enter in params runs it
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
                    placeholder="Symptom or pasted error (optional); Enter diagnoses with it",
                    id="walk-symptom",
                )
                yield Input(placeholder="params: name=value ... (optional)", id="walk-params")
                yield Static("", id="walk-looking")
                yield OptionList(id="walk-runbooks")
                yield Static("", id="walk-why")
            with Vertical(id="walk-diagnosis"):
                yield DiagnosisView(id="walk-view")
                yield Static("", id="walk-result")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.title = "triage walkthrough"
        self._set_subtitle()
        self.query_one("#walk-runbooks", OptionList).border_title = "Causes found · runbooks"
        if self.preselected and self.preselected in self.library.runbooks:
            self._fill_list()
            self.start(self.library.runbooks[self.preselected])
            return
        self.rank_text(self.symptom)
        self.diagnose_live(self.symptom)
        if self.symptom.strip() or self.node is None:
            self.query_one("#walk-symptom", Input).focus()
        else:
            self.query_one("#walk-runbooks", OptionList).focus()

    # What is failing: the diagnosis across runbooks, and the runbooks by the symptom's words.

    @on(Input.Changed, "#walk-symptom")
    def symptom_changed(self, event: Input.Changed) -> None:
        self.symptom = event.value
        self.transcript.symptom = event.value
        self.rank_text(event.value)

    @on(Input.Submitted, "#walk-symptom")
    def symptom_submitted(self) -> None:
        self.diagnose_live(self.symptom)
        self.query_one("#walk-runbooks", OptionList).focus()

    @work(exclusive=True, group="walk-rank", thread=True, exit_on_error=False)
    def rank_text(self, text: str) -> None:
        """The runbooks by the symptom's words, in a thread (suggest caps what it reads)."""
        found = suggest(text, self.library.runbooks.values(), limit=20) if text.strip() else []
        if not get_current_worker().is_cancelled:
            self.post_message(self.TextRanked(text, found))

    @work(exclusive=True, group="walk-live", exit_on_error=False)
    async def diagnose_live(self, symptom: str) -> None:
        """Every runbook that may apply, bound to what it is about, run, ranked (the ranking
        itself in a thread); the main screen's sweep spares a sweep the first time."""
        self.reported_for = None
        self.call_later(self._fill_list)
        scene, self.scene = self.scene, None
        selected = self.node.id if self.node is not None else None
        report = await diagnose_symptom(
            symptom, self.live, self.library.runbooks.values(), scene=scene, selected=selected
        )
        self.post_message(self.LiveDiagnosed(report, symptom))

    def on_walkthrough_text_ranked(self, message: TextRanked) -> None:
        if message.text != self.symptom:
            return  # typed on since
        self.ranked = message.found
        self._fill_list()

    def on_walkthrough_live_diagnosed(self, message: LiveDiagnosed) -> None:
        self.report = message.report
        self.reported_for = message.symptom
        self._fill_list()

    def _found(self) -> list[Finding]:
        if self.report is None:
            return []
        found = [
            f
            for f in self.report.findings
            if f.cause.verdict in (Verdict.CONFIRMED, Verdict.LIKELY)
        ]
        if found:
            return found[:SHOWN_FOUND]
        # Nothing found: what could not be decided is all there is to look at.
        return [f for f in self.report.findings if f.cause.verdict is Verdict.UNKNOWN][:3]

    def _fill_list(self) -> None:
        """The causes found (best first), then the runbooks: by the symptom's words when it
        has some, else all by title. The first entry is highlighted."""
        options = self.query_one("#walk-runbooks", OptionList)
        options.clear_options()
        looking = self.query_one("#walk-looking", Static)
        if self.report is None or self.reported_for is None:
            where = f" at {self.node.name}" if self.node is not None else ""
            looking.update(Text(f"Diagnosing{where}: reading what is live...", style="dim"))
            options.add_option(Option(Text("… diagnosing", style="dim"), disabled=True))
        else:
            looking.update(self._looking_line(self.report))
            for index, finding in enumerate(self._found()):
                options.add_option(Option(self._finding_line(finding), id=f"{FOUND}{index}"))
            if not self._found():
                options.add_option(Option(Text("no cause found", style="dim"), disabled=True))
        options.add_option(Option(Text("── run a runbook ──", style="dim"), disabled=True))
        listed: list[Runbook] = [item.runbook for item in self.ranked]
        if not self.symptom.strip():
            listed = sorted(self.library.runbooks.values(), key=lambda r: r.title)
        if self.report is not None:
            # Those that apply to what is looked at first, those that cannot run here last.
            order = {c.runbook.id: i for i, c in reversed(list(enumerate(self.report.candidates)))}
            applies = {c.runbook.id for c in self.report.candidates if c.entity is not None}
            if not self.symptom.strip():
                listed.sort(key=lambda r: order.get(r.id, len(order)) if r.id in applies else 1e9)
            listed.sort(key=lambda r: r.id not in self.report.can_run)
        for runbook in listed:
            title = Text(runbook.title)
            if self.report is not None and runbook.id not in self.report.can_run:
                title.stylize("dim")
                title.append(" (cannot run here)", style="dim italic")
            options.add_option(Option(self._one_row(title), id=runbook.id))
        first = next(
            (i for i in range(options.option_count) if not options.get_option_at_index(i).disabled),
            None,
        )
        options.highlighted = first
        self._explain_option(options.get_option_at_index(first).id if first is not None else None)

    def _looking_line(self, report: Report) -> Text:
        if report.focus:
            shown = ", ".join(f"{entity.node.name} ({how})" for entity, how in report.focus[:3])
            said = f"Looking at {shown}"
        else:
            said = "Nothing named or selected is failing"
        if report.related:
            said += f" · depends on {', '.join(e.node.name for e in report.related[:3])}"
        line = Text(sanitize(said))
        line.append(f" · {report.seconds:.1f} s", style="dim")
        if self.reported_for != self.symptom:
            line.append(" · Enter in the symptom diagnoses it", style="dim")
        width = self.query_one("#walk-looking", Static).content_size.width
        if width > 20:
            line.truncate(width, overflow="ellipsis")
        return line

    def _finding_line(self, finding: Finding) -> Text:
        """One row: the verdict, the cause, and what it is about when that is not the node
        the walkthrough opened on."""
        word, style = VERDICT_STYLES[finding.cause.verdict]
        entity = finding.candidate.entity
        about = ""
        if entity is not None and (self.node is None or entity.node.id != self.node.id):
            about = f" · {entity.node.name}"
        return self._one_row(
            Text.assemble(
                (f"{word:<12}", style),
                sanitize(finding.cause.cause.title),
                (sanitize(about), "dim"),
            )
        )

    def _one_row(self, line: Text) -> Text:
        """One row per entry: the list stays short and its first entries in sight."""
        width = self.query_one("#walk-runbooks", OptionList).content_size.width
        if width > 20:
            line.truncate(width - 2, overflow="ellipsis")
        return line

    @on(OptionList.OptionHighlighted, "#walk-runbooks")
    def option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._explain_option(event.option.id)

    def _explain_option(self, option_id: str | None) -> None:
        why = self.query_one("#walk-why", Static)
        if option_id is None:
            why.update("")
        elif option_id.startswith(FOUND):
            finding = self._found()[int(option_id[len(FOUND) :])]
            lines = [f"{finding.candidate.runbook.id}: {finding.cause.cause.id}"]
            lines += [f"  • {entry.explanation}" for entry in finding.cause.evidence if entry.holds]
            why.update(Text(sanitize("\n".join(lines))))
        else:
            reasons: list[str] = next(
                (list(i.reasons) for i in self.ranked if i.runbook.id == option_id), []
            )
            why.update(Text(sanitize("\n".join(reasons) or self.library.runbooks[option_id].title)))

    @on(OptionList.OptionSelected, "#walk-runbooks")
    def runbook_selected(self, event: OptionList.OptionSelected) -> None:
        option_id = str(event.option.id)
        if option_id.startswith(FOUND):
            self.open_finding(self._found()[int(option_id[len(FOUND) :])])
        else:
            self.start(self.library.runbooks[option_id])

    def open_finding(self, finding: Finding) -> None:
        """A cause found: its runbook's run, already made, shown as the diagnosis judged it."""
        runbook = finding.candidate.runbook
        self.wanting_params = None
        self.runbook, self.params = runbook, dict(finding.diagnosis.params)
        self.query_one(ContentSwitcher).current = "walk-diagnosis"
        self.query_one(DiagnosisView).begin(runbook)
        self.query_one("#walk-result", Static).update("")
        self._set_subtitle(runbook.id)
        self.post_message(self.Diagnosed(finding.presented()))

    @on(Input.Submitted, "#walk-params")
    def params_submitted(self) -> None:
        """Enter in the params field runs the runbook that asked for them (else the entry
        highlighted in the list): one Enter, not a second pick in the list."""
        if self.wanting_params is not None:
            self.start(self.wanting_params)
            return
        options = self.query_one("#walk-runbooks", OptionList)
        if options.highlighted is not None:
            options.focus()
            options.action_select()

    def _given_params(self) -> dict[str, str]:
        given: dict[str, str] = {}
        for pair in self.query_one("#walk-params", Input).value.split():
            name, sep, value = pair.partition("=")
            if sep and name:
                given[name] = value
        return given

    def start(self, runbook: Runbook, params: dict[str, object] | None = None) -> None:
        """Run one runbook, bound as a diagnosis binds it (the selected node, a failing
        entity of its kinds) when the screen's sweep is at hand, else from the node and the
        inventory; the params field wins."""
        try:
            if params is None:
                params = self._bind(runbook)
        except BindingError as error:
            said = str(error)
            if error.missing:
                said = (
                    f"{runbook.id} needs {', '.join(error.missing)}: type name=value in the "
                    "params field, then Enter"
                )
            self.query_one("#walk-why", Static).update(Text(sanitize(said)))
            self.query_one("#walk-params", Input).focus()
            self.notify(sanitize(said), severity="warning", timeout=6)
            self.wanting_params = runbook
            return
        self.wanting_params = None
        self.runbook, self.params = runbook, params
        self.query_one(ContentSwitcher).current = "walk-diagnosis"
        self.query_one(DiagnosisView).begin(runbook)
        self.query_one("#walk-result", Static).update("")
        self._set_subtitle(runbook.id)
        self.diagnose(runbook, params)

    def _bind(self, runbook: Runbook) -> dict[str, object]:
        given = self._given_params()
        main = getattr(self.app, "main_screen", lambda: None)()
        scene = main.scene() if main is not None else None
        if scene is None or not runbook.applies_to:
            return bind(runbook, self.live, given, node=self.node)
        selected = self.node.id if self.node is not None else None
        return dict(bind_from_scene(runbook, self.live, scene, given, selected).params)

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

    @on(DataTable.RowSelected, "#walk-checks")
    def check_chosen(self, event: DataTable.RowSelected) -> None:
        """Enter on a check: all it says (the table cuts its summary at the edge)."""
        from tui.screens.check_detail import CheckDetail

        result = self.query_one(DiagnosisView).results.get(str(event.row_key.value))
        if result is not None:
            self.app.push_screen(CheckDetail(result, result.target))

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

    # Actions.

    def action_choose_fix(self, number: int) -> None:
        """A digit previews that fix of the highlighted cause."""
        self.query_one(DiagnosisView).choose_fix(number)

    def action_back(self) -> None:
        switcher = self.query_one(ContentSwitcher)
        if switcher.current == "walk-diagnosis":
            switcher.current = "walk-choose"
            self.query_one("#walk-runbooks", OptionList).focus()
        else:
            self.app.pop_screen()

    def action_symptom(self) -> None:
        self.query_one(ContentSwitcher).current = "walk-choose"
        self.query_one("#walk-symptom", Input).focus()

    def action_rerun(self) -> None:
        if self.runbook is not None:
            self.start(self.runbook, self.params)

    def action_export(self) -> None:
        self.export_transcript(self.transcript.to_markdown(), self.transcript.to_json())

    @work(group="walk-export", exit_on_error=False)
    async def export_transcript(self, markdown: str, document: str) -> None:
        folder = state_folder() / "transcripts"
        stem = f"{utc_now():%Y%m%dT%H%M%SZ}-{self.runbook.id if self.runbook else 'walkthrough'}"

        def write() -> Path:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{stem}.json").write_text(document, encoding="utf-8")
            path = folder / f"{stem}.md"
            path.write_text(markdown, encoding="utf-8")
            return path

        path = await asyncio.to_thread(write)
        self.notify(f"Transcript written to {path} (and .json)", timeout=8)
