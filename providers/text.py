"""Text from backends made safe for a terminal.

A container may print `\\x1b]52;...` (write the clipboard), `\\x1b[2J` (clear the screen) or a
title change; none of that may reach the operator's terminal. Escape sequences are removed and
other control characters shown in caret notation, so nothing is lost silently.
"""

from __future__ import annotations

import re

# OSC, DCS, SOS, PM, APC strings (terminated by BEL or ST), then CSI, then two-byte escapes.
_ESCAPES = re.compile(
    r"\x1b[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x9b[0-?]*[ -/]*[@-~]"
    r"|\x1b[ -/]*[0-~]?"
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")


def _caret(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code == 0x7F:
        return "^?"
    if code < 0x20:
        return "^" + chr(code + 0x40)
    return f"\\x{code:02x}"


def sanitize(text: str) -> str:
    """One line of text with escape sequences removed and control characters made visible."""
    text = _ESCAPES.sub("", text)
    text = text.replace("\r\n", "\n").replace("\n", " ").replace("\t", "    ")
    return _CONTROLS.sub(_caret, text)
