"""Diagnosis on what is live: from a symptom, a selected node or what is failing now, to the
cause, about the right entity, with its evidence.

    symptom / selected node
      -> entities    what the text names in the live tree (runbooks/entities.py)
      -> focus       the named or selected entities; with none, what is failing
      -> related     what the focus depends on: its configuration's addresses, the addresses its
                     errors name; a dependency that fails is a suspect of its own
      -> candidates  runbooks ranked by text and by live fit, each bound to one entity
      -> run         the best candidates concurrently, each scoped to its entity
      -> rank        confirmed > likely > unknown; a failing dependency > the entity it breaks
                     > anything else; decisive evidence > generic; text fit last

One function for the walkthrough and `triage diagnose`.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from providers.contract import CheckCall, CheckResult, CheckSpec, CheckStatus, Health, Node
from providers.environment import LiveEnvironment, PlannedCheck
from providers.registry import check_catalogue
from providers.sweep import one_sweep
from runbooks.engine import (
    BindingError,
    CauseAssessment,
    Diagnosis,
    Known,
    Verdict,
    bind,
    diagnose,
)
from runbooks.entities import GROUP_KINDS, Entity, EntityIndex, Mention
from runbooks.evidence import ConditionResult, checks_of, decisive_hold
from runbooks.model import Cause, Runbook
from runbooks.suggest import bounded, text_score

# What a report's seconds are measured by (snapshot tests stop it).
clock = time.monotonic

AT_ONCE = 8  # runbooks run together (their checks mostly wait on the network)
RUN_LIMIT = 12  # candidates run, besides the failing dependencies'
DEPENDENCIES_RUN = 3
STRENGTH = {Verdict.CONFIRMED: 3, Verdict.LIKELY: 2, Verdict.UNKNOWN: 1, Verdict.RULED_OUT: 0}
# How a candidate came to be bound to its entity, and what that is worth in its score.
ROLE_SCORE = {
    "selected": 20.0,
    "named": 20.0,
    "dependency": 14.0,
    "failing": 8.0,
    "part": 8.0,
    "text": 0.0,
}
# Roles about the entity the operator means, for ranking: a failing dependency outranks it.
RELATION = {"dependency": 2, "selected": 1, "named": 1, "part": 1, "failing": 0, "text": 0}
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
                key = (root, result.check, _full(catalogue[result.check][1], call.params))
                self._answers[key] = result

    def known(self, plan: PlannedCheck) -> CheckResult | None:
        catalogue = check_catalogue()
        if plan.call.check not in catalogue:
            return None
        root = plan.node_id.split("/", 1)[0]
        spec = catalogue[plan.call.check][1]
        found = self._answers.get((root, plan.call.check, _full(spec, plan.call.params)))
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


def _full(spec: CheckSpec, params: Mapping[str, Any]) -> str:
    """A check's parameters with its defaults, as one comparable string."""
    values = {name: param.default for name, param in spec.params.items()}
    values.update({k: v for k, v in params.items() if v is not None or k not in values})
    return json.dumps(values, sort_keys=True, default=str)


@dataclass
class Candidate:
    """A runbook bound to the entity it would diagnose, and why it ranks where it does."""

    runbook: Runbook
    entity: Entity | None
    role: str
    score: float
    reasons: list[str]
    said: float = 0.0  # how strongly the symptom's words point at the runbook
    live_said: float = 0.0  # how strongly what its entity shows (reasons, errors) does
    linked: bool = False  # its entity's name or what it shows shares the symptom's words
    caught: dict[str, str] = field(default_factory=dict)  # values its signatures caught
    runnable: bool = True
    params: dict[str, Any] | None = None
    unbound: str = ""

    @property
    def about(self) -> str:
        return self.entity.node.id if self.entity else ""


@dataclass(frozen=True)
class Judged:
    """A cause as this diagnosis presents it. Its evidence must be about the candidate's entity
    (`grounded`: seen on its target or on one it depends on) and show something wrong
    (`credible`: a check that fails or warns, or a runbook the symptom itself points to). A
    cause the runbook confirms otherwise (by a check on another target, or only by facts of
    checks that pass, on something healthy) is presented as unknown, and `caveat` says why."""

    assessment: CauseAssessment
    grounded: bool = True
    credible: bool = True

    @property
    def cause(self) -> Cause:
        return self.assessment.cause

    @property
    def evidence(self) -> tuple[ConditionResult, ...]:
        return self.assessment.evidence

    @property
    def verdict(self) -> Verdict:
        found = self.assessment.verdict in (Verdict.CONFIRMED, Verdict.LIKELY)
        if found and not (self.grounded and self.credible):
            return Verdict.UNKNOWN
        return self.assessment.verdict

    @property
    def caveat(self) -> str:
        if self.verdict is self.assessment.verdict:
            return ""
        if not self.grounded:
            return "its evidence was seen on another target, not on what is diagnosed"
        return (
            "nothing wrong is seen here (its checks pass, or what they rest on is healthy) "
            "and the symptom points elsewhere"
        )


