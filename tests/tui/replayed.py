"""Providers that replay a recording under a real kind's name, for the dialog snapshots.

Runbooks bind to targets by kind (`cache: {target: redis}`), the context picker offers kube
contexts to `kubernetes` targets and AWS profiles to `ecs` ones: so these replays stand in for
the real kinds (the `replayed_kinds` fixture swaps them in), with the real kinds' checks and
actions declared, and answer from recordings/*.json made by the real providers against real
servers (record_walkthrough.py, record_platforms.py). A target names its recording in
`options.recording`. An action replays its recorded preview and outcome through the real
`Provider.run_action` (which checks the typed confirmation); after it, checks answer with the
results recorded after the fix.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any, ClassVar

import pytest

from providers.base import ActionPlan, CommandTarget, Provider, confirmation_word
from providers.contract import (
    ActionOutcome,
    ActionPreview,
    CheckCall,
    CheckResult,
    Node,
)
from providers.ecs_provider import EcsProvider
from providers.kubernetes_provider import KubernetesProvider
from providers.redis_provider import RedisProvider
from providers.registry import PROVIDER_KINDS
from tests.tui.recorded import RecordedProvider, replayed_result


class Replayed(RecordedProvider):
    """A recorded target under its real kind: node ids, checks and actions as the real one's."""

    real: ClassVar[type[Provider]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.checks = dict(cls.real.checks)
        cls.actions = dict(cls.real.actions)
        cls.command_tools = cls.real.command_tools
        cls.command_variables = cls.real.command_variables
        cls.command_shadows = cls.real.command_shadows

    def __init__(self, target: Any, *, default_timeout: float = 5.0) -> None:
        super().__init__(target, default_timeout=default_timeout)
        self.fixed = False

    @property
    def _recorded_kind(self) -> str:
        return self.kind

    def _node(self, recorded: Mapping[str, Any]) -> Node:
        node = super()._node(recorded)
        return _renamed(node, "recorded:", f"{self.kind}:")

    async def run_check(
        self, call: CheckCall, *, node_id: str = "", timeout: float | None = None
    ) -> CheckResult:
        node = node_id or self.root_id
        recording = self._recording
        # After the fix, the checks it changed answer as recorded then.
        phases = ("after", "steps", "results") if self.fixed else ("steps", "results")
        for phase in phases:
            for result in recording.get(phase, []):
                if result["node"] == node and result["check"] == call.check:
                    return replayed_result(result, self.target.name, node)
        raise KeyError(f"nothing recorded for {call.check} on {node}")

    async def plan_action(self, name: str, params: Mapping[str, Any]) -> ActionPlan:
        recorded = self._recording["action"]
        if name != recorded["name"] or dict(params) != recorded["params"]:
            raise KeyError(f"recorded {recorded['name']} {recorded['params']}, not {name} {params}")
        fields = recorded["preview"]
        preview = ActionPreview(**{**fields, "touches": tuple(fields["touches"])})
        # As Provider.plan_action does: the server it touches, and the word to type.
        preview = replace(
            preview,
            server=f"{self.target.name} ({self.address})",
            confirm=confirmation_word(self.target.name, preview),
        )
        outcome = recorded["outcome"]

        async def apply() -> ActionOutcome:
            self.fixed = True
            return ActionOutcome(
                name, preview.target, outcome["ok"], outcome["summary"], tuple(outcome["output"])
            )

        return ActionPlan(preview, apply)


def _renamed(node: Node, old: str, new: str) -> Node:
    return replace(
        node,
        id=node.id.replace(old, new, 1),
        children=tuple(_renamed(child, old, new) for child in node.children),
    )


class ReplayedRedis(Replayed):
    kind = "redis"
    real = RedisProvider

    @property
    def url(self) -> str:
        return self.target.resolve_url("")

    async def command_target(self, params: Mapping[str, Any]) -> CommandTarget:
        """As the real one: a fix's command gets this target's URL (nothing runs here)."""
        return await RedisProvider.command_target(self, params)  # type: ignore[arg-type]


class ReplayedKubernetes(Replayed):
    kind = "kubernetes"
    real = KubernetesProvider


class ReplayedEcs(Replayed):
    kind = "ecs"
    real = EcsProvider


@pytest.fixture
def replayed_kinds(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Swap the replays in for redis, kubernetes and ecs; show times in UTC."""
    for kind, name in (("redis", "Redis"), ("kubernetes", "Kubernetes"), ("ecs", "Ecs")):
        monkeypatch.setitem(PROVIDER_KINDS, kind, f"tests.tui.replayed:Replayed{name}")
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()
