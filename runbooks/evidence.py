"""Evidence: whether a runbook condition holds on a check result, and why.

A condition on a check that could not run (error, skipped, or a fact it did not report) is
unknown, never false: an unreachable host must not rule a cause out. Except for what the error
itself says: a check that could not connect reports why (`reason`: refused, timeout,
auth_failed, too_many_clients, ...) and where (`address`), and a condition on those is decided
like any other ("too many clients" is the evidence that the server is full).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from providers.contract import CheckResult, CheckStatus

if TYPE_CHECKING:  # annotations only: fact_value serves the TUI before the model loads
    from runbooks.model import Condition

_MISSING = object()
# Facts a check that could not run still reports (providers/base.py): why, and where.
ERROR_FACTS = frozenset({"reason", "address"})


@dataclass(frozen=True, slots=True)
class ConditionResult:
    """A condition and what it came to: True, False, or None when it cannot be known."""

    condition: Condition
    holds: bool | None
    explanation: str
    parts: tuple[ConditionResult, ...] = ()  # of an `any_of`


def fact_value(facts: Any, path: str) -> Any:
    """The value at a dotted path (`sample.key`, `top_backlogs.0.queue`), or _MISSING."""
    value = facts
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list | tuple) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


# What a check's status says, as an operator says it: "the memory check failed".
STATUS_WORDS = {
    CheckStatus.PASS: "passed",
    CheckStatus.WARN: "warned",
    CheckStatus.FAIL: "failed",
    CheckStatus.ERROR: "could not run",
    CheckStatus.SKIPPED: "was skipped",
}
OPERATOR_WORDS = {
    "equals": "=",
    "not_equals": "≠",
    "lt": "<",
    "le": "≤",
    "gt": ">",
    "ge": "≥",
    "contains": "contains",
    "matches": "matches",
}
SHOWN_CHARACTERS = 100  # of a value quoted in a sentence: a log line, a list of reasons


def _check_said(check: str, result: CheckResult) -> str:
    """`the memory check failed`; an error or a skip says why (its summary)."""
    said = f"the {check} check {STATUS_WORDS[result.status]}"
    if result.status in {CheckStatus.ERROR, CheckStatus.SKIPPED} and result.summary:
        said += f": {result.summary}"
    return said


def _fact_words(condition: Condition) -> str:
    """`memory: oom errors`, the check's id then the fact's path in words."""
    words = " ".join(
        f"#{int(part) + 1}" if part.isdigit() else part.replace("_", " ")
        for part in (condition.fact or "").split(".")
    )
    return f"{condition.check}: {words}"


def _shown(value: Any, *, pattern: bool = False) -> str:
    """A value as a sentence quotes it: `1,204`, `0.93`, `true`, `'noeviction'`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value.is_integer() or abs(value) >= 1000:
            return f"{value:,.2f}".rstrip("0").rstrip(".")
        return f"{value:.6g}"
    if isinstance(value, list | tuple | set):
        return _cut(", ".join(_shown(item) for item in value)) if value else "empty"
    if isinstance(value, dict):
        return _shown(list(value)) if value else "empty"
    text = _cut(str(value))
    return text if pattern else f"'{text}'"


def _cut(text: str) -> str:
    return text if len(text) <= SHOWN_CHARACTERS else text[: SHOWN_CHARACTERS - 1] + "…"


def _value_said(operator: str, actual: Any, expected: Any, holds: bool) -> str:
    """The value compared; of a list that matches or contains what is looked for, the item
    that does (the line of a log that names the cause, not the fifty lines around it)."""
    if holds and operator == "matches" and isinstance(actual, str) and "\n" in actual:
        for line in actual.splitlines():
            if re.search(expected, line):
                return _shown(line.strip())
    if holds and operator in {"matches", "contains"} and isinstance(actual, list | tuple):
        for item in actual:
            if operator == "matches":
                found = re.search(expected, str(item)) is not None
            else:
                found = expected == item or (isinstance(item, str) and str(expected) in item)
            if found:
                others = len(actual) - 1
                return _shown(item) + (f" and {others} more" if others else "")
    return _shown(actual)


