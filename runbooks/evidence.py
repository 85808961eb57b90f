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


def _describe(condition: Condition) -> str:
    if condition.fact is None:
        statuses = " or ".join(status.value for status in condition.status or [])
        return f"{condition.check} is {statuses}"
    operator = condition.operator or "?"
    if operator == "exists":
        return f"{condition.check}.{condition.fact} {'exists' if condition.exists else 'is absent'}"
    symbol = {
        "equals": "==",
        "not_equals": "!=",
        "lt": "<",
        "le": "<=",
        "gt": ">",
        "ge": ">=",
        "contains": "contains",
        "matches": "matches",
    }[operator]
    return f"{condition.check}.{condition.fact} {symbol} {getattr(condition, operator)!r}"


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
    """Whether `condition` holds on `result`, with a sentence a human can check."""
    described = _describe(condition)
    if result is None:
        return ConditionResult(condition, None, f"{described}: the check did not run")
    if condition.fact is None:
        holds = result.status in (condition.status or [])
        if not holds and result.status in {CheckStatus.ERROR, CheckStatus.SKIPPED}:
            return ConditionResult(
                condition,
                None,
                f"{described}: unknown, the check {result.status.value}: {result.summary}",
            )
        return ConditionResult(condition, holds, f"{described}: it is {result.status.value}")
    said_by_the_error = result.status is CheckStatus.ERROR and condition.fact in ERROR_FACTS
    if result.status in {CheckStatus.ERROR, CheckStatus.SKIPPED} and not said_by_the_error:
        return ConditionResult(
            condition,
            None,
            f"{described}: unknown, the check {result.status.value}: {result.summary}",
        )
    actual = fact_value(result.facts, condition.fact)
    operator = condition.operator or ""
    if operator == "exists":
        present = actual is not _MISSING and actual is not None
        return ConditionResult(
            condition,
            present == condition.exists,
            f"{described}: {'present' if present else 'absent'}",
        )
    if actual is _MISSING:
        return ConditionResult(
            condition, None, f"{described}: unknown, the check reported no {condition.fact}"
        )
    try:
        holds = _compare(operator, actual, getattr(condition, operator))
    except (TypeError, re.error) as error:
        return ConditionResult(condition, None, f"{described}: unknown, {error}")
    return ConditionResult(condition, holds, f"{described}: it is {actual!r}")
