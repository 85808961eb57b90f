"""How a log line reads, and what the operator types about lines; pure functions, no widgets.

Everything returned here has passed through `sanitize`: a line that carries `\\x1b]52;...`,
`\\x1b[2J` or a title change reads as text and never reaches the terminal.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rich.cells import cell_len

from providers.contract import LogLine
from providers.text import sanitize

WINDOWS: tuple[tuple[str, timedelta | None], ...] = (
    ("all", None),
    ("last 1m", timedelta(minutes=1)),
    ("last 5m", timedelta(minutes=5)),
    ("last 15m", timedelta(minutes=15)),
    ("last 1h", timedelta(hours=1)),
)
_CATEGORY = {
    **dict.fromkeys(("error", "err", "fatal", "critical", "crit", "panic", "alert"), "error"),
    **dict.fromkeys(("emerg", "emergency", "severe"), "error"),
    **dict.fromkeys(("warn", "warning"), "warn"),
    **dict.fromkeys(("info", "information", "notice"), "info"),
    **dict.fromkeys(("debug", "trace", "verbose", "fine"), "debug"),
}
_SHORT = {"warning": "WARN", "critical": "CRIT", "information": "INFO", "emergency": "EMERG"}
_PINO_LEVELS = {10: "trace", 20: "debug", 30: "info", 40: "warn", 50: "error", 60: "fatal"}


def level_of(word: str) -> tuple[str, str]:
    """A level's category (error, warn, info, debug or other) and the word shown for it."""
    key = sanitize(word).strip().lower()
    return _CATEGORY.get(key, "other"), _SHORT.get(key, key.upper()[:5])


@dataclass(frozen=True, slots=True)
class Shown:
    """What a log line says, made safe: a JSON object becomes its message and `key=value`s."""

    level: str
    message: str
    fields: tuple[tuple[str, str], ...] = ()


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        plain = value and not re.search(r'[\s="]', value)
        return sanitize(value if plain else json.dumps(value, ensure_ascii=False))
    return sanitize(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def shown(line: LogLine) -> Shown:
    """The readable form of a line; JSON objects use level/lvl/severity, msg/message and time."""
    text = line.text.strip()
    record = None
    if text.startswith("{") and text.endswith("}"):
        try:
            record = json.loads(text)
        except ValueError:
            record = None
    if not isinstance(record, dict):
        return Shown(line.level, sanitize(line.text))
    level = next((record.pop(k) for k in ("level", "lvl", "severity") if k in record), line.level)
    message = next((record.pop(k) for k in ("msg", "message") if k in record), "")
    for key in ("time", "ts", "timestamp", "@timestamp"):
        record.pop(key, None)  # the time column shows it
    level = _PINO_LEVELS.get(level, str(level)) if isinstance(level, int) else str(level)
    text = sanitize(message) if isinstance(message, str) else _scalar(message)
    return Shown(level, text, tuple((sanitize(str(k)), _scalar(v)) for k, v in record.items()))


def message_width(what: Shown) -> int:
    """How many cells a message and its fields take, as the log view lays them out."""
    pairs = (f"{key}={value}" for key, value in what.fields)
    return cell_len(" ".join(part for part in (what.message, *pairs) if part))


def compile_query(query: str) -> tuple[re.Pattern[str] | None, bool]:
    """A typed filter or search as a pattern, and whether it excludes what matches.

    `text` matches text, `/regex/` a regular expression, and a leading `!` excludes. Case is
    ignored unless the query has a capital letter. Raises `re.error` for a bad regex.
    """
    inverse = query.startswith("!")
    body = query[1:] if inverse else query
    if not body:
        return None, inverse
    is_regex = len(body) >= 2 and body.startswith("/") and body.endswith("/")
    source = body[1:-1] if is_regex else re.escape(body)
    capitals = any(char.isupper() for char in re.sub(r"\\.", "", body))
    return re.compile(source, 0 if capitals else re.IGNORECASE), inverse


def parse_since(text: str, now: datetime) -> datetime:
    """`HH:MM` or `HH:MM:SS` today in local time, or yesterday if it is still to come.

    Raises `ValueError` for anything else.
    """
    clock = datetime.strptime(text.strip(), "%H:%M:%S" if text.count(":") == 2 else "%H:%M")
    local_now = now.astimezone()
    when = local_now.replace(
        hour=clock.hour, minute=clock.minute, second=clock.second, microsecond=0
    )
    return when - timedelta(days=1) if when > local_now else when
