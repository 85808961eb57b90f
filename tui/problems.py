"""What is wrong right now: failing checks and telling log lines, with the runbooks they suggest.

Pure logic, no Textual: the main screen feeds it every sweep's results and the log lines it
tails, and shows the ranked list.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from providers.contract import CheckResult, CheckStatus, LogLine
from providers.text import sanitize
from runbooks.suggest import Suggestion, suggest

if TYPE_CHECKING:  # annotations only: loaded with the library, in its thread
    from runbooks.model import Runbook

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


class NewestResults:
    """The newest result of each check the last sweep ran. A node's own run (its checks rerun
    when it is selected) that began after the sweep's replaces it, whether it ended before the
    sweep did or after, so the problems say what the check table shows; a check no sweep ran
    is not a problem of the environment."""

    def __init__(self) -> None:
        self._by_check: dict[tuple[str, str], CheckResult] = {}
        self._own: dict[tuple[str, str], CheckResult] = {}  # node runs the sweep may not know

    def swept(self, results: Iterable[CheckResult]) -> None:
        latest = {(result.node_id, result.check): result for result in results}
        for key, result in self._own.items():
            if key in latest and result.started_at > latest[key].started_at:
                latest[key] = result
        self._by_check = latest
        # What lost to this sweep would lose to every later one.
        self._own = {key: result for key, result in self._own.items() if latest.get(key) is result}

    def finished(self, result: CheckResult) -> bool:
        """Take a node's own result; True when it replaces what the problems came from."""
        key = (result.node_id, result.check)
        if (own := self._own.get(key)) is None or result.started_at > own.started_at:
            self._own[key] = result
        if key not in self._by_check or result.started_at <= self._by_check[key].started_at:
            return False
        self._by_check[key] = result
        return True

    def clear(self) -> None:
        self._by_check, self._own = {}, {}

    def results(self) -> list[CheckResult]:
        return list(self._by_check.values())


def problems_from_results(
    results: Iterable[CheckResult],
    runbooks: Iterable[Runbook],
    kinds: Mapping[str, str] | None = None,
) -> list[Problem]:
    """One problem per failing, erroring or warning check, with suggested runbooks.

    `kinds` (node id -> node kind) lets runbooks made for that kind of node rank first.
    """
    library = list(runbooks)
    if (books := tuple(id(runbook) for runbook in library)) != _RANKED.books:
        _RANKED.books, _RANKED.found = books, {}
    found = []
    for result, more in _one_per_cause(results):
        text = f"{result.check}: {result.summary}"
        if more:
            text = (
                f"{result.check} and {more} more check{'s' if more > 1 else ''}: {result.summary}"
            )
        evidence = " ".join(result.evidence)
        found.append(
            Problem(
                node_id=result.node_id,
                target=result.target,
                origin=result.check,
                text=sanitize(text),
                severity=SEVERITY[result.status],
                suggestions=_RANKED.get(
                    result.check,
                    (kinds or {}).get(result.node_id, ""),
                    f"{text} {evidence}",
                    library,
                ),
            )
        )
    return sorted(found, key=lambda problem: problem.rank_key)


def _one_per_cause(results: Iterable[CheckResult]) -> list[tuple[CheckResult, int]]:
    """The results that are problems, each with how many others it stands for: checks of one
    node that could not run for the same reason (its host refused, a credential is missing)
    say the same thing, and are one problem, not ten."""
    kept: dict[tuple[str, str, str], tuple[CheckResult, int]] = {}
    for result in results:
        if result.status not in SEVERITY:
            continue
        # A failing check says what it found: never merged with another (its name keeps it apart).
        apart = "" if result.status is CheckStatus.ERROR else result.check
        key = (result.node_id, result.summary, apart)
        first, more = kept.get(key, (result, -1))
        kept[key] = (first, more + 1)
    return list(kept.values())


