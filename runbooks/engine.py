"""The engine: bind a runbook's parameters, run its checks concurrently, rank its causes.

Ranking is deterministic: confirmed (all evidence holds) before likely (some holds, or a
decisive piece while others could not be read) before unknown (a check it depends on could not
say) before ruled out; ties keep the runbook's order.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from providers.contract import CheckCall, CheckResult, CheckStatus, Node, utc_now
from providers.environment import LiveEnvironment, PlannedCheck
from providers.registry import check_catalogue
from runbooks.evidence import ConditionResult, decisive_hold, evaluate_in
from runbooks.model import Cause, CheckStep, Fix, Runbook

_WHOLE_REFERENCE = re.compile(r"^\$\{?([a-zA-Z_][a-zA-Z0-9_]*)\}?$")
_REFERENCE = re.compile(r"\$\{?([a-zA-Z_][a-zA-Z0-9_]*)\}?")


class BindingError(Exception):
    """A runbook parameter has no value and none can be found. `missing`: what it needs (for
    a screen to ask in its own words)."""

    def __init__(self, message: str, missing: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.missing = missing


class Verdict(StrEnum):
    CONFIRMED = "confirmed"
    LIKELY = "likely"
    UNKNOWN = "unknown"
    RULED_OUT = "ruled out"


_ORDER = {Verdict.CONFIRMED: 0, Verdict.LIKELY: 1, Verdict.UNKNOWN: 2, Verdict.RULED_OUT: 3}


@dataclass(frozen=True, slots=True)
class CauseAssessment:
    cause: Cause
    verdict: Verdict
    evidence: tuple[ConditionResult, ...]


@dataclass
class Diagnosis:
    """One run of a runbook: what was bound, what each check found, the causes ranked."""

    runbook: Runbook
    environment: str
    params: dict[str, Any]
    results: dict[str, CheckResult]
    causes: list[CauseAssessment]
    started_at: datetime = field(default_factory=utc_now)

    @property
    def confirmed(self) -> list[CauseAssessment]:
        return [cause for cause in self.causes if cause.verdict is Verdict.CONFIRMED]


def assess(cause: Cause, results: Mapping[str, CheckResult]) -> CauseAssessment:
    """A cause's verdict from its evidence on these results."""
    evidence = tuple(evaluate_in(condition, results) for condition in cause.evidence)
    if not evidence:
        return CauseAssessment(cause, Verdict.UNKNOWN, evidence)
    decided = any(decisive_hold(item) for item in evidence)
    if any(item.holds is None for item in evidence):
        # A decisive fact that holds is not undone by a corroborating check that errored.
        verdict = Verdict.LIKELY if decided else Verdict.UNKNOWN
    elif all(item.holds for item in evidence):
        verdict = Verdict.CONFIRMED
    elif decided:
        verdict = Verdict.LIKELY
    elif any(_shows_no_fault(item) for item in evidence):
        # "this check fails" is the cause's own statement: the check ran and is healthy, so
        # facts that hold besides (pods running, nothing unready) are only the normal state.
        verdict = Verdict.RULED_OUT
    elif any(item.holds for item in evidence if not item.condition.guard):
        verdict = Verdict.LIKELY  # a guard that holds is only the normal state
    else:
        verdict = Verdict.RULED_OUT
    return CauseAssessment(cause, verdict, evidence)


_FAULTS = frozenset({CheckStatus.FAIL, CheckStatus.WARN, CheckStatus.ERROR})


def _shows_no_fault(item: ConditionResult) -> bool:
    """A condition that a check shows a fault (fails, warns or errs) that does not hold."""
    condition = item.condition
    return (
        item.holds is False
        and condition.any_of is None
        and condition.fact is None
        and bool(condition.status)
        and set(condition.status or ()) <= _FAULTS
    )


def rank(runbook: Runbook, results: Mapping[str, CheckResult]) -> list[CauseAssessment]:
    assessed = [assess(cause, results) for cause in runbook.causes]
    order = {id(item.cause): index for index, item in enumerate(assessed)}
    return sorted(assessed, key=lambda item: (_ORDER[item.verdict], order[id(item.cause)]))


