"""IAM policy documents evaluated for one action and resource, as IAM does without conditions.

Used when SimulatePrincipalPolicy cannot run (not permitted, or not offered by the endpoint):
an explicit Deny wins, then any Allow, else the implicit deny. Conditions are not evaluated; a
statement with conditions counts, and is reported as conditional.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(item) for item in value]


def _matches(patterns: list[str], value: str, *, case: bool) -> bool:
    for pattern in patterns:
        if case and fnmatch.fnmatchcase(value, pattern):
            return True
        if not case and fnmatch.fnmatchcase(value.lower(), pattern.lower()):
            return True
    return False


def document(raw: Any) -> dict[str, Any]:
    """A policy document from boto3 (already a dict) or URL-encoded JSON text."""
    if isinstance(raw, Mapping):
        return dict(raw)
    return dict(json.loads(unquote(str(raw))))


def statement_applies(statement: Mapping[str, Any], action: str, resource: str) -> bool:
    if "NotAction" in statement:
        acts = not _matches(_list(statement["NotAction"]), action, case=False)
    else:
        acts = _matches(_list(statement.get("Action")), action, case=False)
    if not acts:
        return False
    if "NotResource" in statement:
        return not _matches(_list(statement["NotResource"]), resource, case=True)
    return _matches(_list(statement.get("Resource", "*")), resource, case=True)


def evaluate(
    policies: Mapping[str, Any], action: str, resource: str = "*"
) -> tuple[str, list[str], bool]:
    """(decision, deciding policy names, conditional) over named policy documents.

    decision is `allowed`, `explicitDeny` or `implicitDeny`.
    """
    allowed, denied, conditional = [], [], False
    for name, raw in policies.items():
        statements = document(raw).get("Statement", [])
        if isinstance(statements, Mapping):
            statements = [statements]
        for statement in statements:
            if not statement_applies(statement, action, resource):
                continue
            if statement.get("Effect") == "Deny":
                denied.append(name)
            elif statement.get("Effect") == "Allow":
                allowed.append(name)
                conditional = conditional or bool(statement.get("Condition"))
    if denied:
        return "explicitDeny", sorted(set(denied)), False
    if allowed:
        return "allowed", sorted(set(allowed)), conditional
    return "implicitDeny", [], False
