"""Shared by the diagnosis ranking tests: an environment whose checks answer what each test
says (no server is reached), live trees built by hand, runbooks written as YAML text, and
candidates bound to entities of those trees.
"""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from providers.contract import CheckCall, CheckResult, CheckStatus, Health, Node, Status
from providers.environment import LiveEnvironment, PlannedCheck
from providers.inventory import Environment, Inventory, Target
from runbooks.candidates import Candidate
from runbooks.diagnosis import Finding, Judged, run_candidates
from runbooks.engine import CauseAssessment, Diagnosis, Verdict
from runbooks.entities import Entity, EntityIndex
from runbooks.evidence import ConditionResult
from runbooks.loader import load_runbook
from runbooks.model import Condition, Runbook

PASS, WARN, FAIL = CheckStatus.PASS, CheckStatus.WARN, CheckStatus.FAIL
ERROR, SKIPPED = CheckStatus.ERROR, CheckStatus.SKIPPED

CACHE, SESSIONS, DB, ENGINE = "redis:cache", "redis:sessions", "postgres:db", "compose:local"
API = "compose:local/shop/api"
WORKER = "compose:local/shop/worker"

TARGETS = (
    Target(kind="redis", name="cache", url="redis://127.0.0.1:6379/0"),
    Target(kind="redis", name="sessions", url="redis://127.0.0.1:6380/0"),
    Target(kind="postgres", name="db", url="postgresql://shop@127.0.0.1:5432/shop"),
    Target(kind="compose", name="local", url="tcp://127.0.0.1:2375"),
)


class ScriptedEnvironment(LiveEnvironment):
    """The shop's targets, whose every check answers from `answers` by (root id, check): a
    check not listed passes and reports no facts. Every check asked is recorded with its
    parameters; while `hold` is set and not released, each check waits for it, so a test can
    count how many run at once."""

    def __init__(
        self,
        answers: Mapping[tuple[str, str], tuple[CheckStatus, dict[str, Any]]] | None = None,
        targets: Sequence[Target] = TARGETS,
    ) -> None:
        super().__init__(Inventory(environments={"prod": Environment(targets=list(targets))}))
        self.answers = dict(answers or {})
        self.asked: list[PlannedCheck] = []
        self.hold: asyncio.Event | None = None
        self.waiting = 0
        # What a sweep of this environment finds, and what the sweeps made were told to leave out.
        self.swept: tuple[list[Node], list[CheckResult]] = ([], [])
        self.left_out: list[frozenset[str]] = []

    async def check_everything(
        self,
        on_tree: Callable[[Node], None] | None = None,
        *,
        worth_checking: Callable[[Node, int], bool] | None = None,
        at_once: int | None = None,
        leave_out: frozenset[str] = frozenset(),
    ) -> tuple[list[Node], list[CheckResult]]:
        self.left_out.append(leave_out)
        return self.swept

    async def run_check(self, item: PlannedCheck) -> CheckResult:
        self.asked.append(item)
        root = item.node_id.split("/", 1)[0]
        if self.hold is not None:
            self.waiting += 1
            await self.hold.wait()
            self.waiting -= 1
        status, facts = self.answers.get((root, item.call.check), (PASS, {}))
        return CheckResult(
            check=item.call.check,
            target=root.split(":", 1)[1],
            status=status,
            summary=f"{item.call.check} on {root}: {status.value}",
            facts=facts,
            node_id=item.node_id,
        )

    def asked_of(self, root: str) -> list[str]:
        """The checks asked of one target, in the order asked."""
        return [plan.call.check for plan in self.asked if plan.node_id.split("/", 1)[0] == root]


# -- live trees --------------------------------------------------------------------------------


def status(health: Health = Health.OK, reason: str = "") -> Status:
    return Status(health, reason or health.value)


def redis_tree(name: str, port: int, health: Health = Health.OK, reason: str = "") -> Node:
    return Node(
        id=f"redis:{name}",
        kind="redis.instance",
        name=f"{name} (127.0.0.1:{port})",
        status=status(health, reason),
        checks=(CheckCall("redis.memory"),),
        children=(
            Node(
                id=f"redis:{name}/db0",
                kind="redis.database",
                name="db0",
                status=status(),
                checks=(CheckCall("redis.keys", {"db": 0}),),
                params=(("db", "0"),),
            ),
        ),
    )