@dataclass
class Finding:
    """One candidate run: its diagnosis, and its causes as presented, best first."""

    candidate: Candidate
    diagnosis: Diagnosis
    causes: list[Judged]
    explained_by: str = ""  # "runbook: cause" that finds why this cause happens (`deeper`)

    @property
    def cause(self) -> Judged:
        return self.causes[0]

    @property
    def strength(self) -> int:
        return STRENGTH[self.cause.verdict]

    @property
    def decisive(self) -> bool:
        return any(decisive_hold(item) for item in self.cause.evidence if item.holds)

    @property
    def weight(self) -> int:
        """Its strength, a decisive fact counting as confirmation: likely only because a
        corroborating check could not run, it weighs as a confirmed cause."""
        found = self.strength >= STRENGTH[Verdict.LIKELY]
        return STRENGTH[Verdict.CONFIRMED] if found and self.decisive else self.strength

    def presented(self) -> Diagnosis:
        """The runbook's diagnosis as this finding presents it: its causes in the judged order,
        each with the judged verdict (a cause confirmed on something else shows unknown, and
        its fixes want --force)."""
        causes = [replace(item.assessment, verdict=item.verdict) for item in self.causes]
        return replace(self.diagnosis, causes=causes)

    @property
    def relevant(self) -> bool:
        """About what the operator means: the entity they named or selected, what it depends
        on, or a runbook their words point to."""
        return self.candidate.said > 0 or self.candidate.role in (
            "named",
            "selected",
            "dependency",
        )

    def rank_key(self) -> tuple[Any, ...]:
        found = self.strength >= 2
        relation = RELATION[self.candidate.role] if found else 0
        if found and self.candidate.role == "failing" and self.candidate.linked:
            relation = 1  # failing, and what it shows shares the symptom's own words
        entity = self.candidate.entity
        if found and self.candidate.role == "failing" and _is_store(entity):
            # Nothing named: a store that fails is upstream of whatever else fails (a cascade
            # whose edges are not known), never downstream of a workload.
            relation = RELATION["dependency"]
        holding = [item for item in self.cause.evidence if item.holds]
        decisive = self.decisive
        facts = sum(_facts_held(item) for item in holding)
        pointed = self.candidate.said + 0.5 * self.candidate.live_said
        # A decisive fact (a stop reason, a termination reason) names its cause, and beats a
        # confirmed cause that rests on a count.
        strength = self.weight
        return (
            -int(found and self.relevant),
            int(bool(self.explained_by)),  # what finds why it happens comes first
            -strength,
            -relation,
            -int(decisive),
            -pointed,
            -facts,
            -self.candidate.score,
            self.candidate.runbook.id,
        )


def _facts_held(result: ConditionResult) -> int:
    """How many fact comparisons (not mere statuses) hold in a piece of evidence."""
    if result.condition.any_of is not None:
        return sum(_facts_held(part) for part in result.parts if part.holds)
    return int(bool(result.holds) and result.condition.fact is not None)


@dataclass
class Report:
    """Everything the diagnosis saw and concluded, best first."""

    symptom: str
    mentions: list[Mention]
    focus: list[tuple[Entity, str]]
    related: list[Entity]
    candidates: list[Candidate]
    findings: list[Finding]
    seconds: float = 0.0
    by_node: Mapping[str, list[CheckResult]] = field(default_factory=dict, repr=False)
    can_run: set[str] = field(default_factory=set)  # the runbooks that can run here

    @property
    def answer(self) -> Finding | None:
        return self.findings[0] if self.findings else None


# -- texts -------------------------------------------------------------------------------------


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


# -- focus and what it depends on -------------------------------------------------------------

SERVICE_KINDS = frozenset(
    {
        "compose.service",
        "k8s.deployment",
        "k8s.statefulset",
        "k8s.daemonset",
        "rabbitmq.queue",
        "rabbitmq.node",
        "ecs.service",
        "http.endpoint",
        "redis.instance",
        "postgres.server",
    }
)


