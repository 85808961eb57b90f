"""Headless runbook commands: list, show, validate, schema, check --runbook, suggest, fix.

No Textual here: these run from scripts, cron and CI. Exit codes: 0 healthy or done, 1 a cause
confirmed, a check failed or a fix not verified, 2 a usage or configuration error.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from providers.contract import CheckResult, CheckStatus
from providers.environment import LiveEnvironment
from providers.inventory import Inventory
from providers.text import sanitize
from runbooks.candidates import Binding, bind_from_scene
from runbooks.engine import BindingError, Diagnosis, Verdict, diagnose, fix_command
from runbooks.fixing import FixReport, PlannedFix, apply_fix, plan_fix
from runbooks.gate import AuditLog, FixRefused, Gate, Refused, Unconfirmed
from runbooks.loader import LIBRARY, Library, load_library
from runbooks.model import Runbook
from runbooks.scene import Scene
from runbooks.search import BUILT_IN, Folder, load_search_path, search_path
from runbooks.suggest import suggest
from runbooks.transcript import Transcript

EXIT_OK, EXIT_PROBLEM, EXIT_USAGE = 0, 1, 2


def say(text: str) -> None:
    """Write to standard output as it is now (tests and pipes replace it)."""
    sys.stdout.write(text)


def warn(text: str) -> None:
    sys.stderr.write(text)


def parse_params(pairs: Sequence[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ValueError(f"--param takes NAME=VALUE, not {pair!r}")
        params[name] = value
    return params


def _library_or_report(folders: Sequence[Folder] | None) -> Library:
    """The runbooks on the search path (default: the built-in library and the user's folder);
    each one that did not load is said with its file, line and column, the others still
    load."""
    library = load_search_path(folders if folders is not None else search_path())
    for error in library.errors:
        warn(f"triage: {error}\n")
    return library


def _where(library: Library, runbook_id: str) -> str:
    """The file a runbook comes from: `built-in`, else its path; and the one it replaces."""
    path = library.paths[runbook_id]
    where = BUILT_IN if library.origins.get(runbook_id) == BUILT_IN else str(path)
    replaced = library.replaced.get(runbook_id)
    if replaced is not None:
        earlier = BUILT_IN if replaced.is_relative_to(LIBRARY) else str(replaced)
        where += f" (replaces {earlier})"
    return where


def runbooks_list(
    *, as_json: bool, folders: Sequence[Folder] | None = None, sources: bool = False
) -> int:
    library = _library_or_report(folders)
    rows = sorted(library.runbooks.values(), key=lambda runbook: runbook.id)
    if as_json:
        document = [
            {
                "id": r.id,
                "title": r.title,
                "applies_to": r.applies_to,
                "source": r.source,
                "file": str(library.paths[r.id]),
                "from": library.origins.get(r.id, BUILT_IN),
                "replaces": str(library.replaced[r.id]) if r.id in library.replaced else None,
            }
            for r in rows
        ]
        json.dump(document, sys.stdout, indent=2)
        say("\n")
    else:
        width = max((len(runbook.id) for runbook in rows), default=0)
        for runbook in rows:
            say(f"{runbook.id:<{width}}  {sanitize(runbook.title)}\n")
            say(f"{'':<{width}}  from {sanitize(_where(library, runbook.id))}\n")
            if sources:
                say(f"{'':<{width}}  guide {sanitize(runbook.source or '(none)')}\n")
    return EXIT_PROBLEM if library.errors else EXIT_OK


def runbooks_show(runbook_id: str, folders: Sequence[Folder] | None = None) -> int:
    library = _library_or_report(folders)
    runbook = library.runbooks.get(runbook_id)
    if runbook is None:
        warn(f"triage: no runbook {runbook_id!r}; `triage runbooks list` shows them\n")
        return EXIT_USAGE
    say(f"{runbook.id}: {runbook.title}\n")
    say(f"file: {_where(library, runbook.id)}\n")
    if runbook.source:
        say(f"source: {runbook.source}\n")
    for symptom in runbook.symptoms:
        say(f"  symptom: {symptom}\n")
    say("params:\n")
    for name, param in runbook.params.items():
        kind = f"a {param.target} target" if param.target else f"default {param.default!r}"
        say(f"  {name}: {kind}  {param.description}\n")
    say("checks:\n")
    for step in runbook.checks:
        say(f"  {step.id}: {step.use} {dict(step.with_) or ''}\n")
    say("causes:\n")
    for cause in runbook.causes:
        say(f"  {cause.id}: {cause.title}\n")
        for index, fix in enumerate(cause.fixes, start=1):
            how = fix.action or fix.run or fix.manual
            say(f"    fix {index}: {fix.title} [{fix.kind}: {how}]\n")
    if runbook.verify:
        say(f"verify: {', '.join(runbook.verify)}\n")
    return EXIT_OK


def runbooks_validate(paths: Sequence[str], folders: Sequence[Folder] | None = None) -> int:
    """The files given, else every runbook on the search path."""
    if paths:
        library = load_library([Path(path) for path in paths])
        for error in library.errors:
            warn(f"triage: {error}\n")
    else:
        library = _library_or_report(folders)
    total = len(library.runbooks) + len(library.errors)
    say(f"{len(library.runbooks)} of {total} runbooks valid\n")
    return EXIT_PROBLEM if library.errors else EXIT_OK


def runbooks_schema() -> int:
    schema = Runbook.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "triage runbook"
    json.dump(schema, sys.stdout, indent=2)
    say("\n")
    return EXIT_OK


def _status_line(result: CheckResult) -> str:
    return f"{result.status.value.upper():<7} {sanitize(result.summary)}"


def diagnosis_document(diagnosis: Diagnosis) -> dict[str, Any]:
    return {
        "runbook": diagnosis.runbook.id,
        "environment": diagnosis.environment,
        "params": diagnosis.params,
        "checks": {step: result.to_dict() for step, result in diagnosis.results.items()},
        "causes": [
            {
                "id": item.cause.id,
                "title": item.cause.title,
                "verdict": item.verdict.value,
                "evidence": [entry.explanation for entry in item.evidence],
                "fixes": [
                    {
                        "index": index,
                        "title": fix.title,
                        "kind": fix.kind,
                        "action": fix.action,
                        "command": fix_command(fix, diagnosis.params) if fix.run else None,
                        "manual": fix.manual,
                    }
                    for index, fix in enumerate(item.cause.fixes, start=1)
                ],
            }
            for item in diagnosis.causes
        ],
    }


def diagnosis_exit_code(diagnosis: Diagnosis) -> int:
    failed = any(
        result.status in {CheckStatus.FAIL, CheckStatus.ERROR}
        for result in diagnosis.results.values()
    )
    return EXIT_PROBLEM if diagnosis.confirmed or failed else EXIT_OK


def write_diagnosis(diagnosis: Diagnosis) -> None:
    runbook = diagnosis.runbook
    params = ", ".join(f"{key}={value}" for key, value in diagnosis.params.items())
    say(f"{runbook.id}: {runbook.title}\n{diagnosis.environment}: {params}\n\nchecks\n")
    width = max((len(step) for step in diagnosis.results), default=0)
    for step, result in diagnosis.results.items():
        say(f"  {step:<{width}}  {_status_line(result)}\n")
    say("\ncauses\n")
    for item in diagnosis.causes:
        say(f"  {item.verdict.value.upper():<9} {item.cause.title} ({item.cause.id})\n")
        for entry in item.evidence:
            say(f"            {sanitize(entry.explanation)}\n")
        if item.verdict in {Verdict.CONFIRMED, Verdict.LIKELY}:
            for index, fix in enumerate(item.cause.fixes, start=1):
                how = fix.action or (fix_command(fix, diagnosis.params) if fix.run else fix.manual)
                say(f"            fix {index}: {fix.title}: {how}\n")
                if fix.kind != "manual":
                    say(
                        f"              triage fix --runbook {runbook.id} "
                        f"--cause {item.cause.id} --fix {index}\n"
                    )


async def check_runbook(
    inventory: Inventory,
    environment: str | None,
    runbook_id: str,
    params: dict[str, str],
    *,
    as_json: bool,
    folders: Sequence[Folder] | None = None,
) -> int:
    library = _library_or_report(folders)
    runbook = library.runbooks.get(runbook_id)
    if runbook is None:
        warn(f"triage: no runbook {runbook_id!r}; `triage runbooks list` shows them\n")
        return EXIT_USAGE
    live = LiveEnvironment(inventory, environment)
    try:
        binding = await bound(runbook, live, params)
        diagnosis = await diagnose(runbook, live, binding.params)
    except BindingError as error:
        warn(f"triage: {error}\n")
        return EXIT_USAGE
    finally:
        await live.close()
    if as_json:
        document = diagnosis_document(diagnosis)
        document.update(binding_document(binding))
        document["exit_code"] = diagnosis_exit_code(diagnosis)
        json.dump(document, sys.stdout, indent=2, default=str)
        say("\n")
    else:
        write_binding(binding)
        write_diagnosis(diagnosis)
    return diagnosis_exit_code(diagnosis)


async def bound(runbook: Runbook, live: LiveEnvironment, given: dict[str, str]) -> Binding:
    """The runbook's parameters as a diagnosis binds them: from the entity it is about (the
    failing one of its kinds, else the first), after one sweep of what is live; `given`
    (--param) wins and picks the entity it agrees with."""
    if not runbook.applies_to:
        return Binding(dict(given))
    scene = await Scene.look(live)
    return bind_from_scene(runbook, live, scene, given)


def binding_document(binding: Binding) -> dict[str, Any]:
    entity = binding.entity
    return {
        "about": entity.node.id if entity else None,
        "could_be_about": [other.node.id for other in binding.choices],
    }


def write_binding(binding: Binding) -> None:
    if binding.entity is None:
        return
    say(f"about {sanitize(binding.entity.node.name)} ({binding.entity.kind})")
    if binding.choices:
        others = ", ".join(sanitize(other.node.name) for other in binding.choices[:5])
        say(f"; it could also be about: {others} (--param to choose)")
    say("\n")


def suggest_command(text: str, *, as_json: bool, folders: Sequence[Folder] | None = None) -> int:
    library = _library_or_report(folders)
    found = suggest(text, library.runbooks.values())
    if as_json:
        json.dump(
            [
                {
                    "runbook": s.runbook.id,
                    "title": s.runbook.title,
                    "score": s.score,
                    "reasons": list(s.reasons),
                }
                for s in found
            ],
            sys.stdout,
            indent=2,
        )
        say("\n")
    elif not found:
        say("no runbook matches; try other words, or `triage runbooks list`\n")
    else:
        for item in found:
            say(f"{item.score:>5.1f}  {item.runbook.id}: {item.runbook.title}\n")
            for reason in item.reasons:
                say(f"         {reason}\n")
    return EXIT_OK if found else EXIT_PROBLEM


def write_plan(planned: PlannedFix) -> None:
    """What the fix will do, where, on which verdict, and what to type to run it."""
    say(f"\nfix: {planned.title}\n")
    say(f"cause: {planned.cause.id} ({planned.verdict.value})\n")
    say(f"preview: {sanitize(planned.preview)}\n")
    if planned.kind == "manual":
        return
    say(f"on: {sanitize(planned.server)}\n")
    if planned.variables:
        say(f"with: {sanitize(planned.variables)}\n")
    if planned.cwd:
        say(f"in: {sanitize(planned.cwd)}\n")
    if planned.refused:
        return
    say(f"to run it, type: {planned.confirmation_word}\n")


async def fix(
    inventory: Inventory,
    environment: str | None,
    *,
    runbook_id: str,
    cause_id: str,
    fix_number: int,
    params: dict[str, str],
    read_only: bool,
    confirm: str | None,
    force: bool,
    ask: Callable[[str], str] | None,
    transcript_path: str | None,
    audit: AuditLog,
    folders: Sequence[Folder] | None = None,
) -> int:
    """Diagnose, preview one fix, confirm it, apply it through the gate, then see its effect.

    The verdict gates it (a ruled-out cause is refused; an unknown one needs --force), the word
    to type names what it touches, and it is done only when its effect is seen."""
    library = _library_or_report(folders)
    runbook = library.runbooks.get(runbook_id)
    if runbook is None:
        warn(f"triage: no runbook {runbook_id!r}; `triage runbooks list` shows them\n")
        return EXIT_USAGE
    cause = next((item for item in runbook.causes if item.id == cause_id), None)
    if cause is None or not 1 <= fix_number <= len(cause.fixes):
        warn(f"triage: {runbook_id} has no cause {cause_id!r} with a fix {fix_number}\n")
        return EXIT_USAGE
    live = LiveEnvironment(inventory, environment, read_only=read_only)
    gate = Gate(live.name, read_only=live.read_only, audit=audit)
    transcript = Transcript(live.name, symptom=runbook.title)
    planned: PlannedFix | None = None
    try:
        binding = await bound(runbook, live, params)
        diagnosis = await diagnose(runbook, live, binding.params)
        write_binding(binding)
        transcript.record_diagnosis(diagnosis)
        write_diagnosis(diagnosis)
        planned = await plan_fix(diagnosis, cause, fix_number - 1, live)
        write_plan(planned)
        if planned.kind == "manual":
            say("this fix is done by hand; nothing to run\n")
            return EXIT_OK
        confirmation = confirm
        if confirmation is None and ask is not None and not planned.refused:
            if planned.needs_force and not force:
                pass  # refused below, with the reason; no point asking for the word first
            else:
                confirmation = ask(f"type {planned.confirmation_word!r} to run it: ").strip()
        report: FixReport = await apply_fix(
            planned, diagnosis, live, gate, confirmation, force=force
        )
    except BindingError as error:
        warn(f"triage: {error}\n")
        return EXIT_USAGE
    except (KeyError, ValueError, TimeoutError) as error:
        warn(f"triage: could not prepare the fix: {error or type(error).__name__}\n")
        return EXIT_PROBLEM
    except Refused as error:
        hint = ""
        if isinstance(error, Unconfirmed) and planned is not None and confirm is None:
            hint = f" (--confirm {planned.confirmation_word!r})"
        elif isinstance(error, FixRefused) and planned is not None and planned.needs_force:
            hint = " (add --force to run it anyway)"
        warn(f"triage: not run: {error}{hint}\n")
        if planned is not None:
            transcript.record_refusal(cause, planned.fix, planned.server, str(error))
        await _write_transcript(transcript, transcript_path)
        return EXIT_PROBLEM
    finally:
        await live.close()
    transcript.record_fix(planned, report, forced=force and planned.needs_force)
    transcript.record_verification(report.before, report.after)
    say(f"\n{report.outcome.value.upper()}: {sanitize(report.summary)}\n")
    for line in report.output[-20:]:
        say(f"  | {sanitize(line)}\n")
    if report.effect:
        say(f"effect: {sanitize(report.effect)}\n")
    say("\nverification\n")
    for step, after in report.after.items():
        before = report.before.get(step)
        was = before.status.value if before else "-"
        say(f"  {step}: {was} -> {_status_line(after)}\n")
    await _write_transcript(transcript, transcript_path)
    return EXIT_OK if report.ok else EXIT_PROBLEM


async def _write_transcript(transcript: Transcript, transcript_path: str | None) -> None:
    if not transcript_path:
        return
    path = Path(transcript_path)
    text = transcript.to_json() if path.suffix == ".json" else transcript.to_markdown()
    await asyncio.to_thread(path.write_text, text, encoding="utf-8")
    say(f"transcript written to {path}\n")