def _compare(operator: str, actual: Any, expected: Any) -> bool:
    if operator == "equals":
        return bool(actual == expected)
    if operator == "not_equals":
        return bool(actual != expected)
    if operator in {"lt", "le", "gt", "ge"}:
        if isinstance(actual, bool) or not isinstance(actual, int | float):
            raise TypeError(f"{actual!r} is not a number")
        return {
            "lt": actual < expected,
            "le": actual <= expected,
            "gt": actual > expected,
            "ge": actual >= expected,
        }[operator]
    if operator == "contains":
        if isinstance(actual, str):
            return str(expected) in actual
        if isinstance(actual, dict | list | tuple | set):
            return expected in actual
        raise TypeError(f"{actual!r} cannot contain anything")
    if operator == "matches":
        if isinstance(actual, list | tuple):
            return any(re.search(expected, str(item)) for item in actual)
        return re.search(expected, str(actual)) is not None
    raise AssertionError(f"unknown operator {operator}")


def evaluate_in(condition: Condition, results: Mapping[str, CheckResult]) -> ConditionResult:
    """Whether `condition` holds on a runbook's results: one check's, or any of several."""
    if condition.any_of is None:
        return evaluate(condition, results.get(condition.check))
    parts = [evaluate_in(item, results) for item in condition.any_of]
    if any(part.holds for part in parts):
        holds: bool | None = True
        said = [part.explanation for part in parts if part.holds]
    else:
        holds = None if any(part.holds is None for part in parts) else False
        said = [part.explanation for part in parts]
    return ConditionResult(condition, holds, " or ".join(said), tuple(parts))


def decisive_hold(result: ConditionResult) -> bool:
    """The condition holds and is marked decisive (or holds through a decisive part)."""
    if not result.holds:
        return False
    return result.condition.decisive or any(decisive_hold(part) for part in result.parts)


def checks_of(result: ConditionResult) -> list[str]:
    """The check ids a holding condition rests on (its holding parts' for `any_of`)."""
    if result.condition.any_of is None:
        return [result.condition.check]
    return [check for part in result.parts if part.holds for check in checks_of(part)]


def condition_checks(condition: Condition) -> list[str]:
    """Every check id a condition reads (each part's for `any_of`)."""
    if condition.any_of is None:
        return [condition.check]
    return [check for part in condition.any_of for check in condition_checks(part)]


def evaluate(condition: Condition, result: CheckResult | None) -> ConditionResult:
    """Whether `condition` holds on `result`, with a sentence a human can check: "the memory
    check failed", "memory: oom errors is 1,204 (> 0)"."""
    if condition.fact is None:
        if result is None:
            return ConditionResult(condition, None, f"the {condition.check} check did not run")
        holds = result.status in (condition.status or [])
        said = _check_said(condition.check, result)
        if not holds and result.status in {CheckStatus.ERROR, CheckStatus.SKIPPED}:
            return ConditionResult(condition, None, said)
        return ConditionResult(condition, holds, said)
    fact = _fact_words(condition)
    if result is None:
        return ConditionResult(condition, None, f"{fact} is unknown (the check did not run)")
    said_by_the_error = result.status is CheckStatus.ERROR and condition.fact in ERROR_FACTS
    if result.status in {CheckStatus.ERROR, CheckStatus.SKIPPED} and not said_by_the_error:
        why = _check_said(condition.check, result).removeprefix(f"the {condition.check} check ")
        return ConditionResult(condition, None, f"{fact} is unknown (the check {why})")
    actual = fact_value(result.facts, condition.fact)
    operator = condition.operator or ""
    if operator == "exists":
        present = actual is not _MISSING and actual is not None
        wanted = "present" if condition.exists else "absent"
        return ConditionResult(
            condition,
            present == condition.exists,
            f"{fact} is {'present' if present else 'absent'} (expected {wanted})",
        )
    if actual is _MISSING:
        return ConditionResult(condition, None, f"{fact} is unknown (the check did not report it)")
    expected = getattr(condition, operator)
    try:
        holds = _compare(operator, actual, expected)
    except (TypeError, re.error) as error:
        return ConditionResult(condition, None, f"{fact} is unknown ({error})")
    value = _value_said(operator, actual, expected, holds)
    compared = f"{OPERATOR_WORDS[operator]} {_shown(expected, pattern=operator == 'matches')}"
    return ConditionResult(condition, holds, f"{fact} is {value} ({compared})")
