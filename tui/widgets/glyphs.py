"""Status glyphs and words: every status reads without colour (NO_COLOR, screen readers)."""

from __future__ import annotations

from rich.text import Text

from providers.contract import CheckStatus, Health

HEALTH_GLYPHS = {
    Health.OK: ("●", "ok", "status-ok"),
    Health.DEGRADED: ("▲", "degraded", "status-warn"),
    Health.FAILING: ("✖", "failing", "status-fail"),
    Health.UNKNOWN: ("?", "unknown", "status-unknown"),
}

CHECK_GLYPHS = {
    CheckStatus.PASS: ("✔", "pass", "status-ok"),
    CheckStatus.WARN: ("▲", "warn", "status-warn"),
    CheckStatus.FAIL: ("✖", "fail", "status-fail"),
    CheckStatus.ERROR: ("!", "error", "status-error"),
    CheckStatus.SKIPPED: ("-", "skipped", "status-unknown"),
}

# Rich styles for the two places that render Text rather than CSS classes. Named ANSI colours
# follow the terminal's palette and vanish under NO_COLOR, leaving glyph and word.
GLYPH_STYLES = {
    "status-ok": "green",
    "status-warn": "yellow",
    "status-fail": "bold red",
    "status-error": "magenta",
    "status-unknown": "dim",
}


def health_badge(health: Health) -> Text:
    glyph, word, style = HEALTH_GLYPHS[health]
    return Text.assemble((f"{glyph} {word} ", GLYPH_STYLES[style]))


def check_badge(status: CheckStatus) -> Text:
    glyph, word, style = CHECK_GLYPHS[status]
    return Text.assemble((f"{glyph} {word:<7}", GLYPH_STYLES[style]))
