"""Which runbooks a piece of text points to: a log line, a stopped reason, a pasted error."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: the TUI's first frame does not wait for the model
    from runbooks.model import Runbook

_WORD = re.compile(r"[a-z0-9]+")
_STOP_WORDS = frozenset(
    {
        "a", "an", "the", "is", "are", "was", "be", "to", "of", "in", "on", "for", "and", "or",
        "not", "no", "with", "from", "at", "by", "it", "its", "this", "that", "error", "errors",
        "shows", "show",
    }
)  # fmt: skip
SIGNATURE_SCORE = 10.0
SYMPTOM_SCORE = 5.0


@dataclass(frozen=True, slots=True)
class Suggestion:
    runbook: Runbook
    score: float
    reasons: tuple[str, ...]


def _words(text: str) -> set[str]:
    return {word for word in _WORD.findall(text.lower()) if word not in _STOP_WORDS}


def suggest(text: str, runbooks: Iterable[Runbook], *, limit: int = 10) -> list[Suggestion]:
    """Runbooks ranked by how strongly `text` points at them, with why."""
    said = _words(text)
    found: list[Suggestion] = []
    for runbook in runbooks:
        score, reasons = 0.0, []
        for signature in runbook.signatures:
            if re.search(signature, text, re.IGNORECASE):
                score += SIGNATURE_SCORE
                reasons.append(f"matches signature {signature!r}")
        for symptom in [*runbook.symptoms, runbook.title]:
            words = _words(symptom)
            if not words or not said:
                continue
            overlap = len(words & said) / len(words)
            if overlap >= 0.5:
                score += SYMPTOM_SCORE * overlap
                reasons.append(f"like symptom {symptom!r} ({overlap:.0%} of its words)")
        if score:
            found.append(Suggestion(runbook, round(score, 3), tuple(reasons)))
    found.sort(key=lambda item: (-item.score, item.runbook.id))
    return found[:limit]
