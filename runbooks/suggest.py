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
TEXT_LIMIT = 64_000  # characters of a text that are ranked: its head and its tail


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A runbook `text` points to, how strongly and why; `values`: what its signatures caught
    by name (`relation "(?P<table>[^"]+)" does not exist` catches the table)."""

    runbook: Runbook
    score: float
    reasons: tuple[str, ...]
    values: tuple[tuple[str, str], ...] = ()


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def _stem(word: str) -> str:
    """A plural's singular, roughly ("pods" -> "pod", "queues" -> "queue"): enough for the
    words of a symptom and of an alert to meet."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


# What operators say for what runbooks call slow, down, full: each word also counts as the
# runbooks' word ("crawling" as "slow").
_SAID_AS = {
    "slow": ("crawling", "crawl", "sluggish", "laggy", "lagging", "lag", "latency", "forever"),
    "down": ("dead", "unreachable", "offline", "outage"),
    "full": ("exhausted", "maxed", "saturated"),
    "restart": ("restarting", "restarts", "cycling", "flapping", "bouncing"),
    "stale": ("outdated",),
    "notification": ("paged", "pager", "pagerduty", "opsgenie", "woken", "woke", "notified"),
}
_CANONICAL = {said: word for word, saids in _SAID_AS.items() for said in saids}
# ... and what they say in more than one word: "takes 6-8 seconds", "times out".
_SAID_IN_WORDS = (
    (
        "slow",
        re.compile(
            r"\b(?:takes?|taking|took)\s+(?:(?:more\s+than|over|up\s+to|about|several|many"
            r"|a\s+few)\s+)?(?:\d+(?:\.\d+)?(?:\s*[-\u2013]\s*\d+)?\s*)?"
            r"(?:s|secs?|seconds?|mins?|minutes?)\b"
        ),
    ),
    ("timeout", re.compile(r"\b(?:times?|timed|timing)\s+out\b")),
    (
        "stale",
        re.compile(
            r"\bstill\s+(?:show|serv|return|display|say|charg)\w*"
            r"|\b(?:not|n't|never|no\s+longer)\s+(?:being\s+)?(?:updat|refresh)\w*|\bout\s+of\s+date\b"
        ),
    ),
)
TROUBLES = frozenset({"slow", "down", "full", "restart", "stale", "timeout"})
TROUBLE_SCORE = 1.0  # a runbook about the kind of trouble the text speaks of, and nothing more


def _words(text: str, *, canonical_only: bool = False) -> set[str]:
    """A text's words, lower case and singular; an alert's CamelCase name split into its words
    (KubePodCrashLooping: kube, pod, crash, looping); an operator's word for slow, down, full
    or restart counted as that word too (a runbook's own symptoms: as that word only, so
    that they keep their number of words)."""
    text = _CAMEL.sub(" ", text)
    lowered = text.lower()
    words = {_stem(word) for word in _WORD.findall(lowered) if word not in _STOP_WORDS}
    if canonical_only:
        return {_CANONICAL.get(word, word) for word in words}
    said = {word for word, phrase in _SAID_IN_WORDS if phrase.search(lowered)}
    return words | said | {_CANONICAL[word] for word in words if word in _CANONICAL}


def words_of(text: str) -> frozenset[str]:
    """A text's words as `text_score` reads them: read once, a text is scored against every
    runbook without reading it again."""
    return frozenset(_words(bounded(text)))


def troubles(text: str) -> set[str]:
    """The kinds of trouble a text speaks of (slow, down, full, restart, stale, timeout), however
    the operator put them."""
    return set(words_of(text) & TROUBLES)


def runbook_troubles(runbook: Runbook) -> set[str]:
    """The kinds of trouble a runbook is about, from its title and symptoms."""
    return set(_prepared(runbook).troubles)


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A runbook's signatures compiled and its symptoms' words, made once: ranking 300 failing
    services' checks against 80 runbooks did both 24,000 times, on the UI thread."""

    runbook: Runbook
    signatures: tuple[tuple[str, re.Pattern[str]], ...]
    symptoms: tuple[tuple[str, frozenset[str]], ...]
    troubles: frozenset[str]


_PREPARED: dict[int, _Prepared] = {}
_PREPARED_LIMIT = 4_096  # a library read again makes new runbooks


def _prepared(runbook: Runbook) -> _Prepared:
    found = _PREPARED.get(id(runbook))
    if found is None or found.runbook is not runbook:
        if len(_PREPARED) >= _PREPARED_LIMIT:
            _PREPARED.clear()
        found = _Prepared(
            runbook,
            tuple((text, re.compile(text, re.IGNORECASE)) for text in runbook.signatures),
            tuple(
                (symptom, frozenset(_words(symptom, canonical_only=True)))
                for symptom in [*runbook.symptoms, runbook.title]
            ),
            frozenset(_words("\n".join([*runbook.symptoms, runbook.title])) & TROUBLES),
        )
        _PREPARED[id(runbook)] = found
    return found


def bounded(text: str, limit: int = TEXT_LIMIT) -> str:
    """A long paste cut to its head and its tail (where errors are), so ranking it costs at most
    `limit` characters whatever was pasted."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n{text[-half:]}"


def text_score(text: str, runbook: Runbook, said: frozenset[str] | None = None) -> Suggestion:
    """How strongly `text` points at one runbook, with why (score 0: not at all)."""
    text = bounded(text)
    said = frozenset(_words(text)) if said is None else said
    prepared = _prepared(runbook)
    score, reasons, values = 0.0, [], {}
    for signature, pattern in prepared.signatures:
        if match := pattern.search(text):
            score += SIGNATURE_SCORE
            reasons.append(f"matches signature {signature!r}")
            values.update({k: v for k, v in match.groupdict().items() if v})
    for symptom, words in prepared.symptoms:
        if not words or not said:
            continue
        overlap = len(words & said) / len(words)
        if overlap >= 0.5:
            score += SYMPTOM_SCORE * overlap
            reasons.append(f"like symptom {symptom!r} ({overlap:.0%} of its words)")
    if not score and (shared := sorted(said & prepared.troubles)):
        score = TROUBLE_SCORE  # the weakest pointer: the kind of trouble, in other words
        reasons.append(f"about what is {' and '.join(shared)}, as the text says")
    return Suggestion(runbook, round(score, 3), tuple(reasons), tuple(values.items()))


def suggest(text: str, runbooks: Iterable[Runbook], *, limit: int = 10) -> list[Suggestion]:
    """Runbooks ranked by how strongly `text` points at them, with why."""
    text = bounded(text)
    said = words_of(text)
    found = [item for runbook in runbooks if (item := text_score(text, runbook, said)).score]
    found.sort(key=lambda item: (-item.score, item.runbook.id))
    return found[:limit]
