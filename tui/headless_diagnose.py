"""`triage diagnose [SYMPTOM]`: from a symptom (or, with none, what is failing now) to the
cause, on what is live, headless (no Textual). Exit codes: 0 nothing confirmed or likely, 1 a
cause found, 2 a usage or configuration error.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from providers.environment import LiveEnvironment
from providers.inventory import Inventory
from providers.text import sanitize
from runbooks.diagnosis import Finding, Report, diagnose_symptom, report_document
from runbooks.engine import Verdict, fix_command
from runbooks.search import Folder, load_search_path, search_path

EXIT_OK, EXIT_PROBLEM, EXIT_USAGE = 0, 1, 2
SHOWN_AFTER = 4  # other findings listed after the answer


def say(text: str) -> None:
    sys.stdout.write(text)


def _about(finding: Finding, live: LiveEnvironment) -> str:
    entity = finding.candidate.entity
    if entity is None:
        params = ", ".join(f"{k}={v}" for k, v in finding.diagnosis.params.items())
        return f"with {params}" if params else ""
    try:
        address = live.provider_for(entity.root.id).address
    except KeyError:
        address = ""
    where = f"{entity.target}, {address}" if address else entity.target
    return f"about {entity.node.name} ({entity.kind} on {where})"


def write_report(report: Report, live: LiveEnvironment) -> None:
    say(f"environment {live.name} · {report.seconds:.1f} s\n")
    if report.focus:
        shown = ", ".join(f"{e.node.name} ({e.kind}, {how})" for e, how in report.focus[:5])
        say(f"looking at: {sanitize(shown)}\n")
    if report.related:
        say(f"it depends on: {', '.join(e.node.name for e in report.related)}\n")
    answer = report.answer
    if answer is None or answer.cause.verdict not in (Verdict.CONFIRMED, Verdict.LIKELY):
        say("\nno cause confirmed")
        say(f"; the closest: {answer.cause.cause.title}\n" if answer else "\n")
        return
    say("\n")
    _write_finding(answer, live, fixes=True)
    others = [f for f in report.findings[1:] if f.cause.verdict is not Verdict.RULED_OUT]
    if others:
        say("\nalso seen\n")
        for finding in others[:SHOWN_AFTER]:
            _write_finding(finding, live, fixes=False)


def _write_finding(finding: Finding, live: LiveEnvironment, *, fixes: bool) -> None:
    cause = finding.cause
    runbook = finding.candidate.runbook
    say(f"{cause.verdict.value.upper():<10} {cause.cause.title}\n")
    say(f"{'':<10} {runbook.id}: {cause.cause.id} · {sanitize(_about(finding, live))}\n")
    if cause.caveat:
        say(f"{'':<12}({cause.caveat})\n")
    for entry in cause.evidence:
        say(f"{'':<12}{sanitize(entry.explanation)}\n")
    if not fixes:
        return
    for index, fix in enumerate(cause.cause.fixes, start=1):
        how = fix.action or (fix_command(fix, finding.diagnosis.params) if fix.run else fix.manual)
        say(f"{'':<12}fix {index}: {sanitize(fix.title)}: {sanitize(str(how))}\n")
    params = " ".join(
        f"--param {key}={value}"
        for key, value in finding.diagnosis.params.items()
        if not runbook.params[key].target
    )
    say(f"{'':<12}triage check --runbook {runbook.id} {params}\n".rstrip() + "\n")


async def diagnose_command(
    inventory: Inventory,
    environment: str | None,
    symptom: str,
    *,
    as_json: bool,
    folders: Sequence[Folder] | None = None,
) -> int:
    library = load_search_path(folders if folders is not None else search_path())
    for error in library.errors:
        sys.stderr.write(f"triage: {error}\n")
    live = LiveEnvironment(inventory, environment)
    try:
        report = await diagnose_symptom(symptom, live, library.runbooks.values())
        document: dict[str, Any] = report_document(report, live)
    finally:
        await live.close()
    answer = report.answer
    found = answer is not None and answer.cause.verdict in (Verdict.CONFIRMED, Verdict.LIKELY)
    if as_json:
        document["exit_code"] = EXIT_PROBLEM if found else EXIT_OK
        json.dump(document, sys.stdout, indent=2, default=str)
        say("\n")
    else:
        write_report(report, live)
    return EXIT_PROBLEM if found else EXIT_OK
