"""Redaction of secrets in any text that leaves a provider (screen, report, audit log)."""

from __future__ import annotations

import re

MASK = "***"

# The secret words a name ends in: the env-style rule's list, spelled for any case.
_SECRET_WORDS = r"(?:secret|password|passwd|token|api[_-]?key|private[_-]?key|access[_-]?key)"
# A value that is not a string: masked too (a numeric PIN), unless it says only that the secret
# is missing or set (null, true, false).
_BARE_VALUE = r"(?!(?:null|true|false)\b)[-+.\w]+"
# JSON members `"name": "value"` (and 'name': 'value') whose name ends in a secret word; a
# string's escapes (\") are part of it. An empty string stays: it hides nothing.
_JSON_MEMBER = re.compile(
    rf"(?i)(?P<key>(?P<q>[\"'])[^\"'\s\\]*{_SECRET_WORDS}(?P=q)\s*:\s*)"
    rf"(?:(?P=q)(?:\\.|(?!(?P=q))[^\\\n])+(?P=q)|{_BARE_VALUE})"
)
# The same members in JSON carried inside a JSON string (a log line's message):
# {\"password\": \"value\"}, where \\\" is a quote and \\\\ a backslash of the value.
_ESCAPED_JSON_MEMBER = re.compile(
    rf"(?i)(?P<key>(?P<q>\\\")[^\"'\s\\]*{_SECRET_WORDS}\\\"\s*:\s*)"
    rf"(?:\\\"(?:\\\\\\\\|\\\\\\\"|(?!\\\")[^\n])+\\\"|{_BARE_VALUE})"
)


def _mask_member(match: re.Match[str]) -> str:
    quote = match.group("q")
    return f"{match.group('key')}{quote}{MASK}{quote}"


_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # SQL: PASSWORD 'secret' (CREATE/ALTER ROLE, a session's query text); first, so a quoted
    # password holding `=` or `:` is masked whole
    (re.compile(r"(?i)\b(password)\s+E?'(?:[^']|'')*'"), rf"\1 '{MASK}'"),
    # scheme://user:password@host -> scheme://user:***@host
    (
        re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]*:)[^\s@/]+(?P<tail>@)"),
        rf"\g<head>{MASK}\g<tail>",
    ),
    # libpq keyword DSNs: password=secret
    (re.compile(r"(?i)\b(password|passwd|pwd)\s*=\s*('[^']*'|\S+)"), rf"\1={MASK}"),
    # Authorization headers and bearer tokens
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), rf"\1 {MASK}"),
    # AWS access key ids and secret keys, session tokens
    (re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b"), MASK),
    (re.compile(r"(?i)(aws_secret_access_key|aws_session_token)(\s*[=:]\s*)\S+"), rf"\1\2{MASK}"),
    # API keys shaped like sk-..., xoxb-..., ghp_...
    (re.compile(r"\b(sk|pk|rk)-[A-Za-z0-9_-]{16,}\b"), MASK),
    (re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b"), MASK),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}\b"), MASK),
    # Environment-style names: DB_PASSWORD=value, STRIPE_SECRET: value, API_KEY=value
    (
        re.compile(
            r"\b([A-Z0-9_]*(SECRET|PASSWORD|PASSWD|TOKEN|API_?KEY|PRIVATE_KEY|ACCESS_KEY)"
            r"[A-Z0-9_]*)(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|\S+)"
        ),
        rf"\1\3{MASK}",
    ),
    # Lower-case keys ending in a secret word: password: x, client_secret=x, api-key: x
    # (not `secretsmanager:GetSecretValue`, where the word is only a prefix, nor the
    # `123456789012:secret:name` of an ARN, where it follows the account).
    (
        re.compile(
            r"(?i)(?<!\d:)\b([a-z0-9_-]*(secret|password|passwd|token|api[_-]?key|private[_-]?key))"
            r"(?![a-z0-9])(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|\S+)"
        ),
        rf"\1\3{MASK}",
    ),
)


def redact(text: str) -> str:
    """The text with every secret shape we know replaced by ***."""
    for member in (_JSON_MEMBER, _ESCAPED_JSON_MEMBER):
        text = member.sub(_mask_member, text)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


_SECRET_NAME = re.compile(r"(?i)(secret|password|passwd|token|api_?key|private_?key|credential)")


def redact_value(name: str, value: object) -> object:
    """A parameter's value fit for a log: masked when its name says it is secret."""
    if _SECRET_NAME.search(name):
        return MASK
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redact_value(str(key), item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(name, item) for item in value]
    return value