def focus_of(
    mentions: Sequence[Mention],
    selected: Entity | None,
    index: EntityIndex,
    by_node: Mapping[str, list[CheckResult]],
) -> list[tuple[Entity, str]]:
    """The entities the operator means, with how: selected, named (or in part), else what is
    failing now."""
    focus: list[tuple[Entity, str]] = []
    if selected is not None:
        focus.append((selected, "selected"))
    strong = [m for m in mentions if m.how != "part"]
    specific = [m for m in strong if not m.entity.grouping] or strong
    for mention in specific or [m for m in mentions if m.how == "part"]:
        role = "part" if mention.how == "part" else "named"
        if all(mention.entity is not entity for entity, _ in focus):
            focus.append((mention.entity, role))
    ids = {entity.node.id for entity, _ in focus}
    focus = [  # a deployment and its pods, named by one word, are one thing: the deployment
        (entity, role)
        for entity, role in focus
        if not any(node.id in ids for node in entity.path[:-1] if node.kind in SERVICE_KINDS)
    ]
    if focus:
        return focus
    failing = [
        entity
        for entity in index.entities()
        if entity.kind in SERVICE_KINDS and entity_failing(entity, by_node)
    ]
    return [(entity, "failing") for entity in failing]


STORE_KINDS = frozenset({"redis.instance", "postgres.server", "rabbitmq.node"})


def _is_store(entity: Entity | None) -> bool:
    """A Redis, a PostgreSQL server or a broker: a target others connect to."""
    return entity is not None and entity.node is entity.root and entity.kind in STORE_KINDS


def related_to(
    focus: Sequence[tuple[Entity, str]],
    index: EntityIndex,
    by_node: Mapping[str, list[CheckResult]],
    symptom: str,
) -> list[Entity]:
    """Targets the focus connects to (its configuration) or that its errors and the symptom
    name by address: a failing one may be the cause of what the focus shows."""
    found: dict[str, Entity] = {}
    own_roots = {entity.root.id for entity, _ in focus}
    texts = [symptom] + [entity_text(entity, by_node) for entity, _ in focus]
    for entity, _ in focus:
        for dependency in index.dependencies(entity):
            found.setdefault(dependency.node.id, dependency)
    for mention in index.mentions("\n".join(texts)):
        if mention.how == "address" and mention.entity.root.id not in own_roots:
            found.setdefault(mention.entity.node.id, mention.entity)
    for entity, _ in focus:
        if entity.kind in ("rabbitmq.queue", "rabbitmq.node"):
            # A queue's consumers drain it: one that fails is why it backs up.
            for consumer in dependents(entity, index):
                if entity_failing(consumer, by_node):
                    found.setdefault(consumer.node.id, consumer)
        elif entity_failing(entity, by_node) and not any(
            node.depends_on for node in entity.descendants()
        ):
            # Failing, and nothing says what it connects to: a store that fails is a suspect.
            for store in index.entities():
                is_store = store.node is store.root and store.kind in STORE_KINDS
                if is_store and entity_failing(store, by_node):
                    found.setdefault(store.node.id, store)
    return [entity for entity in found.values() if entity.root.id not in own_roots or not focus]


def dependents(entity: Entity, index: EntityIndex) -> list[Entity]:
    """The services whose configuration names `entity`'s target (a broker's consumers)."""
    found = []
    for other in index.entities():
        if other.kind not in SERVICE_KINDS or other.root is entity.root:
            continue
        if any(
            (target := index.at_address(where)) is not None and target.root is entity.root
            for where in other.node.depends_on
        ):
            found.append(other)
    return found


# -- candidates --------------------------------------------------------------------------------


# Words of log framing and of every failure: sharing them links a symptom to nothing.
GENERIC_WORDS = frozenset(
    {
        "about", "after", "again", "before", "call", "code", "could", "critical", "debug",
        "does", "doesnt", "error", "errors", "every", "exception", "fail", "failed", "failing",
        "failure", "false", "fatal", "file", "found", "from", "help", "hour", "hours", "http",
        "https", "info", "into", "keep", "keeps", "last", "line", "minute", "minutes",
        "morning", "most", "none", "null", "other", "please", "recent", "said", "seconds",
        "should", "show", "shows", "since", "some", "status", "still", "than", "that", "their",
        "then", "there", "this", "timeout", "today", "traceback", "true", "warn", "warning",
        "what", "when", "where", "why", "with", "would", "yesterday",
    }
)  # fmt: skip


def distinctive(text: str) -> set[str]:
    """A text's words of four letters or more that are not log framing nor generic failure
    words ("invoices", "unhealthy", "shop-api"), lower case."""
    return {
        word
        for word in re.findall(r"[a-z][a-z0-9_-]{3,}", text.lower())
        if word not in GENERIC_WORDS
    }


