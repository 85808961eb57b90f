"""What is live, as a diagnosis reads it: one sweep's trees and check results (`Scene`), which
answers a runbook's checks that the sweep just ran, and what the results say of each entity:
its status reasons, failing checks, stop and waiting reasons and log lines as text, and whether
it is failing or troubled."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from providers.contract import CheckCall, CheckResult, CheckSpec, CheckStatus, Health, Node
from providers.environment import LiveEnvironment, PlannedCheck
from providers.registry import check_catalogue
from runbooks.entities import GROUP_KINDS, Entity
from runbooks.suggest import bounded

# Checks that sample for a second (docker stats): a diagnosis's sweep leaves them out, and a
# runbook about the entity runs them if it needs them.
SAMPLED_CHECKS = frozenset({"compose.resources"})
BAD = (CheckStatus.FAIL, CheckStatus.ERROR, CheckStatus.WARN)
BROKEN = (CheckStatus.FAIL, CheckStatus.ERROR)


@dataclass
class Scene:
    """What is live: the trees and check results of one sweep.

    A runbook run in the same diagnosis asks many of the checks the sweep just ran (the same
    check, on the same target, with the same parameters): `known` answers those from the sweep,
    seconds old, instead of asking the server again (a docker stats sample takes a second; a
    PostgreSQL at its connection limit has no slot to spare)."""

    trees: list[Node]
    results: list[CheckResult]
    _answers: dict[tuple[str, str, str], CheckResult] = field(default_factory=dict, repr=False)

    @classmethod
    async def look(cls, live: LiveEnvironment) -> Scene:
        trees, results = await live.check_everything(at_once=16, leave_out=SAMPLED_CHECKS)
        return cls(list(trees), list(results))

    def __post_init__(self) -> None:
        catalogue = check_catalogue()
        calls = {
            (node.id, call.check): call
            for tree in self.trees
            for node in tree.walk()
            for call in node.checks
        }
        for result in self.results:
            call = calls.get((result.node_id, result.check))
            root = result.node_id.split("/", 1)[0]
            if call is None and result.node_id == root:
                call = CheckCall(result.check)  # a target's own check, no parameters
            if call is not None and result.check in catalogue:
                key = (root, result.check, full_params(catalogue[result.check][1], call.params))
                self._answers[key] = result

    def known(self, plan: PlannedCheck) -> CheckResult | None:
        catalogue = check_catalogue()
        if plan.call.check not in catalogue:
            return None
        root = plan.node_id.split("/", 1)[0]
        spec = catalogue[plan.call.check][1]
        found = self._answers.get((root, plan.call.check, full_params(spec, plan.call.params)))
        if found is None and (silent := self._silent().get(root)) is not None:
            # The target did not answer the sweep in time: asking it again costs another
            # timeout and says the same; a dead host costs its timeout once per diagnosis.
            return replace(
                silent,
                check=plan.call.check,
                status=CheckStatus.ERROR,
                summary=f"{silent.summary} (in this diagnosis's sweep; not asked again)",
                facts={**silent.facts, "reason": "timeout"},
                node_id=plan.node_id,
                duration=0.0,
            )
        return found

    def _silent(self) -> dict[str, CheckResult]:
        """Targets whose own checks got no answer in time in the sweep, by root id."""
        return {
            result.node_id: result
            for result in self.results
            if "/" not in result.node_id
            and result.status in (CheckStatus.ERROR, CheckStatus.FAIL)
            and "timeout" in (result.facts.get("reason"), result.facts.get("error"))
        }


def full_params(spec: CheckSpec, params: Mapping[str, Any]) -> str:
    """A check's parameters with its defaults, as one comparable string."""
    values = {name: param.default for name, param in spec.params.items()}
    values.update({k: v for k, v in params.items() if v is not None or k not in values})
    return json.dumps(values, sort_keys=True, default=str)


def results_by_node(results: Iterable[CheckResult]) -> dict[str, list[CheckResult]]:
    found: dict[str, list[CheckResult]] = {}
    for result in results:
        found.setdefault(result.node_id, []).append(result)
    return found


def _short_name(entity: Entity) -> str:
    return entity.node.name.rsplit("/", 1)[-1] if entity.node is not entity.root else ""


def said_above(entity: Entity, by_node: Mapping[str, list[CheckResult]]) -> list[CheckResult]:
    """Bad results of the entity's parents that name it: a namespace's check that finds its
    Service without endpoints, a project's that names one of its services."""
    name = _short_name(entity)
    if len(name) < 3:
        return []
    pattern = re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])", re.IGNORECASE)
    return [
        result
        for node in entity.path[:-1]
        for result in by_node.get(node.id, [])
        if result.status in BAD
        and any(pattern.search(text) for text in (result.summary, *result.evidence[:20]))
    ]


def entity_text(entity: Entity, by_node: Mapping[str, list[CheckResult]]) -> str:
    """What the live environment says of an entity: its and its children's status reasons,
    what their failing checks report (stop reasons, waiting reasons, last log lines), and what
    its parents' checks say of it by name."""
    parts: list[str] = []
    for node in entity.descendants():
        if node.status.health is not Health.OK:
            parts.append(node.status.reason)
        for result in by_node.get(node.id, []):
            if result.status in BAD:
                parts.append(result.summary)
                parts.extend(result.evidence[:20])
    for result in said_above(entity, by_node):
        parts.append(result.summary)
        parts.extend(result.evidence[:20])
    return bounded("\n".join(parts), 16_000)


def everything_said(entity: Entity, by_node: Mapping[str, list[CheckResult]]) -> str:
    """Its name and all its checks say, good or bad (the keys a Redis holds: `cart:5100`), for
    linking a symptom's own words to it."""
    parts = [entity.node.name, entity_text(entity, by_node)]
    for node in entity.descendants():
        parts.append(node.name)
        for result in by_node.get(node.id, []):
            parts.append(result.summary)
            parts.extend(result.evidence[:20])
    return bounded("\n".join(parts), 32_000)


def entity_troubled(entity: Entity, by_node: Mapping[str, list[CheckResult]]) -> bool:
    """Failing, or a check of it warns (a pod running again after seven restarts), or a check
    of its parents finds something wrong with it by name, or the server it lives on fails (a
    queue of a broker in alarm, a database of a server out of connections)."""
    servers = [node for node in entity.path[:-1] if node.kind not in GROUP_KINDS]
    return (
        entity_failing(entity, by_node)
        or any(
            result.status is CheckStatus.WARN
            for node in entity.descendants()
            for result in by_node.get(node.id, [])
        )
        or bool(said_above(entity, by_node))
        or any(
            node.status.health is Health.FAILING
            or any(
                r.status in (CheckStatus.FAIL, CheckStatus.ERROR) for r in by_node.get(node.id, [])
            )
            for node in servers
        )
    )


def entity_failing(entity: Entity, by_node: Mapping[str, list[CheckResult]]) -> bool:
    if entity.node.status.health in (Health.FAILING, Health.DEGRADED):
        return True
    return any(
        result.status in (CheckStatus.FAIL, CheckStatus.ERROR)
        for node in entity.descendants()
        for result in by_node.get(node.id, [])
    )
