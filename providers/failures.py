"""Why a backend could not be asked: one word a runbook can match on, whatever the SDK said.

A check that cannot reach its server still says something: "connection refused", "too many
clients", "authentication failed", "no answer" are themselves the evidence that the server is
down, full or refusing. The base class puts this word in the `reason` fact of every check that
ends in an error, so that runbooks match on it as on any other fact.
"""

from __future__ import annotations

import re

from providers.endpoints import OTHER, classify_error

AUTH_FAILED, TOO_MANY_CLIENTS, NO_DATABASE = "auth_failed", "too_many_clients", "no_database"

# Checked before the exception's own class: a refused login arrives as a connection error.
_TEXT_REASONS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        TOO_MANY_CLIENTS,
        re.compile(
            r"too many clients|remaining connection slots|max number of clients reached|"
            r"too many connections|connection limit",
            re.I,
        ),
    ),
    (
        AUTH_FAILED,
        re.compile(
            r"authentication failed|password authentication|no password supplied|WRONGPASS|"
            r"NOAUTH|invalid username-password|ACCESS_REFUSED|login refused|"
            r"not authori[sz]ed|access denied|unauthorized",
            re.I,
        ),
    ),
    (NO_DATABASE, re.compile(r"database \".*\" does not exist", re.I)),
)


def failure_reason(error: BaseException, described: str = "") -> str:
    """refused, timeout, dns, tls, unreachable, auth_failed, too_many_clients, no_database or
    other: from the error's text (and `described`, the provider's own line for it) first, then
    from what the exception and its causes are."""
    text = f"{described} {error}"
    for reason, pattern in _TEXT_REASONS:
        if pattern.search(text):
            return reason
    kind, _ = classify_error(error)
    if kind == OTHER and re.search(r"no answer within|timed? ?out", text, re.I):
        return "timeout"
    if kind == OTHER and re.search(r"connection refused", text, re.I):
        return "refused"
    return kind