def postgres_tree(health: Health = Health.OK, reason: str = "") -> Node:
    return Node(
        id=DB,
        kind="postgres.server",
        name="db (127.0.0.1:5432/shop)",
        status=status(health, reason),
        checks=(CheckCall("postgres.connections"),),
    )


def service(
    name: str,
    health: Health = Health.OK,
    reason: str = "",
    depends_on: tuple[str, ...] = (),
) -> Node:
    params = (("project", "shop"), ("service", name))
    return Node(
        id=f"{ENGINE}/shop/{name}",
        kind="compose.service",
        name=name,
        status=status(health, reason),
        params=params,
        depends_on=depends_on,
        checks=(CheckCall("compose.running", dict(params)),),
        children=(
            Node(
                id=f"{ENGINE}/shop/{name}/shop-{name}-1",
                kind="compose.container",
                name=f"shop-{name}-1",
                status=status(health, reason),
                params=(*params, ("container", f"shop-{name}-1")),
            ),
        ),
    )


def compose_tree(*services: Node) -> Node:
    return Node(
        id=ENGINE,
        kind="compose.engine",
        name="local",
        status=status(),
        children=(
            Node(
                id=f"{ENGINE}/shop",
                kind="compose.project",
                name="shop",
                status=status(),
                params=(("project", "shop"),),
                children=services,
            ),
        ),
    )


def shop(
    *,
    cache: Health = Health.OK,
    api: Health = Health.OK,
    api_reason: str = "",
    worker: Health = Health.OK,
    database: Health = Health.OK,
) -> list[Node]:
    """The shop's live trees: two Redis (cache, sessions), a PostgreSQL, and a compose project
    whose api connects to the cache and whose worker connects to the database."""
    return [
        redis_tree(
            "cache", 6379, cache, "used memory 99% of maxmemory" if cache is not Health.OK else ""
        ),
        redis_tree("sessions", 6380),
        postgres_tree(database, "too many clients" if database is not Health.OK else ""),
        compose_tree(
            service("api", api, api_reason, depends_on=("127.0.0.1:6379",)),
            service("worker", worker, depends_on=("127.0.0.1:5432",)),
        ),
    ]


def index_of(trees: Sequence[Node], live: LiveEnvironment) -> EntityIndex:
    return EntityIndex(trees, {provider.root_id: provider.address for provider in live.providers})


def entity(trees: Sequence[Node], node_id: str) -> Entity:
    found = EntityIndex(trees).entity(node_id)
    assert found is not None, node_id
    return found


def result(node_id: str, check: str, check_status: CheckStatus = PASS, **facts: Any) -> CheckResult:
    """A result of the sweep, about one node."""
    root = node_id.split("/", 1)[0]
    return CheckResult(
        check=check,
        target=root.split(":", 1)[1],
        status=check_status,
        summary=f"{check}: {check_status.value}",
        facts=facts,
        node_id=node_id,
    )


def by_node(results: Iterable[CheckResult]) -> dict[str, list[CheckResult]]:
    found: dict[str, list[CheckResult]] = {}
    for item in results:
        found.setdefault(item.node_id, []).append(item)
    return found


# -- runbooks and candidates -------------------------------------------------------------------


def runbook(text: str) -> Runbook:
    """A runbook from its YAML, checked against the registered checks as the library is."""
    return load_runbook(Path("scene.yaml"), text=textwrap.dedent(text))


