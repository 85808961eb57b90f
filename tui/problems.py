"""What is wrong right now: failing checks and telling log lines, with the runbooks they suggest.

Pure logic, no Textual: the main screen feeds it every sweep's results and the log lines it
tails, and shows the ranked list.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from providers.contract import CheckResult, CheckStatus, LogLine
from providers.text import sanitize
from runbooks.model import Runbook
from runbooks.suggest import Suggestion, suggest

SEVERITY = {CheckStatus.FAIL: 0, CheckStatus.ERROR: 1, CheckStatus.WARN: 2}
LOG_SEVERITY = 1
CHECK_SCORE = 20.0
KIND_SCORE = 10.0


@dataclass(frozen=True, slots=True)
class Problem:
    node_id: str
    target: str
    origin: str
    text: str
    severity: int
    suggestions: tuple[Suggestion, ...]

    @property
    def rank_key(self) -> tuple[int, float, str, str]:
        best = self.suggestions[0].score if self.suggestions else 0.0
        return (self.severity, -best, self.node_id, self.origin)


def problems_from_results(
    results: Iterable[CheckResult],
    runbooks: Iterable[Runbook],
    kinds: Mapping[str, str] | None = None,
) -> list[Problem]:
    """One problem per failing, erroring or warning check, with suggested runbooks.

    `kinds` (node id -> node kind) lets runbooks made for that kind of node rank first.
    """
    library = list(runbooks)
    found = []
    for result in results:
        if result.status not in SEVERITY:
            continue
        text = f"{result.check}: {result.summary}"
        evidence = " ".join(result.evidence)
        found.append(
            Problem(
                node_id=result.node_id,
                target=result.target,
                origin=result.check,
                text=sanitize(text),
                severity=SEVERITY[result.status],
                suggestions=tuple(
                    _for_check(
                        result.check,
                        (kinds or {}).get(result.node_id, ""),
                        f"{text} {evidence}",
                        library,
                    )
                ),
            )
        )
    return sorted(found, key=lambda problem: problem.rank_key)


def _for_check(check: str, kind: str, text: str, library: list[Runbook]) -> list[Suggestion]:
    """Runbooks ranked for a failing check: those running that very check, and those made for
    that kind of node, come first."""
    boosted = []
    for item in suggest(text, library, limit=len(library)):
        score, reasons = item.score, list(item.reasons)
        if any(step.use == check for step in item.runbook.checks):
            score += CHECK_SCORE
            reasons.insert(0, f"runs {check}")
        if kind and kind in item.runbook.applies_to:
            score += KIND_SCORE
            reasons.insert(0, f"made for {kind}")
        boosted.append(Suggestion(item.runbook, score, tuple(reasons)))
    boosted.sort(key=lambda item: (-item.score, item.runbook.id))
    return boosted[:3]


class SignatureScanner:
    """Every runbook signature compiled into one pattern, so a log line is scanned once.

    A noisy service sends thousands of lines a second; testing each against each signature in
    turn would cost the UI loop more than drawing them.
    """

    def __init__(self, runbooks: Iterable[Runbook]) -> None:
        self.library = [runbook for runbook in runbooks if runbook.signatures]
        # Case is ignored for all, so a signature's own leading (?i) can go.
        alternatives = [
            f"(?:{sig.removeprefix('(?i)')})"
            for runbook in self.library
            for sig in runbook.signatures
        ]
        try:
            self.any_signature: re.Pattern[str] | None = (
                re.compile("|".join(alternatives), re.IGNORECASE) if alternatives else None
            )
        except re.error:  # a signature with flags of its own: no shortcut, scan them one by one
            self.any_signature = re.compile("") if alternatives else None

    def problems(self, node_id: str, lines: Iterable[LogLine]) -> list[Problem]:
        """Log lines that match a runbook's signature (only signatures: a log is noisy)."""
        if self.any_signature is None:
            return []
        found = []
        for line in lines:
            if not self.any_signature.search(line.text):
                continue  # the common case: one scan, no match
            matching = [
                runbook
                for runbook in self.library
                if any(re.search(sig, line.text, re.IGNORECASE) for sig in runbook.signatures)
            ]
            found.append(
                Problem(
                    node_id=node_id,
                    target=line.source,
                    origin="log",
                    text=sanitize(line.text)[:300],
                    severity=LOG_SEVERITY,
                    suggestions=tuple(suggest(line.text, matching, limit=3)),
                )
            )
        return found
