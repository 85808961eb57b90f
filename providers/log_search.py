"""What the log search checks share: a bounded window of history, a pattern, and the finding.

A log search reads a node's recent history (the last `lines` lines, or the lines since a
duration ago), never follows, and reports the lines that match a case-insensitive regular
expression (by default the words that mark trouble: error, exception, fatal, traceback,
panic). Facts: `count` (matching lines), `scanned` (lines read), `matches` (the first ones, as
evidence shows them). Every line is made safe for a terminal and redacted before it leaves.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from providers.base import Finding
from providers.contract import CheckStatus, ParamSpec
from providers.redact import redact
from providers.text import sanitize

DEFAULT_PATTERN = r"error|exception|fatal|traceback|panic"
DEFAULT_LINES = 500
MAX_LINES = 5000  # per source (container, pod container, log group): a window, never the lot
SHOWN = 20  # matching lines kept as evidence and in the facts
LINE_WIDTH = 300

SEARCH_PARAMS = {
    "pattern": ParamSpec(
        "Case-insensitive regular expression; default: error|exception|fatal|traceback|panic",
        str,
        DEFAULT_PATTERN,
    ),
    "lines": ParamSpec(
        f"Recent lines to read per source (at most {MAX_LINES})", int, DEFAULT_LINES
    ),
    "since": ParamSpec("Only lines newer than this (30s, 15m, 1h, 2d); default: no limit", str, ""),
}
_DURATION = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*(s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?)?\s*$",
    re.IGNORECASE,
)
_SCALE = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def since_seconds(value: object) -> int | None:
    """`15m` -> 900, `1h` -> 3600, `90` -> 90; None for no limit; ValueError for nonsense."""
    if value is None or value == "" or value == 0:
        return None
    if isinstance(value, int | float):
        return max(1, int(value))
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"since: {value!r} is not a duration such as 30s, 15m, 1h or 2d")
    unit = (match.group(2) or "s")[0].lower()
    return max(1, int(float(match.group(1)) * _SCALE[unit]))


def line_count(value: object) -> int:
    """The window's size, bounded: at least 1 line, at most MAX_LINES."""
    return max(1, min(MAX_LINES, int(str(value or DEFAULT_LINES))))


def compile_pattern(value: object) -> re.Pattern[str]:
    """The search pattern, case-insensitive; ValueError naming the mistake in a bad one."""
    text = str(value or DEFAULT_PATTERN)
    try:
        return re.compile(text, re.IGNORECASE)
    except re.error as error:
        raise ValueError(f"pattern {text!r} is not a regular expression: {error}") from None


def clean(line: str) -> str:
    """A log line fit for the screen and the report: no escapes, no secrets, bounded."""
    text = redact(sanitize(line.rstrip("\n")))
    return text if len(text) <= LINE_WIDTH else text[: LINE_WIDTH - 1] + "…"


@dataclass
class LogSearch:
    """Lines read from one or more sources and the ones that matched."""

    pattern: re.Pattern[str]
    scanned: int = 0
    count: int = 0
    matches: list[str] = field(default_factory=list)
    by_source: dict[str, int] = field(default_factory=dict)

    def feed(self, source: str, lines: Iterable[str]) -> None:
        """Scan one source's lines; keep the first SHOWN matches, prefixed with the source."""
        found = 0
        for line in lines:
            if not line:
                continue
            self.scanned += 1
            if self.pattern.search(line):
                found += 1
                if len(self.matches) < SHOWN:
                    self.matches.append(clean(f"{source}: {line}" if source else line))
        self.count += found
        self.by_source[source] = self.by_source.get(source, 0) + found

    def finding(self, scope: str, window: str, **extra: Any) -> Finding:
        """WARN with the matching lines when any matched, else PASS with what was read."""
        facts = {
            **extra,
            "count": self.count,
            "scanned": self.scanned,
            "pattern": self.pattern.pattern,
            "matches": list(self.matches),
            "by_source": {name: n for name, n in self.by_source.items() if n},
            "sources": len(self.by_source),
        }
        said = f"{self.scanned} lines read ({window})"
        if self.count:
            more = f", first {len(self.matches)} shown" if self.count > len(self.matches) else ""
            return Finding(
                CheckStatus.WARN,
                f"{scope}: {self.count} lines match /{self.pattern.pattern}/ of {said}{more}",
                facts,
                tuple(self.matches),
            )
        return Finding(
            CheckStatus.PASS, f"{scope}: no line matches /{self.pattern.pattern}/ in {said}", facts
        )


def window_text(lines: int, since: int | None) -> str:
    """How the window reads in a summary: `last 500 lines per source, since 15m`."""
    text = f"last {lines} lines per source"
    if since is not None:
        text += f", since {_duration(since)} ago"
    return text


def _duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