def redis_runbook(
    runbook_id: str,
    *evidence: str,
    deeper: Sequence[str] = (),
    cause: str = "full",
    checks: str = "memory: redis.memory",
    applies_to: str = "redis.instance",
) -> Runbook:
    """A runbook about one Redis, one check per `id: use` of `checks`, and one cause whose
    evidence is each of `evidence` (YAML flow mappings)."""
    steps = "\n".join(
        f"  - {{id: {step.split(':')[0].strip()}, use: {step.split(':')[1].strip()}}}"
        for step in checks.split(",")
    )
    conditions = "\n".join(f"      - {item}" for item in evidence)
    return runbook(
        f"id: {runbook_id}\n"
        f"title: {runbook_id} title\n"
        f"applies_to: [{applies_to}]\n"
        "params:\n  cache: {target: redis}\n"
        f"checks:\n{steps}\n"
        f"causes:\n  - id: {cause}\n    title: {cause} title\n    deeper: [{', '.join(deeper)}]\n"
        f"    evidence:\n{conditions}\n"
    )


def compose_runbook(runbook_id: str, check: str) -> Runbook:
    """A runbook on a compose service: one check, whose fail or warn is its one cause."""
    return runbook(
        f"id: {runbook_id}\ntitle: {runbook_id}\napplies_to: [compose.service]\n"
        "params:\n  engine: {target: compose}\n"
        f"checks:\n  - {{id: look, use: {check}}}\n"
        "causes:\n  - id: seen\n    title: seen\n"
        "    evidence:\n      - {check: look, status: [fail, warn]}\n"
    )


def candidate(
    book: Runbook,
    about: Entity | None,
    role: str = "named",
    score: float = 10.0,
    *,
    params: dict[str, Any] | None = None,
    said: float = 0.0,
    live_said: float = 0.0,
    linked: bool = False,
) -> Candidate:
    """A candidate as the diagnosis binds it: on its entity's target unless told."""
    found = Candidate(book, about, role, score, [f"about {role}"], said=said, live_said=live_said)
    found.linked = linked
    if params is None and about is not None:
        params = {"cache": about.target} if about.target_kind == "redis" else {}
    found.params = params
    return found


FULL = redis_runbook("redis-full", "{check: memory, status: fail}")
ELSEWHERE_CAVEAT = "its evidence was seen on another target, not on what is diagnosed"
HEALTHY_CAVEAT = (
    "nothing wrong is seen here (its checks pass, or what they rest on is healthy) "
    "and the symptom points elsewhere"
)


def two_redis_runbook(runbook_id: str, *evidence: str) -> Runbook:
    """About one Redis (`cache`), reading another too (`other`): `memory` on the cache,
    `other_memory` on the other."""
    conditions = "\n".join(f"      - {item}" for item in evidence)
    return runbook(
        f"id: {runbook_id}\ntitle: {runbook_id}\napplies_to: [redis.instance]\n"
        "params:\n  cache: {target: redis}\n  other: {target: redis}\n"
        "checks:\n  - {id: memory, use: redis.memory, on: cache}\n"
        "  - {id: other_memory, use: redis.memory, on: other}\n"
        f"causes:\n  - id: seen\n    title: seen\n    evidence:\n{conditions}\n"
    )


async def only_finding(
    env: ScriptedEnvironment,
    chosen_one: Candidate,
    related: Sequence[Entity] = (),
    sweep: Sequence[CheckResult] = (),
) -> Finding:
    findings = await run_candidates([chosen_one], env, None, related, by_node(sweep))
    assert len(findings) == 1
    return findings[0]


def verdicts(findings: Sequence[Finding]) -> list[tuple[str, str, Verdict]]:
    return [(f.candidate.runbook.id, f.candidate.about, f.cause.verdict) for f in findings]


def finding_of(
    book: Runbook,
    about: Entity | None,
    verdict: Verdict,
    *,
    score: float = 1.0,
    decisive: bool = False,
) -> Finding:
    """A finding whose one cause has this verdict (its evidence a status, or a decisive fact)."""
    condition = (
        {"check": "memory", "fact": "reason", "equals": "oom", "decisive": True}
        if decisive
        else {"check": "memory", "status": "fail"}
    )
    held = ConditionResult(Condition.model_validate(condition), True, "held")
    assessment = CauseAssessment(book.causes[0], verdict, (held,))
    ran = Diagnosis(book, "prod", {"cache": "cache"}, {}, [assessment])
    return Finding(candidate(book, about, score=score), ran, [Judged(assessment)])