class _Ranked:
    """Runbooks ranked per (check, node kind, text), for one library: a failing check says the
    same thing sweep after sweep, and ranking 80 runbooks for it each time is most of what a
    quiet refresh costs the UI."""

    LIMIT = 512

    def __init__(self) -> None:
        self.books: tuple[int, ...] = ()
        self.found: dict[tuple[str, str, str], tuple[Suggestion, ...]] = {}

    def get(
        self, check: str, kind: str, text: str, library: list[Runbook]
    ) -> tuple[Suggestion, ...]:
        key = (check, kind, text)
        if (ranked := self.found.get(key)) is None:
            ranked = tuple(_for_check(check, kind, text, library))
            if len(self.found) >= self.LIMIT:
                self.found.clear()
            self.found[key] = ranked
        return ranked


_RANKED = _Ranked()


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


@dataclass(frozen=True, slots=True)
class _Signature:
    pattern: re.Pattern[str]
    runbook: Runbook
    texts: tuple[bytes, ...] | None  # one of these is in any line it matches (lowercase)
    words: tuple[bytes | None, ...]  # each text's longest run of letters, if 3 or more
    whole: bool  # searching the joined batch finds a match if a line holds one
    bounded: tuple[bool, ...] = ()  # per text: the signature has `\b` before each of its uses


class SignatureScanner:
    """Every runbook signature, scanned a batch of lines at a time.

    A noisy service sends thousands of lines a second, and one regex of all 220 signatures
    costs about a millisecond a line. So a batch is first asked for the plain text that any
    match of a signature must contain (`required_text`), through the set of words it has (a
    log repeats its words; its numbers differ); the few signatures left are searched for in
    the whole batch at once, and only those found are run line by line.
    """

    def __init__(self, runbooks: Iterable[Runbook]) -> None:
        self.library = [runbook for runbook in runbooks if runbook.signatures]
        self._signatures = [
            _signature(sig, runbook) for runbook in self.library for sig in runbook.signatures
        ]

    def problems(
        self, node_id: str, lines: Sequence[LogLine], *, limit: int | None = None
    ) -> list[Problem]:
        """Log lines that match a runbook's signature (only signatures: a log is noisy), in
        order; with `limit`, only the last `limit` of them."""
        if not self._signatures or not lines:
            return []
        joined = "\n".join(line.text for line in lines)
        ascii_text = joined if joined.isascii() else joined.translate(_ASCII_TWINS)
        raw = ascii_text.encode("ascii", "replace")
        lowered, words = raw.translate(_LOWER), b" ".join(set(raw.translate(_WORDS).split()))
        bounds = b" " + lowered.translate(_BOUNDS)
        present = [
            sig
            for sig in self._signatures
            if _has_text(sig, lowered, words, bounds)
            and (not sig.whole or sig.pattern.search(joined))
        ]
        found: list[Problem] = []
        for line in reversed(lines if present else ()):
            if limit is not None and len(found) >= limit:
                break
            text = line.text
            runbooks = (sig.runbook for sig in present if sig.pattern.search(text))
            matching = list({id(runbook): runbook for runbook in runbooks}.values())
            if matching:
                found.append(
                    Problem(
                        node_id=node_id,
                        target=line.source,
                        origin="log",
                        text=sanitize(text)[:300],
                        severity=LOG_SEVERITY,
                        suggestions=tuple(suggest(text, matching, limit=3)),
                    )
                )
        return found[::-1]


# Non-ASCII letters that match an ASCII one when case is ignored (re's own special cases).
_ASCII_TWINS = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})
# Bytes tables: ASCII lowercased; and only letters kept (lowercased), the rest made spaces.
_LOWER = bytes.maketrans(bytes(range(65, 91)), bytes(range(97, 123)))
_WORDS = bytes((c | 0x20) if 65 <= c <= 90 or 97 <= c <= 122 else 32 for c in range(256))
_LETTERS = re.compile("[a-z]{3,}")
_WORD = b"abcdefghijklmnopqrstuvwxyz0123456789_"  # \w in ASCII, lowercased
_BOUNDS = bytes(c if c in _WORD else 32 for c in range(256))  # applied to lowercase bytes
# What makes a match depend on where a line starts or ends (anchors, lookarounds).
_LINE_BOUND = re.compile(r"(?<!\[)\^|\$|\\[AZ]|\(\?<?[=!]")


