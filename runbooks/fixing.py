"""Applying a cause's fix: plan it (with its preview), run it through the gate, verify.

After any fix that ran, the runbook's `verify` checks run again, and the report holds their
results before and after, so the operator sees whether the symptom is gone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from providers.base import ActionPlan, Provider
from providers.contract import CheckResult, CheckStatus
from providers.environment import LiveEnvironment
from providers.registry import action_catalogue
from runbooks.engine import Diagnosis, fix_command, run_steps, substitute, target_param
from runbooks.gate import Gate
from runbooks.model import Cause, Fix


@dataclass
class PlannedFix:
    """A fix ready to confirm: what it will do, said exactly, and what to type to run it."""

    cause: Cause
    fix: Fix
    preview: str
    destructive: bool
    confirmation_word: str
    params: dict[str, Any] = field(default_factory=dict)
    provider: Provider | None = None
    plan: ActionPlan | None = None
    command: str | None = None

    @property
    def title(self) -> str:
        return self.fix.title

    @property
    def kind(self) -> str:
        return self.fix.kind


@dataclass
class FixReport:
    ok: bool
    summary: str
    output: tuple[str, ...]
    before: dict[str, CheckResult]
    after: dict[str, CheckResult]

    @property
    def verified(self) -> bool:
        """Every verify check passes (or warns) after the fix."""
        return all(
            result.status in {CheckStatus.PASS, CheckStatus.WARN} for result in self.after.values()
        )


def _first_target(diagnosis: Diagnosis) -> str:
    for name, param in diagnosis.runbook.params.items():
        if param.target and name in diagnosis.params:
            return str(diagnosis.params[name])
    return diagnosis.environment


async def plan_fix(
    diagnosis: Diagnosis, cause: Cause, index: int, live: LiveEnvironment
) -> PlannedFix:
    """Read what the fix would change; nothing is changed yet."""
    fix = cause.fixes[index]
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
            dict(params),
            provider,
            plan,
        )
    if fix.run is not None:
        command = fix_command(fix, diagnosis.params)
        word = _first_target(diagnosis) if fix.destructive else "yes"
        return PlannedFix(cause, fix, f"run `{command}`", fix.destructive, word, command=command)
    return PlannedFix(cause, fix, str(fix.manual), False, "")


async def apply_fix(
    planned: PlannedFix,
    diagnosis: Diagnosis,
    live: LiveEnvironment,
    gate: Gate,
    confirmation: str | None,
) -> FixReport:
    """Run the fix through the gate (which may refuse), then re-run the verify checks."""
    if planned.plan is not None and planned.provider is not None:
        outcome = await gate.run_action(
            planned.provider, planned.plan, confirmation=confirmation, params=planned.params
        )
        ok, summary, output = outcome.ok, outcome.summary, outcome.output
    elif planned.command is not None:
        ran = await gate.run_command(
            planned.command,
            target=planned.confirmation_word,
            destructive=planned.destructive,
            confirmation=confirmation,
        )
        ok, summary, output = ran.ok, ran.summary, ran.output
    else:
        raise ValueError("a manual fix is done by hand; there is nothing to run")
    verify = diagnosis.runbook.verify
    after = await run_steps(diagnosis.runbook, live, diagnosis.params, verify) if verify else {}
    before = {step: diagnosis.results[step] for step in verify if step in diagnosis.results}
    return FixReport(ok, summary, tuple(output), before, after)
