"""The runbook format: a typed model of one symptom family, its checks, causes and fixes.

Conditions are data (a check's status, or a fact compared with a value), never code: a runbook
cannot run anything but the checks and actions the providers register.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from providers.contract import CheckStatus

IDENTIFIER = r"^[a-z0-9][a-z0-9_.-]*$"
OPERATORS = ("equals", "not_equals", "lt", "le", "gt", "ge", "contains", "matches", "exists")


def _identifier(value: str) -> str:
    if not re.fullmatch(IDENTIFIER, value):  # `$` alone would accept a trailing newline
        raise ValueError(
            f"{value!r} is not a valid id: use lower-case letters, digits, '.', '_' and '-', "
            "starting with a letter or a digit"
        )
    return value


def _regex(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as error:
        raise ValueError(f"{pattern!r} is not a valid regular expression: {error}") from None
    return pattern


# Validated here rather than with `Field(pattern=...)` so that the error says what an id may
# hold, and per item so that a bad signature is pointed at, not the list holding it.
Identifier = Annotated[
    str, AfterValidator(_identifier), WithJsonSchema({"type": "string", "pattern": IDENTIFIER})
]
Regex = Annotated[str, AfterValidator(_regex)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Param(_Strict):
    """A value the runbook needs: a target of some kind, or a plain value with a default."""

    description: str = ""
    target: str | None = Field(
        default=None, description="Provider kind of a target parameter (redis, postgres, ...)."
    )
    default: Any = None
    required: bool = Field(default=True, description="Whether a value must be bound.")


class CheckStep(_Strict):
    """One check the runbook runs, on one of its target parameters."""

    id: Identifier
    use: str = Field(description="Registered check name, e.g. redis.memory.")
    on: str | None = Field(
        default=None, description="The target parameter to run on; default: the first of its kind."
    )
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    title: str = ""


class Condition(_Strict):
    """One piece of evidence: a check's status, or one of its facts compared with a value; or
    `any_of` such conditions, of which one is enough (the same fact seen two ways: a Redis that
    reports rejected clients, or one that refused triage's own connection as full)."""

    check: str = Field(default="", description="The id of a check step of this runbook.")
    status: list[CheckStatus] | None = Field(
        default=None, description="The condition holds when the check ends in one of these."
    )
    fact: str | None = Field(default=None, description="Dotted path into the check's facts.")
    equals: Any = None
    not_equals: Any = None
    lt: int | float | None = None
    le: int | float | None = None
    gt: int | float | None = None
    ge: int | float | None = None
    contains: Any = None
    matches: Regex | None = None
    exists: bool | None = None
    any_of: list[Condition] | None = Field(
        default=None, description="Conditions of which one holding is enough (instead of check)."
    )
    guard: bool = Field(
        default=False,
        description="A condition that can only hold the cause back (the kubelet is not what "
        "kills the container): holding is the normal state and says nothing for the cause; "
        "not holding keeps it from being confirmed.",
    )
    decisive: bool = Field(
        default=False,
        description="This evidence alone names the cause (a waiting or termination reason, a "
        "stop-reason class, an error text): when it holds, the cause is at least likely even "
        "if its other evidence cannot be read.",
    )

    @field_validator("status", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        used = [name for name in OPERATORS if name in self.model_fields_set]
        if self.any_of is not None:
            if self.check or self.fact is not None or self.status is not None or used:
                raise ValueError("a condition is `any_of: [...]` or a test of one check, not both")
            if not self.any_of:
                raise ValueError("`any_of` needs at least one condition")
            return self
        if not self.check:
            raise ValueError("a condition needs `check:` (or `any_of: [...]`)")
        if self.fact is None:
            if used:
                raise ValueError(f"`{used[0]}` compares a fact; add `fact:` naming which one")
            if self.status is None:
                raise ValueError("a condition needs `status: [...]` or `fact:` with a comparison")
        else:
            if self.status is not None:
                raise ValueError(
                    "a condition tests `status:` or a `fact:`, not both; write two conditions"
                )
            if not used:
                raise ValueError(f"`fact:` needs one comparison, one of: {', '.join(OPERATORS)}")
            if len(used) > 1:
                raise ValueError(
                    f"a condition makes one comparison; this one has {' and '.join(used)}: "
                    "write one condition for each"
                )
        return self

    @property
    def operator(self) -> str | None:
        return next((name for name in OPERATORS if name in self.model_fields_set), None)


class Fix(_Strict):
    """A way to fix a cause: an action through the gate, a command, or a manual step."""

    title: str
    action: str | None = Field(default=None, description="Registered action name.")
    on: str | None = None
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    run: str | None = Field(
        default=None,
        description="A shell command, shown and run with its parameters filled in and its "
        "target's variables (REDIS_URL, PG*, DOCKER_HOST, ...) set from the bound target.",
    )
    destructive: bool = Field(
        default=False, description="For commands: destroys data; the word to type says more."
    )
    manual: str | None = Field(default=None, description="What to do by hand, and where.")
    expect: list[Condition] = Field(
        default_factory=list,
        description="What is true once the fix has worked, on this runbook's checks run again: "
        "the fix is done only when all of it holds (default: the verify checks pass and the "
        "cause is no longer confirmed).",
    )

    @model_validator(mode="after")
    def _one_kind(self) -> Fix:
        kinds = [name for name in ("action", "run", "manual") if getattr(self, name)]
        if len(kinds) != 1:
            has = f"; this one has {' and '.join(kinds)}" if kinds else ""
            raise ValueError(f"a fix is exactly one of `action:`, `run:` or `manual:`{has}")
        return self

    @property
    def kind(self) -> Literal["action", "run", "manual"]:
        return "action" if self.action else "run" if self.run else "manual"


class ManualStep(_Strict):
    """A diagnostic step triage cannot observe from here (a browser tab, a vendor dashboard)."""

    title: str
    how: str = Field(description="The exact command to run or place to look.")


class Cause(_Strict):
    """A likely cause of the symptom, the evidence that confirms it, and its fixes."""

    id: Identifier
    title: str
    description: str = ""
    source: str = ""
    evidence: list[Condition] = Field(default_factory=list)
    fixes: list[Fix] = Field(default_factory=list)
    deeper: list[Identifier] = Field(
        default_factory=list,
        description="Runbooks that find why this cause happens (what makes the load balancer's "
        "health checks fail, what holds the connections): a cause one of them finds about the "
        "same entity is the answer before this one. Ids absent from the library are ignored.",
    )


class Runbook(_Strict):
    """One symptom family, from symptom to verified fix."""

    id: Identifier
    title: str
    source: str = Field(default="", description="Guide file and section it comes from.")
    symptoms: list[str] = Field(default_factory=list)
    signatures: list[Regex] = Field(
        default_factory=list, description="Text (regular expressions) that points here."
    )
    applies_to: list[str] = Field(default_factory=list, description="Node kinds.")
    params: dict[str, Param] = Field(default_factory=dict)
    checks: list[CheckStep] = Field(default_factory=list)
    manual: list[ManualStep] = Field(
        default_factory=list, description="Diagnostic steps done by hand, with where or how."
    )
    causes: list[Cause] = Field(default_factory=list)
    verify: list[str] = Field(default_factory=list, description="Check ids re-run after a fix.")
