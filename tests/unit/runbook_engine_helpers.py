"""Shared by the runbook engine tests: check results, conditions, causes and runbooks built in
code.
"""

from __future__ import annotations

from typing import Any

from providers.contract import CheckResult, CheckStatus
from runbooks.model import Cause, Condition, Runbook

PASS, WARN, FAIL = CheckStatus.PASS, CheckStatus.WARN, CheckStatus.FAIL
ERROR, SKIPPED = CheckStatus.ERROR, CheckStatus.SKIPPED


def result(status: CheckStatus = PASS, summary: str = "ok", **facts: Any) -> CheckResult:
    return CheckResult(
        check="redis.memory", target="cache", status=status, summary=summary, facts=facts
    )


def condition(**fields: Any) -> Condition:
    return Condition.model_validate({"check": "memory", **fields})


def cause(cause_id: str, *evidence: dict[str, Any]) -> Cause:
    return Cause.model_validate({"id": cause_id, "title": cause_id, "evidence": list(evidence)})


def runbook(*causes: Cause, **fields: Any) -> Runbook:
    return Runbook.model_validate(
        {
            "id": "redis-oom",
            "title": "Redis is out of memory",
            **fields,
            "causes": [item.model_dump(by_alias=True, exclude_unset=True) for item in causes],
        }
    )
