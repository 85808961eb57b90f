"""The provider base class: one target, its checks, its log stream, all behind timeouts.

A provider subclass declares its checks with the `check` decorator; the base class runs them
with a deadline and turns every failure to reach the backend into an `error` result that names
the address, so no caller needs its own try/except and no dead host costs more than its timeout.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from providers.contract import (
    ActionOutcome,
    ActionPreview,
    ActionSpec,
    CheckCall,
    CheckResult,
    CheckSpec,
    CheckStatus,
    LogLine,
    Node,
    ParamSpec,
    utc_now,
)
from providers.failures import failure_reason
from providers.inventory import Target
from providers.redact import redact, redact_texts
from providers.streams import LineBatch, batched

DEFAULT_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class Finding:
    """What a check body returns; the base class adds name, target, node and timing."""

    status: CheckStatus
    summary: str
    facts: Mapping[str, Any] = field(default_factory=dict)
    evidence: tuple[str, ...] = ()


CheckBody = Callable[[Any, Mapping[str, Any]], Awaitable[Finding]]
F = TypeVar("F", bound=CheckBody)


class ConfirmationRequired(Exception):
    """An action was asked to run without the confirmation its preview demands."""


@dataclass(frozen=True, slots=True)
class ActionPlan:
    """An action ready to run: exactly what it will touch, and the step that does it.

    Planning reads the backend (to count what would go); only `apply` changes anything, and
    only `Provider.run_action` calls it, after checking the confirmation.
    """

    preview: ActionPreview
    apply: Callable[[], Awaitable[ActionOutcome]]

    def confirmation_word(self) -> str:
        """What the operator must type; never a bare `yes`: every action changes something.

        `Provider.plan_action` sets it on the preview (see `confirmation_word`); a plan made
        elsewhere falls back to the name of what it touches."""
        return self.preview.confirm or self.preview.target


def confirmation_word(server: str, preview: ActionPreview) -> str:
    """What to type to run an action, in proportion to what it destroys.

    A change that destroys nothing: the name of what it changes (`orders-worker`). A destructive
    one: the server's name with what it destroys (`cache/x:*`), so that a word typed for one
    server never runs on another. A body may ask for more (`cache/db0/500-keys` for a pattern
    that matches every key)."""
    if preview.confirm:
        return preview.confirm
    return f"{server}/{preview.target}" if preview.destructive else preview.target


@dataclass(frozen=True, slots=True)
class CommandTarget:
    """What a fix's shell command is given about the target it acts on.

    `variables` go to the child's environment and may be shown (a URL without its password);
    `secrets` go to the child's environment only, never on its command line or on screen;
    `files` (name -> text) are written to a private folder for the run, named by `{files}` in
    a variable's value (a kubeconfig naming the target's context; under `bin/`, executable);
    `cwd` is where it runs (a compose project's folder); `unset` names the operator's
    variables that would win over the target's (AWS keys over a profile). The command never
    reads the operator's own values for these.
    """

    name: str
    kind: str
    address: str
    variables: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict)
    files: Mapping[str, str] = field(default_factory=dict)
    cwd: str | None = None
    unset: tuple[str, ...] = ()  # the operator's values that would override the target's

    @property
    def server(self) -> str:
        return f"{self.name} ({self.address})"


PlanBody = Callable[[Any, Mapping[str, Any]], Awaitable[ActionPlan]]
A = TypeVar("A", bound=PlanBody)


def action(
    name: str,
    title: str,
    *,
    destructive: bool,
    params: Mapping[str, ParamSpec] | None = None,
) -> Callable[[A], A]:
    """Declare a provider method as the planner of action `name`; it returns an ActionPlan."""

    def declare(body: A) -> A:
        body.__action_spec__ = ActionSpec(  # type: ignore[attr-defined]
            name=name, title=title, destructive=destructive, params=dict(params or {})
        )
        return body

    return declare


def check(
    name: str,
    title: str,
    description: str,
    *,
    applies_to: tuple[str, ...] = (),
    params: Mapping[str, ParamSpec] | None = None,
) -> Callable[[F], F]:
    """Declare a provider method as the check `name`."""

    def declare(body: F) -> F:
        body.__check_spec__ = CheckSpec(  # type: ignore[attr-defined]
            name=name,
            title=title,
            description=description,
            applies_to=applies_to,
            params=dict(params or {}),
        )
        return body

    return declare


class Provider(ABC):
    """One configured target (a Redis instance, a cluster, an API) seen through one SDK."""

    kind: ClassVar[str]
    # True when the root node's log stream is the backend's own change feed (engine events, a
    # watch): then the tree is refreshed on each change, not only at the next sweep.
    root_logs_are_changes: ClassVar[bool] = False
    checks: ClassVar[dict[str, CheckSpec]] = {}
    actions: ClassVar[dict[str, ActionSpec]] = {}
    # What a fix's shell command may use of this kind: the programs that reach such a target by
    # themselves (redis-cli, kubectl), and the variables `command_target` gives the child.
    command_tools: ClassVar[tuple[str, ...]] = ()
    command_variables: ClassVar[tuple[str, ...]] = ()
    # Variables (a trailing `*`: every name with that prefix) a command never inherits from the
    # operator's shell, whatever target it runs on: they would point it at another server.
    command_shadows: ClassVar[tuple[str, ...]] = ()
    _bodies: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.checks = dict(cls.checks)
        cls.actions = dict(cls.actions)
        cls._bodies = dict(cls._bodies)
        # Mixins may carry checks and actions too, so look along the whole MRO: the class's
        # own first (they override, and they list first), then its mixins in order.
        declared: dict[str, Any] = {}
        for klass in cls.__mro__:
            for attribute, value in vars(klass).items():
                declared.setdefault(attribute, value)
        for attribute, value in declared.items():
            check_spec = getattr(value, "__check_spec__", None)
            if isinstance(check_spec, CheckSpec):
                cls.checks[check_spec.name] = check_spec
                cls._bodies[check_spec.name] = attribute
            action_spec = getattr(value, "__action_spec__", None)
            if isinstance(action_spec, ActionSpec):
                cls.actions[action_spec.name] = action_spec
                cls._bodies[action_spec.name] = attribute

    def __init__(self, target: Target, *, default_timeout: float = DEFAULT_TIMEOUT) -> None:
        self.target = target
        self.timeout = target.timeout or default_timeout

    @property
    @abstractmethod
    def address(self) -> str:
        """Where the backend is, as an operator would type it (host:port, a URL, a context)."""

    @property
    def root_id(self) -> str:
        return f"{self.kind}:{self.target.name}"

    @abstractmethod
    def root_checks(self) -> tuple[CheckCall, ...]:
        """The checks of the target itself, known without discovery."""

    @abstractmethod
    async def discover(self) -> Node:
        """The target's tree with live status. Must not raise: failures become a status."""

    async def logs(self, node_id: str, *, since: datetime | None = None) -> AsyncIterator[LogLine]:
        """Follow the node's log stream. Providers without logs yield nothing."""
        return
        yield  # pragma: no cover - makes this an async generator

    async def log_batches(
        self, node_id: str, *, since: datetime | None = None
    ) -> AsyncIterator[LineBatch]:
        """Follow the node's log stream in batches, one per `BATCH_SECONDS` at most.

        A noisy service then costs its consumer one update per batch, not one per line; a
        consumer that falls behind gets bigger batches, and past `MAX_PENDING` waiting lines an
        exact count of those dropped. This default batches `logs()`; a provider whose lines come
        from reader threads hands over whole batches from the threads instead.
        """
        async for batch in batched(self.logs(node_id, since=since)):
            yield LineBatch(batch.items, batch.dropped)

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections. Safe to call twice."""

    async def command_target(self, params: Mapping[str, Any]) -> CommandTarget:
        """This target as a fix's shell command gets it (`params`: the runbook's bound values,
        which may narrow it, such as a compose project). Kinds with tools override this."""
        return CommandTarget(self.target.name, self.kind, self.address)

    def describe_error(self, error: BaseException) -> str:
        """One line naming what failed and where; subclasses add their SDK's errors."""
        text = str(error) or type(error).__name__
        return redact(f"{self.address}: {text}")

    async def run_check(
        self, call: CheckCall, *, node_id: str = "", timeout: float | None = None
    ) -> CheckResult:
        """Run one check within its timeout; never raises for a backend failure."""
        deadline = timeout or self.timeout
        started_at = utc_now()
        started = time.monotonic()
        body_name = self._bodies.get(call.check) if call.check in self.checks else None
        node = node_id or self.root_id

        def result(finding: Finding) -> CheckResult:
            return CheckResult(
                check=call.check,
                target=self.target.name,
                status=finding.status,
                # Redacted where results enter the app (LiveEnvironment), once, knowing the
                # entities' names: here it would mask the word after a name like `sec-secret:`.
                summary=finding.summary,
                facts=finding.facts,
                evidence=finding.evidence,
                duration=time.monotonic() - started,
                started_at=started_at,
                node_id=node,
            )

        if body_name is None:
            return result(
                Finding(CheckStatus.ERROR, f"{self.kind} has no check named {call.check!r}")
            )
        params = self._bind(self.checks[call.check], call.params)
        body = getattr(self, body_name)
        try:
            async with asyncio.timeout(deadline):
                finding = await body(params)
        except TimeoutError:
            finding = Finding(
                CheckStatus.ERROR,
                f"{self.address}: no answer within {deadline:g}s",
                facts={"error": "timeout", "reason": "timeout", "address": self.address},
            )
        except Exception as error:  # any backend failure is reported, never raised
            described = self.describe_error(error)
            finding = Finding(
                CheckStatus.ERROR,
                described,
                # What the error says is evidence too ("too many clients", "refused"): the
                # runbooks match on `reason` as on any fact of a check that ran.
                facts={
                    "error": type(error).__name__,
                    "reason": failure_reason(error, described),
                    "address": self.address,
                },
            )
        return result(finding)

    async def plan_action(self, name: str, params: Mapping[str, Any]) -> ActionPlan:
        """Read what action `name` would touch and return its plan; changes nothing.

        Raises KeyError for an unknown action, ValueError for missing parameters, and the
        backend's own error (described by `describe_error`) when it cannot be read in time.
        """
        if name not in self.actions:
            raise KeyError(f"{self.kind} has no action named {name!r}")
        spec = self.actions[name]
        bound = self._bind(spec, params)
        missing = [
            key for key, param in spec.params.items() if param.required and not bound.get(key)
        ]
        if missing:
            raise ValueError(f"{name} needs {', '.join(missing)}")
        async with asyncio.timeout(self.timeout):
            plan: ActionPlan = await getattr(self, self._bodies[name])(bound)
        server = f"{self.target.name} ({self.address})"
        preview = replace(
            plan.preview,
            server=server,
            confirm=confirmation_word(self.target.name, plan.preview),
        )
        return ActionPlan(preview, plan.apply)

    async def run_action(self, plan: ActionPlan, *, confirmation: str | None) -> ActionOutcome:
        """Apply a plan, only with the confirmation its preview demands."""
        expected = plan.confirmation_word()
        if confirmation != expected:
            raise ConfirmationRequired(
                f"{plan.preview.summary}: not run; type {expected!r} to run it"
            )
        started = time.monotonic()
        try:
            async with asyncio.timeout(self.timeout):
                outcome = await plan.apply()
        except TimeoutError:
            return ActionOutcome(
                plan.preview.action,
                plan.preview.target,
                ok=False,
                summary=f"{self.address}: no answer within {self.timeout:g}s; the outcome is "
                "unknown, check before retrying",
                duration=time.monotonic() - started,
            )
        except Exception as error:  # reported to the operator, with the address
            return ActionOutcome(
                plan.preview.action,
                plan.preview.target,
                ok=False,
                summary=self.describe_error(error),
                duration=time.monotonic() - started,
            )
        return ActionOutcome(
            outcome.action,
            outcome.target,
            outcome.ok,
            redact(outcome.summary),
            tuple(redact_texts(outcome.output)),  # a key printed across lines, masked whole
            time.monotonic() - started,
        )

    @staticmethod
    def _bind(spec: CheckSpec | ActionSpec, given: Mapping[str, Any]) -> dict[str, Any]:
        bound = {name: param.default for name, param in spec.params.items()}
        bound.update(given)
        return bound