def _kinds_on_path(entity: Entity) -> set[str]:
    """The entity's kind and its ancestors' up to the first group (a pod's deployment, a
    database's server; not its namespace or account, about which a runbook says nothing of
    the pod)."""
    kinds = {entity.kind}
    for node in reversed(entity.path[:-1]):
        if node.kind in GROUP_KINDS:
            break
        kinds.add(node.kind)
    return kinds


def _applies(runbook: Runbook, entity: Entity) -> bool:
    return bool(set(runbook.applies_to) & _kinds_on_path(entity)) if runbook.applies_to else False


def runnable_here(runbook: Runbook, kinds_here: set[str], target_kinds: set[str]) -> bool:
    """Its required targets' kinds are in the inventory, and what it applies to is live."""
    needs = {p.target for p in runbook.params.values() if p.target and p.required}
    return needs <= target_kinds and (
        not runbook.applies_to or bool(set(runbook.applies_to) & kinds_here)
    )


def candidates_for(
    symptom: str,
    library: Iterable[Runbook],
    index: EntityIndex,
    focus: Sequence[tuple[Entity, str]],
    related: Sequence[Entity],
    by_node: Mapping[str, list[CheckResult]],
    live: LiveEnvironment,
) -> list[Candidate]:
    """Every runbook, bound to its best entity, ranked: those that cannot run here last."""
    library = list(library)
    kinds_here = {entity.kind for entity in index.entities()}
    target_kinds = {provider.kind for provider in live.providers}
    texts = {entity.node.id: entity_text(entity, by_node) for entity, _ in focus}
    texts.update({entity.node.id: entity_text(entity, by_node) for entity in related})
    failing_related = {e.node.id for e in related if entity_failing(e, by_node)}
    named_focus = any(role != "failing" for _, role in focus)
    said_words = distinctive(symptom)
    linked = {
        entity.node.id: bool(said_words & distinctive(everything_said(entity, by_node)))
        for entity, _ in focus
    }
    # With words that point at no runbook that can run here (a vague report, or words only
    # about what this environment does not have), what is failing is all there is to go on:
    # its runbooks are weighed by what it shows.
    words_point = not symptom.strip() or any(
        text_score(symptom, runbook).score > 0 and runnable_here(runbook, kinds_here, target_kinds)
        for runbook in library
    )
    focus_failing = any(entity_failing(entity, by_node) for entity, _ in focus)
    found: list[Candidate] = []
    for runbook in library:
        said = text_score(symptom, runbook) if symptom.strip() else None
        base = said.score if said else 0.0
        reasons = list(said.reasons) if said else []
        runnable = runnable_here(runbook, kinds_here, target_kinds)
        options: list[Candidate] = []
        for entity, role in focus:
            if (
                role == "failing"
                and symptom.strip()
                and base == 0
                and words_point
                and not linked.get(entity.node.id)
            ):
                continue  # failing, but nothing the operator said points this runbook at it
            if _applies(runbook, entity):
                live_text = text_score(texts[entity.node.id], runbook)
                score = base + ROLE_SCORE[role] + 0.5 * live_text.score
                why = [f"about {entity.node.name} ({role})", *live_text.reasons]
                if entity_failing(entity, by_node):
                    score += 6
                    why.append(f"{entity.node.name} is failing")
                option = Candidate(runbook, entity, role, score, reasons + why)
                option.live_said = live_text.score
                option.linked = linked.get(entity.node.id, False)
                if role == "failing" and option.linked:
                    option.score += 6
                    option.reasons.append(
                        f"what {entity.node.name} holds shares the symptom's words"
                    )
                options.append(option)
        for entity in related:
            if _applies(runbook, entity) and (entity.node.id in failing_related or focus_failing):
                live_text = text_score(texts[entity.node.id], runbook)
                failing = entity.node.id in failing_related
                score = base + ROLE_SCORE["dependency"] + (6 if failing else -8)
                score += 0.5 * live_text.score
                why = [
                    f"{entity.node.name} is {'failing' if failing else 'what the focus needs'}"
                    " and the focus depends on it"
                ]
                options.append(
                    Candidate(
                        runbook,
                        entity,
                        "dependency",
                        score,
                        reasons + why + list(live_text.reasons),
                    )
                )
        if not options and base > 0 and not named_focus:
            only = _only_or_failing(runbook, index, by_node)
            options.append(Candidate(runbook, only, "text", base, reasons))
        for option in options:
            option.runnable = runnable
            option.said = base
            option.caught = dict(said.values) if said else {}
            if not runnable:
                option.score -= 1000
                option.reasons.append("cannot run here: what it checks does not exist")
        found.extend(options)
    found.sort(key=lambda c: (-c.score, c.runbook.id, c.about))
    return found