def _signature(signature: str, runbook: Runbook) -> _Signature:
    texts = required_text(signature)
    words = tuple(
        max(_LETTERS.findall(text), key=len, default="").encode() or None for text in texts or ()
    )
    pattern = re.compile(signature, re.IGNORECASE)
    whole = _LINE_BOUND.search(signature) is None
    source = signature.lower()
    bounded = tuple(
        source.count(text) > 0 and source.count(text) == source.count("\\b" + text)
        for text in texts or ()
    )
    encoded = tuple(t.encode() for t in texts or ()) or None
    return _Signature(pattern, runbook, encoded, words, whole, bounded)


def _has_text(sig: _Signature, lowered: bytes, words: bytes, bounds: bytes) -> bool:
    """Whether one of the texts `sig` needs is in the batch (always, when it needs none)."""
    if sig.texts is None:
        return True
    return any(
        (word is None or word in words)
        and (_at_boundary(text, bounds) if edge else text in lowered)
        for text, word, edge in zip(sig.texts, sig.words, sig.bounded, strict=True)
    )


def _at_boundary(text: bytes, bounds: bytes) -> bool:
    """Whether `text` starts a word somewhere in the batch (`bounds`: the batch with every byte
    that is not a word's made a space, after one space). A short text after `\\b`, like the
    error code E009, is often inside hex ids, and its regex costs ~10 ms a batch to rule out."""
    return b" " + text.translate(_BOUNDS) in bounds


def required_text(signature: str) -> tuple[str, ...] | None:
    """Lowercase ASCII text of which any match of `signature` contains one; None when some
    alternative has none that this simple reading can vouch for.

    Reads top-level alternatives, and in each the longest run of plain characters that no
    quantifier makes optional; groups, classes and escapes like `\\d` end a run.
    """
    if re.compile(signature).flags & re.VERBOSE:
        return None  # spaces in the pattern are not text
    pattern = signature.removeprefix("(?i)")
    branches: list[str] = []
    best, run = "", ""
    depth, index = 0, 0
    while index < len(pattern):
        char = pattern[index]
        index += 1
        atom: str | None = None  # a plain character, or None for anything else
        if char == "\\" and index < len(pattern):
            escaped = pattern[index]
            index += 1
            plain = escaped.isascii() and not escaped.isalnum()
            atom = escaped if depth == 0 and plain else None
            index += _ESCAPE_TAIL.get(escaped, 0)  # \\x41's 41 is no text either
            while escaped.isdigit() and pattern[index : index + 1].isdigit():
                index += 1  # \\12: a group or an octal escape
        elif char == "[":
            index = _class_end(pattern, index)
        elif char == "{":  # a repeat count: what it repeats is optional or already counted
            index = pattern.find("}", index) + 1 or len(pattern)
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            branches.append(max(best, run, key=len))
            best, run = "", ""
            continue
        elif depth == 0 and char not in ".^$*+?{}" and char.isascii():
            atom = char
        following = pattern[index : index + 1]
        optional = following in ("?", "*", "{") or char in "*?{"
        if atom is None or optional or depth > 0:
            best, run = max(best, run, key=len), ""
            continue
        run += atom.lower()
        if following == "+":
            best, run = max(best, run, key=len), ""
    branches.append(max(best, run, key=len))
    return None if not all(branches) else tuple(dict.fromkeys(branches))


_ESCAPE_TAIL = {"x": 2, "u": 4, "U": 8, "N": 0}  # characters an escape takes after its letter


def _class_end(pattern: str, index: int) -> int:
    """The index just past the `]` that closes a character class opened before `index`."""
    if pattern[index : index + 1] == "^":
        index += 1
    if pattern[index : index + 1] == "]":
        index += 1
    while index < len(pattern) and pattern[index] != "]":
        index += 2 if pattern[index] == "\\" else 1
    return index + 1
