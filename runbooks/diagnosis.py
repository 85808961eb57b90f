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
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from providers.contract import CheckCall, CheckResult, CheckStatus
from providers.environment import LiveEnvironment, PlannedCheck
from providers.registry import check_catalogue
from providers.sweep import one_sweep
from runbooks.candidates import (
    RELATION,
    Candidate,
    bind_candidate,
    candidates_for,
    focus_of,
    is_store,
    related_to,
    runnable_here,
)
from runbooks.engine import (
    BindingError,
    CauseAssessment,
    Diagnosis,
    Known,
    Verdict,
    diagnose,
)
from runbooks.entities import Entity, EntityIndex, Mention
from runbooks.evidence import ConditionResult, checks_of, decisive_hold
from runbooks.model import Cause, Runbook
from runbooks.scene import (
    BAD,
    SAMPLED_CHECKS,
    Scene,
    entity_troubled,
    full_params,
    results_by_node,
)
from runbooks.suggest import bounded

# What a report's seconds are measured by (snapshot tests stop it).
clock = time.monotonic

AT_ONCE = 8  # runbooks run together (their checks mostly wait on the network)
RUN_LIMIT = 12  # candidates run, besides the failing dependencies'
DEPENDENCIES_RUN = 3
STRENGTH = {Verdict.CONFIRMED: 3, Verdict.LIKELY: 2, Verdict.UNKNOWN: 1, Verdict.RULED_OUT: 0}


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
        if found and self.candidate.role == "text" and self.candidate.caught:
            # The error the operator pasted names the thing (a database, a vhost, a table)
            # this cause is found about: the error came from there, whatever was named.
            relation = RELATION["dependency"]
        entity = self.candidate.entity
        if found and self.candidate.role == "failing" and is_store(entity):
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


# -- running and ranking ----------------------------------------------------------------------


def chosen(candidates: Sequence[Candidate]) -> list[Candidate]:
    """The candidates worth running: the best bound ones, then the failing dependencies' and
    those whose signature knows the pasted error (and what it names: a database, a table)."""
    bound = [c for c in candidates if c.runnable and c.params is not None and c.score > 0]
    first, rest = bound[:RUN_LIMIT], bound[RUN_LIMIT:]

    def tied(candidate: Candidate) -> bool:
        return candidate.role == "dependency" or bool(candidate.caught) or candidate.signed

    # Then what the words point at, about no named thing (an account's alarms), which the
    # named entity's every runbook would crowd out.
    extra = [c for c in rest if tied(c)]
    extra += [c for c in rest if not tied(c) and c.role == "text" and c.said > 0]
    return first + extra[:DEPENDENCIES_RUN]


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
    something wrong seen on it, or the error the operator gave matching the runbook."""
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
            # What the focus depends on is a cause only if it shows a fault, or if the error
            # the operator gave is this runbook's (a write refused by a replica: the replica
            # itself answers well).
            credible = abnormal or candidate.signed
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
        params = full_params(spec, plan.call.params) if spec else repr(plan.call.params)
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