def _only_or_failing(
    runbook: Runbook, index: EntityIndex, by_node: Mapping[str, list[CheckResult]]
) -> Entity | None:
    """What a runbook the symptom points to is about, when nothing is named: the one failing
    entity of its kinds, else the only one of its kinds there is; else None (it binds from the
    inventory)."""
    kinds = set(runbook.applies_to) - GROUP_KINDS
    mine = [entity for entity in index.entities() if entity.kind in kinds]
    failing = [entity for entity in mine if entity_failing(entity, by_node)]
    if len(failing) == 1:
        return failing[0]
    return mine[0] if len(mine) == 1 else None


def bind_candidate(
    candidate: Candidate,
    live: LiveEnvironment,
    related: Sequence[Entity],
    explicit: Mapping[str, Any] | None = None,
) -> None:
    """The candidate's parameters from its entity (its target, its namespace, service, queue
    ...), the targets the focus depends on, then the inventory and the defaults; `explicit`
    values (the operator's --param) over all of them."""
    runbook, entity = candidate.runbook, candidate.entity
    given: dict[str, Any] = {}
    targets = {p.target for p in runbook.params.values() if p.target}
    chosen_kinds: set[str] = set()
    ranked = ([entity] if entity else []) + [e for e in related if e is not entity]
    for name, param in runbook.params.items():
        if not param.target or param.target in chosen_kinds:
            continue
        owner = next((e for e in ranked if e.target_kind == param.target), None)
        if owner is not None:
            given[name] = owner.target
            chosen_kinds.add(param.target)
    values = {**candidate.caught, **(entity.params if entity else {})}
    for name, param in runbook.params.items():
        if not param.target and name in values:
            value: Any = values[name]
            if isinstance(param.default, int) and str(value).isdigit():
                value = int(value)  # a node's parameters are text; a port is a number
            given[name] = value
    del targets
    given.update(explicit or {})
    try:
        candidate.params = bind(runbook, live, given, guess_optional=entity is None)
    except BindingError as error:
        candidate.params = None
        candidate.unbound = str(error)


@dataclass
class Binding:
    """A runbook bound for a run of its own (`triage check --runbook`, a runbook picked in the
    walkthrough): its parameters, the entity they came from, and the other entities it could
    have been about, best first (shown, never guessed silently)."""

    params: dict[str, Any]
    entity: Entity | None = None
    choices: list[Entity] = field(default_factory=list)


def bind_from_scene(
    runbook: Runbook,
    live: LiveEnvironment,
    scene: Scene,
    given: Mapping[str, Any],
    selected: str | None = None,
) -> Binding:
    """As a diagnosis binds its candidates: from the entity the runbook is about (the selected
    node if the runbook applies to it, else a failing one, else any), what that entity depends
    on, then the inventory; `given` values win and choose the entity they agree with. Raises
    BindingError, saying which entities exist, when nothing binds."""
    index = EntityIndex(
        scene.trees, {provider.root_id: provider.address for provider in live.providers}
    )
    by_node = results_by_node(scene.results)
    chosen_target = {
        str(given[name]) for name, param in runbook.params.items() if param.target and name in given
    }

    def agrees(entity: Entity) -> bool:
        own = entity.params
        return all(
            str(own[name]) == str(value) for name, value in given.items() if name in own
        ) and (not chosen_target or entity.target in chosen_target)

    picked = index.entity(selected) if selected else None
    options = [
        entity
        for entity in index.entities()
        if entity.kind not in GROUP_KINDS and _applies(runbook, entity) and agrees(entity)
    ]
    options.sort(
        key=lambda entity: (
            entity is not picked,
            not entity_failing(entity, by_node),
            entity.kind not in SERVICE_KINDS,
            entity.node.id,
        )
    )
    if picked is not None and picked not in options and _applies(runbook, picked):
        options.insert(0, picked)
    first_error = ""
    for entity in options:
        candidate = Candidate(runbook, entity, "selected" if entity is picked else "failing", 0, [])
        bind_candidate(candidate, live, index.dependencies(entity), given)
        if candidate.params is not None:
            return Binding(candidate.params, entity, [e for e in options if e is not entity])
        first_error = first_error or candidate.unbound
    try:
        return Binding(bind(runbook, live, given))
    except BindingError as error:
        found = ", ".join(e.node.name for e in options[:5])
        where = f"; it could be about: {found}" if found else ""
        raise BindingError(f"{first_error or error}{where}", error.missing) from error


# -- running and ranking ----------------------------------------------------------------------


