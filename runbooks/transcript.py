"""The record of a walkthrough: what was seen, checked, concluded, changed and verified.

Exported as Markdown for a ticket or a post-mortem, and as JSON for tools; both redacted.
"""

from __future__ import annotations

import getpass
import json
import socket
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from providers.contract import CheckResult, utc_now
from providers.redact import redact, redact_texts, redact_value
from runbooks.engine import Diagnosis
from runbooks.fixing import FixReport, PlannedFix
from runbooks.model import Cause, Fix


def _result(result: CheckResult) -> dict[str, Any]:
    document = result.to_dict()
    document["summary"] = redact(document["summary"])
    document["evidence"] = redact_texts(document["evidence"])
    document["facts"] = redact_value("facts", document["facts"])
    return document


@dataclass
class Transcript:
    environment: str
    symptom: str = ""
    user: str = field(default_factory=getpass.getuser)
    host: str = field(default_factory=socket.gethostname)
    started_at: datetime = field(default_factory=utc_now)
    events: list[dict[str, Any]] = field(default_factory=list)

    def _add(self, kind: str, **details: Any) -> None:
        self.events.append({"kind": kind, "time": utc_now().isoformat(), **details})

    def record_diagnosis(self, diagnosis: Diagnosis) -> None:
        self._add(
            "diagnosis",
            runbook=diagnosis.runbook.id,
            title=diagnosis.runbook.title,
            params={key: redact_value(key, value) for key, value in diagnosis.params.items()},
            checks={step: _result(result) for step, result in diagnosis.results.items()},
            causes=[
                {
                    "id": item.cause.id,
                    "title": item.cause.title,
                    "verdict": item.verdict.value,
                    "evidence": [redact(entry.explanation) for entry in item.evidence],
                }
                for item in diagnosis.causes
            ],
        )

    def record_fix(self, planned: PlannedFix, report: FixReport, *, forced: bool = False) -> None:
        """A fix that ran: where, how it ended (done only when its effect was seen), and why."""
        self._add(
            "fix",
            cause=planned.cause.id,
            verdict=planned.verdict.value,
            forced=forced,
            title=planned.fix.title,
            how=planned.fix.kind,
            server=redact(planned.server),
            preview=redact(planned.preview),
            outcome=report.outcome.value,
            ok=report.ok,
            summary=redact(report.summary),
            effect=redact(report.effect),
            # as one text: a private key printed across lines is masked whole
            output=redact_texts(report.output),
        )

    def record_refusal(self, cause: Cause, fix: Fix, server: str, reason: str) -> None:
        """A fix that did not run (read-only, not confirmed, its cause ruled out, cancelled)."""
        self._add(
            "refusal",
            cause=cause.id,
            title=fix.title,
            server=redact(server),
            reason=redact(reason),
        )

    def record_verification(
        self, before: dict[str, CheckResult], after: dict[str, CheckResult]
    ) -> None:
        self._add(
            "verification",
            checks={
                step: {
                    "before": _result(before[step]) if step in before else None,
                    "after": _result(result),
                }
                for step, result in after.items()
            },
            passed=all(result.status.value in {"pass", "warn"} for result in after.values()),
        )

    def to_json(self) -> str:
        return json.dumps(
            {
                "environment": self.environment,
                "symptom": redact(self.symptom),
                "user": self.user,
                "host": self.host,
                "started_at": self.started_at.isoformat(),
                "events": self.events,
            },
            indent=2,
            default=str,
        )

    def to_markdown(self) -> str:
        lines = [
            f"# triage walkthrough: {self.environment}",
            "",
            f"- started {self.started_at.isoformat()} by {self.user} on {self.host}",
        ]
        if self.symptom:
            lines.append(f"- symptom: {redact(self.symptom)}")
        for event in self.events:
            lines.append("")
            if event["kind"] == "diagnosis":
                lines.append(f"## Runbook {event['runbook']}: {event['title']}")
                params = ", ".join(f"{k}={v}" for k, v in event["params"].items())
                lines += [
                    f"params: {params or 'none'}",
                    "",
                    "| check | status | summary |",
                    "| --- | --- | --- |",
                ]
                for step, result in event["checks"].items():
                    lines.append(
                        f"| {step} ({result['check']}) | {result['status']} | {result['summary']} |"
                    )
                lines += ["", "### Causes"]
                for cause in event["causes"]:
                    lines.append(f"- **{cause['verdict']}**: {cause['title']} ({cause['id']})")
                    lines += [f"  - {entry}" for entry in cause["evidence"]]
            elif event["kind"] == "fix":
                state = event["outcome"] if event["ok"] else event["outcome"].upper()
                lines += [f"## Fix ({state}): {event['title']}"]
                if event["server"]:
                    lines.append(f"on {event['server']}")
                if event["forced"]:
                    lines.append(f"run although the cause was {event['verdict']} (forced)")
                lines.append(f"{event['summary']}; {event['effect']}")
                if event["output"]:
                    lines += ["```", *event["output"], "```"]
            elif event["kind"] == "refusal":
                lines += [f"## Fix not run: {event['title']}", f"{event['reason']}"]
            elif event["kind"] == "verification":
                verdict = "passed" if event["passed"] else "did NOT pass"
                lines += [
                    f"## Verification {verdict}",
                    "",
                    "| check | before | after |",
                    "| --- | --- | --- |",
                ]
                for step, pair in event["checks"].items():
                    before = pair["before"]["status"] if pair["before"] else "-"
                    lines.append(
                        f"| {step} | {before} | {pair['after']['status']}: "
                        f"{pair['after']['summary']} |"
                    )
        return "\n".join(lines) + "\n"