def bind(
    runbook: Runbook,
    live: LiveEnvironment,
    given: Mapping[str, Any],
    *,
    node: Node | None = None,
    guess_optional: bool = True,
) -> dict[str, Any]:
    """Values for every parameter: given, then the selected node, then the environment's
    `params` in the inventory, then defaults. A target parameter names a target.

    `guess_optional=False` leaves an optional target parameter that was not given unbound (its
    checks are skipped): a diagnosis bound to one entity does not let a check run on every
    container of another kind of target and call what it finds there evidence."""
    bound: dict[str, Any] = {}
    targets_by_kind: dict[str, list[str]] = {}
    for provider in live.providers:
        targets_by_kind.setdefault(provider.kind, []).append(provider.target.name)
    node_target = None
    if node is not None:
        try:
            node_target = live.provider_for(node.id)
        except KeyError:
            node_target = None
    unknown = sorted(set(given) - set(runbook.params))
    if unknown:
        raise BindingError(
            f"{runbook.id} takes no parameter {', '.join(unknown)}; it takes: "
            f"{', '.join(runbook.params) or 'none'}"
        )
    missing: list[str] = []
    inventory_params = live.config.params
    params_by_kind = Counter(param.target for param in runbook.params.values() if param.target)
    required_by_kind = Counter(
        param.target for param in runbook.params.values() if param.target and param.required
    )
    for name, param in runbook.params.items():
        if name in given or name in inventory_params:
            value = given[name] if name in given else inventory_params[name]
            if param.target and value not in targets_by_kind.get(param.target, []):
                known = ", ".join(targets_by_kind.get(param.target, [])) or "none"
                raise BindingError(
                    f"{name}={value!r} is not a {param.target} target of {live.name}; "
                    f"{param.target} targets: {known}"
                )
            bound[name] = value
        elif param.target:
            # Guess only when it cannot be wrong: one such target, and this is the only required
            # parameter of its kind (or, when optional, the only parameter of its kind at all).
            rivals = required_by_kind if param.required else params_by_kind
            sole_param = rivals[param.target] == 1
            if not param.required and not guess_optional:
                continue
            if sole_param and node_target is not None and node_target.kind == param.target:
                bound[name] = node_target.target.name
            elif sole_param and len(targets_by_kind.get(param.target, [])) == 1:
                bound[name] = targets_by_kind[param.target][0]
            elif param.required:
                missing.append(f"{name} (a {param.target} target)")
        elif param.default is not None:
            bound[name] = param.default
        elif param.required:
            missing.append(name)
    if missing:
        raise BindingError(
            f"{runbook.id} needs {', '.join(missing)}; pass --param NAME=VALUE", tuple(missing)
        )
    return bound


def substitute(value: Any, params: Mapping[str, Any]) -> Any:
    """`$name` replaced by its bound value; a whole-string reference keeps the value's type."""
    if isinstance(value, str):
        whole = _WHOLE_REFERENCE.match(value)
        if whole and whole.group(1) in params:
            return params[whole.group(1)]
        return _REFERENCE.sub(lambda match: str(params.get(match.group(1), match.group(0))), value)
    if isinstance(value, list):
        return [substitute(item, params) for item in value]
    if isinstance(value, dict):
        return {key: substitute(item, params) for key, item in value.items()}
    return value


def target_param(runbook: Runbook, on: str | None, kind: str) -> str:
    """The target parameter a step or fix runs on."""
    if on is not None:
        return on
    return next(name for name, param in runbook.params.items() if param.target == kind)


def planned(
    runbook: Runbook, step: CheckStep, params: Mapping[str, Any], kinds: Mapping[str, str]
) -> PlannedCheck:
    """The check a step runs, on the target its parameter names, with `$params` filled in."""
    kind = kinds[step.use]
    target = params[target_param(runbook, step.on, kind)]
    return PlannedCheck(f"{kind}:{target}", CheckCall(step.use, substitute(step.with_, params)))


# A result already in hand for a planned check (one sweep's, seconds old), or None.
Known = Callable[[PlannedCheck], CheckResult | None]
# How a planned check is run (default: LiveEnvironment.run_check); a diagnosis shares one run
# of the same check between its runbooks.
Runner = Callable[[PlannedCheck], Awaitable[CheckResult]]


async def run_step(
    runbook: Runbook,
    step: CheckStep,
    live: LiveEnvironment,
    params: Mapping[str, Any],
    kinds: Mapping[str, str],
    known: Known | None = None,
    runner: Runner | None = None,
) -> CheckResult:
    """One step's check, or SKIPPED when its (optional) target is not in this environment, or
    what `known` already holds for it."""
    kind = kinds[step.use]
    target_name = target_param(runbook, step.on, kind)
    if target_name not in params:
        return CheckResult(
            check=step.use,
            target="",
            status=CheckStatus.SKIPPED,
            summary=f"no {kind} target ({target_name}) in {live.name}",
            facts={"skipped": "no target"},
        )
    plan = planned(runbook, step, params, kinds)
    if known is not None and (result := known(plan)) is not None:
        return result
    return await (runner or live.run_check)(plan)


async def run_steps(
    runbook: Runbook,
    live: LiveEnvironment,
    params: Mapping[str, Any],
    step_ids: list[str] | None = None,
    known: Known | None = None,
    runner: Runner | None = None,
) -> dict[str, CheckResult]:
    """Run the runbook's checks (or those named) concurrently, each within its timeout."""
    steps = [step for step in runbook.checks if step_ids is None or step.id in step_ids]
    kinds = {name: kind for name, (kind, _) in check_catalogue().items()}
    results = await asyncio.gather(
        *(run_step(runbook, step, live, params, kinds, known, runner) for step in steps)
    )
    return {step.id: result for step, result in zip(steps, results, strict=True)}


async def diagnose(
    runbook: Runbook,
    live: LiveEnvironment,
    given: Mapping[str, Any] | None = None,
    *,
    node: Node | None = None,
    known: Known | None = None,
    runner: Runner | None = None,
) -> Diagnosis:
    params = bind(runbook, live, given or {}, node=node)
    started_at = utc_now()
    results = await run_steps(runbook, live, params, known=known, runner=runner)
    return Diagnosis(
        runbook=runbook,
        environment=live.name,
        params=params,
        results=results,
        causes=rank(runbook, results),
        started_at=started_at,
    )


def fix_command(fix: Fix, params: Mapping[str, Any]) -> str:
    """A fix's command with its parameters filled in."""
    assert fix.run is not None
    return str(substitute(fix.run, params))