def chosen(candidates: Sequence[Candidate]) -> list[Candidate]:
    """The candidates worth running: the best bound ones, and the failing dependencies'."""
    bound = [c for c in candidates if c.runnable and c.params is not None and c.score > 0]
    first = bound[:RUN_LIMIT]
    extra = [c for c in bound[RUN_LIMIT:] if c.role == "dependency"][:DEPENDENCIES_RUN]
    return first + extra


def judge(
    candidate: Candidate,
    diagnosis: Diagnosis,
    related: Sequence[Entity],
    by_node: Mapping[str, list[CheckResult]],
) -> Finding:
    """The candidate's causes as presented (see Judged), best first. Grounded: every piece of
    evidence that holds was seen on the entity's target or on one it is tied to, one of them on
    the entity's. Credible: it shows something wrong (a check that fails or warns) or the
    symptom's words point at the runbook, and, on an entity the sweep saw healthy, the words
    do (or a sampled check the sweep left out finds it wrong); about a dependency, only
    something wrong seen on it."""
    entity = candidate.entity
    roots = {entity.root.id} | {other.root.id for other in related} if entity else set()
    healthy = entity is not None and not entity_troubled(entity, by_node)
    judged = []
    for assessment in diagnosis.causes:
        holding = [
            diagnosis.results[check]
            for item in assessment.evidence
            if item.holds
            for check in checks_of(item)
            if check in diagnosis.results
        ]
        grounded = entity is None or (
            all(result.node_id.split("/", 1)[0] in roots for result in holding)
            and any(result.node_id.split("/", 1)[0] == entity.root.id for result in holding)
        )
        abnormal = any(
            result.status in (CheckStatus.FAIL, CheckStatus.WARN, CheckStatus.ERROR)
            for result in holding
        )
        pointed = candidate.said > 0 or candidate.live_said > 0
        # The sweep leaves sampled checks out (docker stats): what one finds wrong is the first
        # look at that side of the entity, so "healthy in the sweep" says nothing against it.
        sampled = any(r.check in SAMPLED_CHECKS and r.status in BAD for r in holding)
        if candidate.role == "dependency":
            credible = abnormal  # what the focus depends on is a cause only if it shows a fault
        else:
            credible = (abnormal or pointed) and (pointed or sampled or not healthy)
        judged.append(Judged(assessment, grounded, credible))
    order = {id(item): index for index, item in enumerate(judged)}
    judged.sort(key=lambda item: (-STRENGTH[item.verdict], order[id(item)]))
    return Finding(candidate, diagnosis, judged)


def narrowed(plan: PlannedCheck, entity: Entity | None) -> PlannedCheck:
    """A check on the entity's own target, narrowed to the entity where the runbook leaves it
    open: a runbook's "containers within their limits" about one compose service samples that
    service's containers, not every container of the engine."""
    if entity is None or plan.node_id.split("/", 1)[0] != entity.root.id:
        return plan
    found = check_catalogue().get(plan.call.check)
    if found is None:
        return plan
    accepted = found[1].params
    extra: dict[str, Any] = {}
    for name, value in entity.node.params:
        if name in accepted and plan.call.params.get(name) in (None, ""):
            try:
                extra[name] = accepted[name].type(value)
            except (TypeError, ValueError):
                continue
    if not extra:
        return plan
    return replace(plan, call=CheckCall(plan.call.check, {**plan.call.params, **extra}))


