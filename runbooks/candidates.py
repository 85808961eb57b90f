"""From the scene and the symptom to the runbooks worth running: the entities the operator means
(named, selected, else what is failing), what they depend on, every runbook ranked by the
symptom's words and by what is live, and each bound to its entity (`bind_from_scene` binds one
runbook the same way for a run of its own)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from providers.contract import CheckResult
from providers.environment import LiveEnvironment
from runbooks.engine import (
    BindingError,
    bind,
)
from runbooks.entities import GROUP_KINDS, Entity, EntityIndex, Mention
from runbooks.model import Runbook
from runbooks.scene import Scene, entity_failing, entity_text, everything_said, results_by_node
from runbooks.suggest import TROUBLES, runbook_troubles, text_score, words_of

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
    signed: bool = False  # a signature of its runbook matches the error the operator gave
    runnable: bool = True
    params: dict[str, Any] | None = None
    unbound: str = ""

    @property
    def about(self) -> str:
        return self.entity.node.id if self.entity else ""


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
    # A queue named on its broker by words of their own ("queue payments on broker"): the
    # queue, not the broker.
    said = {mention.entity.node.id: mention.said for mention in mentions}
    ids = {entity.node.id for entity, _ in focus}
    broader = {
        node.id
        for entity, _ in focus
        for node in entity.path[:-1]
        if node.id in ids
        and node.kind in STORE_KINDS
        and node.id in said
        and said[node.id] != said.get(entity.node.id)
    }
    focus = [(entity, role) for entity, role in focus if entity.node.id not in broader]
    ids -= broader
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


def is_store(entity: Entity | None) -> bool:
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
            # A queue's consumers drain it: one that fails is why it backs up; those its live
            # consumers name (their connections' names) are its own, failing or not.
            for consumer in dependents(entity, index):
                if entity_failing(consumer, by_node):
                    found.setdefault(consumer.node.id, consumer)
            for consumer in index.clients_of(entity):
                found.setdefault(consumer.node.id, consumer)
        elif entity_failing(entity, by_node) and not any(
            node.depends_on for node in entity.descendants()
        ):
            # Failing, and nothing says what it connects to: a store that fails is a suspect.
            for store in index.entities():
                if is_store(store) and entity_failing(store, by_node):
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
    words = words_of(symptom)  # read once, scored against each runbook
    scores = (
        {id(runbook): text_score(symptom, runbook, words) for runbook in library}
        if symptom.strip()
        else {}
    )
    words_point = not symptom.strip() or any(
        scores[id(runbook)].score > 0 and runnable_here(runbook, kinds_here, target_kinds)
        for runbook in library
    )
    focus_failing = any(entity_failing(entity, by_node) for entity, _ in focus)
    said_troubles = words & TROUBLES
    found: list[Candidate] = []
    for runbook in library:
        said = scores.get(id(runbook))
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
        # What the focus uses is looked at when it fails, when the focus fails, or when the
        # runbook is about the trouble the operator speaks of (a page "takes 8 seconds": the
        # slow queries of the database it reads).
        same_trouble = bool(said_troubles & runbook_troubles(runbook))
        for entity in related:
            if _applies(runbook, entity) and (
                entity.node.id in failing_related or focus_failing or same_trouble
            ):
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
        # An error the operator pasted that a runbook's signature knows (a broker refusing a
        # vhost, a database refusing a login) is about that runbook's kind of entity, whatever
        # service was named: the one of its kind here, or the failing one.
        caught_error = said is not None and any(
            reason.startswith("matches signature") for reason in said.reasons
        )
        if not options and base > 0 and (not named_focus or caught_error):
            # What the focus depends on first: the error came through it.
            through = [entity for entity in related if _applies(runbook, entity)]
            if caught_error and len(through) == 1:
                (entity,) = through
                through_why = (
                    f"{entity.node.name} is what the focus depends on, and the error is about it"
                )
                score = base + ROLE_SCORE["dependency"]
                options.append(
                    Candidate(runbook, entity, "dependency", score, [*reasons, through_why])
                )
            elif (only := _only_or_failing(runbook, index, by_node)) is not None or not named_focus:
                options.append(Candidate(runbook, only, "text", base, reasons))
        if not options and base > 0 and set(runbook.applies_to) & GROUP_KINDS:
            # About a whole account or engine, which the words point at: run about what was
            # named, in the one that holds it, its checks narrowed to it where they can be (a
            # 5xx alarm that paged nobody, asked about the api; "is the api healthy").
            held = next(
                (
                    (entity, node)
                    for entity, _ in focus
                    for node in entity.path
                    if node.kind in runbook.applies_to
                ),
                None,
            )
            if held is not None:
                entity, holder = held
                held_why = f"about {holder.name}, which holds {entity.node.name}"
                options.append(Candidate(runbook, entity, "text", base, [*reasons, held_why]))
        for option in options:
            option.runnable = runnable
            option.said = base
            option.caught = dict(said.values) if said else {}
            option.signed = caught_error
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
    if len(mine) == 1:
        return mine[0]
    # A server and its databases, when the runbook is about servers too: the one server.
    roots = {entity.path[0].id for entity in mine}
    if len(roots) == 1:
        (root,) = roots
        return next((entity for entity in mine if entity.node.id == root), None)
    return None


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
    if (
        picked is not None
        and picked not in options
        and _applies(runbook, picked)
        and agrees(picked)
    ):
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
