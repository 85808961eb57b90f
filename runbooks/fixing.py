"""Applying a cause's fix: plan it (what it touches, where, what to type), run it through the
gate, then see whether it worked.

- A fix acts on the diagnosed target only: an action on the provider of the bound target, a
  command with that target's variables (runbooks/commands.py), never the operator's.
- The verdict gates it: a ruled-out cause's fix is refused; an unknown one's needs `force`.
- It is done only when its effect is seen: the fix's `expect` conditions, or else the runbook's
  `verify` checks passing with the cause no longer confirmed, on checks run again afterwards.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from providers.base import ActionPlan, CommandTarget, Provider
from providers.contract import CheckResult, CheckStatus
from providers.environment import LiveEnvironment
from providers.registry import action_catalogue, command_catalogue
from runbooks.commands import (
    child_environment,
    fill,
    kinds_used,
    programs,
    references,
    shown_environment,
)
from runbooks.engine import (
    BindingError,
    CauseAssessment,
    Diagnosis,
    Verdict,
    assess,
    run_steps,
    substitute,
    target_param,
)
from runbooks.evidence import ConditionResult, condition_checks, evaluate_in
from runbooks.gate import FixRefused, Gate, GateRun
from runbooks.model import Cause, Fix, Runbook


class FixOutcome(StrEnum):
    DONE = "done"
    FAILED = "failed"
    NOT_VERIFIED = "not verified"


@dataclass
class PlannedFix:
    """A fix ready to confirm: what it will do and where, said exactly, and what to type."""

    cause: Cause
    fix: Fix
    preview: str
    destructive: bool
    confirmation_word: str
    verdict: Verdict = Verdict.UNKNOWN
    verdict_why: tuple[str, ...] = ()
    server: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    provider: Provider | None = None
    plan: ActionPlan | None = None
    command: str | None = None
    environment: dict[str, str] = field(default_factory=dict, repr=False)
    targets: tuple[CommandTarget, ...] = ()
    cwd: str | None = None
    variables: str = ""

    @property
    def title(self) -> str:
        return self.fix.title

    @property
    def kind(self) -> str:
        return self.fix.kind

    @property
    def needs_force(self) -> bool:
        """The diagnosis could not say whether this cause holds: running its fix is a guess."""
        return self.verdict is Verdict.UNKNOWN

    @property
    def refused(self) -> bool:
        return self.verdict is Verdict.RULED_OUT


@dataclass
class FixReport:
    """How a fix ended: whether it ran, whether its effect was seen, and the checks after."""

    ran: bool
    summary: str
    output: tuple[str, ...]
    before: dict[str, CheckResult]
    after: dict[str, CheckResult]
    outcome: FixOutcome = FixOutcome.NOT_VERIFIED
    effect: str = ""
    expected: tuple[ConditionResult, ...] = ()
    cause_after: CauseAssessment | None = None

    @property
    def ok(self) -> bool:
        """Done: it ran and its effect was seen."""
        return self.outcome is FixOutcome.DONE

    @property
    def verified(self) -> bool:
        """Every verify check passes (or warns) after the fix."""
        return all(
            result.status in {CheckStatus.PASS, CheckStatus.WARN} for result in self.after.values()
        )


def assessment_of(diagnosis: Diagnosis, cause: Cause) -> CauseAssessment | None:
    return next((item for item in diagnosis.causes if item.cause.id == cause.id), None)


def _target_param_of(runbook: Runbook, fix: Fix, kind: str) -> str | None:
    if fix.on is not None and runbook.params[fix.on].target == kind:
        return fix.on
    return next((name for name, p in runbook.params.items() if p.target == kind), None)


async def _command_targets(
    diagnosis: Diagnosis, fix: Fix, live: LiveEnvironment, kinds: list[str]
) -> list[CommandTarget]:
    """The bound target of each kind the command reaches, as its command sees it."""
    found: list[CommandTarget] = []
    for kind in kinds:
        name = _target_param_of(diagnosis.runbook, fix, kind)
        if name is None or name not in diagnosis.params:
            raise BindingError(
                f"this command reaches a {kind} target, and no {kind} target is bound "
                f"in {diagnosis.environment}; it would run against whatever the shell points at"
            )
        provider = live.provider_for(f"{kind}:{diagnosis.params[name]}")
        runbook = diagnosis.runbook
        # Values only (a `database`, a `project`): a target parameter's value is a target's name.
        values = {
            key: value
            for key, value in diagnosis.params.items()
            if key not in runbook.params or not runbook.params[key].target
        }
        async with asyncio.timeout(provider.timeout):
            found.append(await provider.command_target(values))
    return found


def _command_word(where: str, command: str, destructive: bool) -> str:
    """Every command changes something, as far as triage can tell: type where it runs; a
    destructive one, also the program that destroys."""
    if not destructive:
        return where
    program = next(iter(programs(command)), "command")
    return f"{where}/{program}"


async def plan_fix(
    diagnosis: Diagnosis, cause: Cause, index: int, live: LiveEnvironment
) -> PlannedFix:
    """Read what the fix would change, and where; nothing is changed yet."""
    fix = cause.fixes[index]
    assessed = assessment_of(diagnosis, cause)
    verdict = assessed.verdict if assessed else Verdict.UNKNOWN
    why = tuple(item.explanation for item in assessed.evidence) if assessed else ()
    if fix.action is not None:
        kind, _ = action_catalogue()[fix.action]
        target = diagnosis.params[target_param(diagnosis.runbook, fix.on, kind)]
        provider = live.provider_for(f"{kind}:{target}")
        params: Mapping[str, Any] = substitute(fix.with_, diagnosis.params)
        plan = await provider.plan_action(fix.action, params)
        return PlannedFix(
            cause,
            fix,
            plan.preview.summary,
            plan.preview.destructive,
            plan.confirmation_word(),
            verdict,
            why,
            plan.preview.server,
            dict(params),
            provider,
            plan,
        )
    if fix.run is not None:
        unbound = [
            name
            for name in references(fix.run)
            if name in diagnosis.runbook.params and name not in diagnosis.params
        ]
        if unbound:
            raise BindingError(
                f"this command needs {', '.join(unbound)}; "
                + " ".join(f"pass --param {name}=VALUE" for name in unbound)
            )
        specs = command_catalogue()
        targets = await _command_targets(diagnosis, fix, live, kinds_used(fix.run, specs))
        values = {name: str(value) for name, value in diagnosis.params.items()}
        for target in targets:  # secrets stay out: the child reads them from its environment
            values.update({k: v for k, v in target.variables.items() if "{files}" not in v})
        command = fill(fix.run, values)
        where = targets[0].name if targets else diagnosis.environment
        server = ", ".join(t.server for t in targets) or f"this machine ({diagnosis.environment})"
        environment = child_environment(os.environ, targets, specs)
        return PlannedFix(
            cause,
            fix,
            f"run `{command}`",
            fix.destructive,
            _command_word(where, command, fix.destructive),
            verdict,
            why,
            server,
            command=command,
            environment=environment,
            targets=tuple(targets),
            cwd=next((t.cwd for t in targets if t.cwd), None),
            variables=shown_environment(targets),
        )
    return PlannedFix(cause, fix, str(fix.manual), False, "", verdict, why)


def _check_verdict(planned: PlannedFix, gate: Gate, *, force: bool) -> None:
    """Refuse a fix the diagnosis does not back; recorded in the audit log like any refusal."""
    cause = planned.cause
    if planned.verdict is Verdict.RULED_OUT:
        reason = f"cause {cause.id} is ruled out by the diagnosis, so its fix is not run"
    elif planned.verdict is Verdict.UNKNOWN and not force:
        reason = (
            f"cause {cause.id} is unknown (its evidence could not be read); its fix runs only "
            "when forced (--force, or the second confirmation)"
        )
    else:
        return
    kind = "action" if planned.plan is not None else "command"
    name = planned.plan.preview.action if planned.plan is not None else str(planned.command)
    raise FixRefused(
        gate.refuse(
            kind,
            name,
            planned.server,
            f"{reason}: {'; '.join(planned.verdict_why)}" if planned.verdict_why else reason,
            cause=cause.id,
            verdict=planned.verdict.value,
        )
    )


def _judge(
    planned: PlannedFix,
    diagnosis: Diagnosis,
    run: GateRun,
    after: Mapping[str, CheckResult],
) -> tuple[FixOutcome, str, tuple[ConditionResult, ...], CauseAssessment]:
    """Whether the fix worked, from what the checks see now, not from its exit code."""
    runbook = diagnosis.runbook
    expected = tuple(evaluate_in(item, after) for item in planned.fix.expect)
    cause_after = assess(planned.cause, {**diagnosis.results, **after})
    if not run.ok:
        # A tool may fail half-way and still have changed something (redis-cli goes on as
        # another user after a failed AUTH): say so when the checks show it.
        changed = (expected and all(item.holds for item in expected)) or (
            planned.verdict is Verdict.CONFIRMED and cause_after.verdict is not Verdict.CONFIRMED
        )
        effect = "yet the checks show a change: look before retrying" if changed else ""
        return FixOutcome.FAILED, effect, expected, cause_after
    if expected:
        missing = [item.explanation for item in expected if not item.holds]
        if missing:
            return FixOutcome.NOT_VERIFIED, "not seen: " + "; ".join(missing), expected, cause_after
        return (
            FixOutcome.DONE,
            "seen: " + "; ".join(i.explanation for i in expected),
            (expected),
            cause_after,
        )
    verify = {step: after[step] for step in runbook.verify if step in after}
    failing = [
        f"{step} is {result.status.value}: {result.summary}"
        for step, result in verify.items()
        if result.status not in {CheckStatus.PASS, CheckStatus.WARN}
    ]
    if failing:
        return FixOutcome.NOT_VERIFIED, "still failing: " + "; ".join(failing), (), cause_after
    if cause_after.verdict is Verdict.CONFIRMED:
        return (
            FixOutcome.NOT_VERIFIED,
            f"cause {planned.cause.id} is still confirmed",
            (),
            cause_after,
        )
    if not verify and not planned.cause.evidence:
        return FixOutcome.NOT_VERIFIED, "nothing here can see its effect", (), cause_after
    return FixOutcome.DONE, "the verify checks pass and the cause no longer holds", (), cause_after


async def apply_fix(
    planned: PlannedFix,
    diagnosis: Diagnosis,
    live: LiveEnvironment,
    gate: Gate,
    confirmation: str | None,
    *,
    force: bool = False,
) -> FixReport:
    """Run the fix through the gate (which may refuse), then run the checks that show its
    effect again and judge it."""
    _check_verdict(planned, gate, force=force)
    if planned.plan is not None and planned.provider is not None:
        run = await gate.run_action(
            planned.provider, planned.plan, confirmation=confirmation, params=planned.params
        )
    elif planned.command is not None:
        run = await gate.run_command(
            planned.command,
            server=planned.server,
            word=planned.confirmation_word,
            destructive=planned.destructive,
            confirmation=confirmation,
            environment=planned.environment,
            targets=planned.targets,
            cwd=planned.cwd,
        )
    else:
        raise ValueError("a manual fix is done by hand; there is nothing to run")
    runbook = diagnosis.runbook
    wanted = [
        *runbook.verify,
        *(check for item in planned.fix.expect for check in condition_checks(item)),
        *(check for item in planned.cause.evidence for check in condition_checks(item)),
    ]
    steps = list(dict.fromkeys(wanted))
    after = await run_steps(runbook, live, diagnosis.params, steps) if steps else {}
    outcome, effect, expected, cause_after = _judge(planned, diagnosis, run, after)
    if run.ok:
        gate.record_effect(run, outcome=outcome.value, reason=effect)
    verify = runbook.verify
    return FixReport(
        ran=run.ok,
        summary=run.summary,
        output=tuple(run.output),
        before={step: diagnosis.results[step] for step in verify if step in diagnosis.results},
        after={step: after[step] for step in verify if step in after},
        outcome=outcome,
        effect=effect,
        expected=expected,
        cause_after=cause_after,
    )