async def run_candidates(
    candidates: Sequence[Candidate],
    live: LiveEnvironment,
    known: Known | None = None,
    related: Sequence[Entity] = (),
    by_node: Mapping[str, list[CheckResult]] | None = None,
    dependencies: Sequence[Entity] | None = None,
) -> list[Finding]:
    """Run the candidates (AT_ONCE at a time), each on its entity's target and on the
    `dependencies` (what the focus depends on; default: `related`), and judge them against
    `related` (all the diagnosis looks at)."""
    by_node = by_node or {}
    gate = asyncio.Semaphore(AT_ONCE)

    tied = {entity.root.id for entity in (related if dependencies is None else dependencies)}

    def scoped(candidate: Candidate) -> Known:
        """Checks on targets neither the entity's nor tied to it are skipped: what they
        would find is about something else (and a docker stats of every container takes
        seconds)."""
        entity = candidate.entity
        allowed = tied | {entity.root.id} if entity is not None else set()

        def answer(plan: PlannedCheck) -> CheckResult | None:
            plan = narrowed(plan, entity)
            root = plan.node_id.split("/", 1)[0]
            if entity is not None and root not in allowed:
                return CheckResult(
                    check=plan.call.check,
                    target=root.split(":", 1)[-1],
                    status=CheckStatus.SKIPPED,
                    summary=f"not about {entity.node.name}: {root} is not tied to it",
                    facts={"skipped": "not about the entity"},
                    node_id=root,
                )
            return known(plan) if known is not None else None

        return answer

    running: dict[tuple[str, str, str], asyncio.Future[CheckResult]] = {}
    catalogue = check_catalogue()

    async def shared_run(plan: PlannedCheck) -> CheckResult:
        """One run of a check that several runbooks ask, with the same parameters, on the
        same target (two docker stats of one container take two seconds)."""
        spec = catalogue[plan.call.check][1] if plan.call.check in catalogue else None
        params = _full(spec, plan.call.params) if spec else repr(plan.call.params)
        key = (plan.node_id, plan.call.check, params)
        if key not in running:
            running[key] = asyncio.ensure_future(live.run_check(plan))
        return await asyncio.shield(running[key])

    async def run(candidate: Candidate) -> Finding | None:
        async def runner(plan: PlannedCheck) -> CheckResult:
            return await shared_run(narrowed(plan, candidate.entity))

        async with gate:
            try:
                diagnosis = await diagnose(
                    candidate.runbook,
                    live,
                    candidate.params or {},
                    known=scoped(candidate),
                    runner=runner,
                )
            except BindingError as error:
                candidate.unbound = str(error)
                return None
        if not diagnosis.causes:
            return None
        return judge(candidate, diagnosis, related, by_node)

    done = await asyncio.gather(*(run(candidate) for candidate in candidates))
    findings = [finding for finding in done if finding is not None]
    findings.sort(key=Finding.rank_key)
    return findings


def _same_thing(one: Entity | None, other: Entity | None) -> bool:
    """Two candidates about one thing: the same node, or one inside the other."""
    if one is None or other is None:
        return one is other
    return one.root is other.root and (one.node in other.path or other.node in one.path)


def deeper_candidates(
    findings: Sequence[Finding],
    runbooks: Mapping[str, Runbook],
    live: LiveEnvironment,
    tied: Sequence[Entity],
) -> list[Candidate]:
    """For each cause found whose runbook names `deeper` ones (those that find why it
    happens), those runbooks on the same entity, when they did not run already."""
    ran = {(finding.candidate.runbook.id, finding.candidate.about) for finding in findings}
    found: list[Candidate] = []
    for finding in findings:
        if finding.strength < STRENGTH[Verdict.LIKELY]:
            continue
        before = finding.candidate
        for runbook_id in finding.cause.cause.deeper:
            runbook = runbooks.get(runbook_id)
            if runbook is None or (runbook_id, before.about) in ran:
                continue
            ran.add((runbook_id, before.about))
            why = f"finds why {before.runbook.id}: {finding.cause.cause.id}"
            candidate = Candidate(
                runbook,
                before.entity,
                before.role,
                before.score,
                [*before.reasons, why],
                said=before.said,
                live_said=before.live_said,
                linked=before.linked,
            )
            bind_candidate(candidate, live, tied)
            if candidate.params is not None:
                found.append(candidate)
    return found[:DEPENDENCIES_RUN]


def explained(findings: Sequence[Finding]) -> list[Finding]:
    """The findings ranked, each cause that a `deeper` runbook explains on the same entity
    marked so (the load balancer's health checks fail: why, the security group) and ranked
    after its explanation. Two causes that name each other explain neither."""
    found = [finding for finding in findings if finding.strength >= STRENGTH[Verdict.LIKELY]]
    for finding in found:
        runbook_id = finding.candidate.runbook.id
        for other in found:
            if (
                other is not finding
                and other.weight >= finding.weight  # a guess does not explain a certainty
                and other.candidate.runbook.id in finding.cause.cause.deeper
                and runbook_id not in other.cause.cause.deeper
                and _same_thing(finding.candidate.entity, other.candidate.entity)
            ):
                finding.explained_by = f"{other.candidate.runbook.id}: {other.cause.cause.id}"
                break
    return sorted(findings, key=Finding.rank_key)


def plan_diagnosis(
    symptom: str,
    live: LiveEnvironment,
    library: Sequence[Runbook],
    scene: Scene,
    selected: str | None = None,
) -> Report:
    """What a diagnosis will run, without running it: the entities meant, what they depend on,
    the candidates ranked and bound. Pure computation on the scene (no I/O, no event loop):
    the TUI runs it in a thread, so a huge paste never holds up a key."""
    started = clock()
    symptom = bounded(symptom)
    addresses = {provider.root_id: provider.address for provider in live.providers}
    index = EntityIndex(scene.trees, addresses)
    by_node = results_by_node(scene.results)
    mentions = index.mentions(symptom)
    selected_entity = index.entity(selected) if selected else None
    focus = focus_of(mentions, selected_entity, index, by_node)
    related = related_to(focus, index, by_node, symptom)
    candidates = candidates_for(symptom, library, index, focus, related, by_node, live)
    tied = [*related, *(entity for entity, _ in focus)]
    for candidate in candidates[: RUN_LIMIT * 4]:
        if candidate.runnable:
            bind_candidate(candidate, live, tied)
    kinds_here = {entity.kind for entity in index.entities()}
    target_kinds = {provider.kind for provider in live.providers}
    can_run = {
        runbook.id for runbook in library if runnable_here(runbook, kinds_here, target_kinds)
    }
    return Report(
        symptom,
        mentions,
        focus,
        related,
        candidates,
        [],
        clock() - started,
        by_node,
        can_run,
    )


async def diagnose_symptom(
    symptom: str,
    live: LiveEnvironment,
    library: Iterable[Runbook],
    *,
    scene: Scene | None = None,
    selected: str | None = None,
) -> Report:
    """From a symptom (may be empty), the selected node's id (may be None) and what is live, to
    the causes ranked across runbooks. `scene`: a sweep already made (the TUI's). The ranking
    runs in a thread; the checks on the event loop, AT_ONCE runbooks at a time."""
    started = clock()
    scene = scene or await Scene.look(live)
    runbooks = list(library)
    report = await asyncio.to_thread(plan_diagnosis, symptom, live, runbooks, scene, selected)
    tied = [*report.related, *(entity for entity, _ in report.focus)]

    async def run(candidates: Sequence[Candidate]) -> list[Finding]:
        return await run_candidates(
            candidates, live, scene.known, tied, report.by_node, dependencies=report.related
        )

    with one_sweep():  # the runbooks' checks share their reads (one docker stats each)
        findings = await run(chosen(report.candidates))
        by_id = {runbook.id: runbook for runbook in runbooks}
        # A cause found whose runbook says where to look for why: look there, on the same
        # entity (tasks stopped by the load balancer's health checks: its target groups).
        deeper = deeper_candidates(findings, by_id, live, tied)
        if deeper:
            findings += await run(deeper)
    report.findings = explained(findings)
    report.seconds = clock() - started
    return report


# -- the report as data ------------------------------------------------------------------------


def _about(entity: Entity | None, live: LiveEnvironment) -> dict[str, Any]:
    if entity is None:
        return {}
    try:
        address = live.provider_for(entity.root.id).address
    except KeyError:
        address = ""
    return {
        "node": entity.node.id,
        "name": entity.node.name,
        "kind": entity.kind,
        "target": entity.target,
        "address": address,
    }


def report_document(report: Report, live: LiveEnvironment) -> dict[str, Any]:
    """The report as JSON-ready data: what `triage diagnose --json` prints."""
    answer = report.answer

    def finding(item: Finding) -> dict[str, Any]:
        return {
            "runbook": item.candidate.runbook.id,
            "cause": item.cause.cause.id,
            "title": item.cause.cause.title,
            "verdict": item.cause.verdict.value,
            "caveat": item.cause.caveat,
            "about": _about(item.candidate.entity, live),
            "role": item.candidate.role,
            "params": item.diagnosis.params,
            "evidence": [entry.explanation for entry in item.cause.evidence],
            "explained_by": item.explained_by,
        }

    causes = [
        {
            "runbook": item.candidate.runbook.id,
            "cause": judged.cause.id,
            "title": judged.cause.title,
            "verdict": judged.verdict.value,
            "caveat": judged.caveat,
            "about": item.candidate.about,
        }
        for item in report.findings
        for judged in item.causes
    ]
    return {
        "symptom": report.symptom,
        "environment": live.name,
        "entities": [
            {"node": m.entity.node.id, "kind": m.entity.kind, "said": m.said, "how": m.how}
            for m in report.mentions
        ],
        "focus": [{"node": entity.node.id, "how": role} for entity, role in report.focus],
        "related": [entity.node.id for entity in report.related],
        "answer": finding(answer) if answer else None,
        "causes": causes,
        "candidates": [
            {
                "runbook": c.runbook.id,
                "score": round(c.score, 2),
                "about": c.about,
                "role": c.role,
                "runnable": c.runnable,
                "params": c.params,
                "unbound": c.unbound,
                "reasons": c.reasons,
            }
            for c in report.candidates[:12]
        ],
        "diagnoses": [finding(item) for item in report.findings],
        "seconds": round(report.seconds, 2),
    }
