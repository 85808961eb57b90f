"""A whole diagnosis, from the operator's words to the report and its JSON document
(runbooks/diagnosis.py), on trees and answers built by hand (tests/unit/diagnosis_scenes.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from providers.contract import Health
from runbooks import diagnosis
from runbooks.diagnosis import (
    Report,
    diagnose_symptom,
    plan_diagnosis,
    report_document,
)
from runbooks.engine import Verdict
from runbooks.scene import Scene
from tests.unit.diagnosis_scenes import (
    API,
    CACHE,
    DB,
    ENGINE,
    FAIL,
    FULL,
    PASS,
    SKIPPED,
    WARN,
    WORKER,
    ScriptedEnvironment,
    candidate,
    entity,
    finding_of,
    redis_runbook,
    redis_tree,
    result,
    runbook,
    shop,
)

CONFIRMED, LIKELY, UNKNOWN = Verdict.CONFIRMED, Verdict.LIKELY, Verdict.UNKNOWN

# -- a whole diagnosis: from the operator's words to the report --------------------------------

REDIS_FULL = runbook(
    """
    id: redis-full
    title: Redis is full and refuses writes
    symptoms: ["writes fail with OOM"]
    signatures: ["OOM command not allowed"]
    applies_to: [redis.instance]
    params:
      cache: {target: redis}
    checks:
      - {id: memory, use: redis.memory}
    causes:
      - id: maxmemory
        title: Memory is full
        deeper: [redis-keys-never-expire]
        evidence:
          - {check: memory, status: fail}
    """
)
# Applies to nothing by itself: run only to find why the cache is full.
NEVER_EXPIRE = runbook(
    """
    id: redis-keys-never-expire
    title: Keys never expire
    params:
      cache: {target: redis}
    checks:
      - {id: keys, use: redis.keys, with: {expect_ttl: true}}
    causes:
      - id: no-ttl
        title: Keys are written without a TTL
        evidence:
          - {check: keys, fact: without_ttl, gt: 0}
          - {check: keys, status: [warn, fail]}
    """
)
API_ERRORS = runbook(
    """
    id: api-errors
    title: The api returns errors
    symptoms: ["the api returns 500 errors"]
    applies_to: [compose.service]
    params:
      engine: {target: compose}
      project: {required: false}
      service: {required: false}
    checks:
      - {id: logs, use: compose.log_search, with: {project: $project, service: $service}}
    causes:
      - id: app-bug
        title: The application throws
        evidence:
          - {check: logs, status: [fail, warn]}
      - id: app-quiet
        title: The application logs nothing
        evidence:
          - {check: logs, fact: lines, equals: 0}
    """
)
# Fits the words and the api, but reads a Kubernetes cluster, which is not here.
ROLLOUT_STUCK = runbook(
    """
    id: rollout-stuck
    title: The rollout is stuck with pods pending
    symptoms: ["the api returns 500 errors"]
    applies_to: [compose.service, k8s.deployment]
    params:
      cluster: {target: kubernetes}
    checks:
      - {id: pending, use: k8s.pending_pods}
    causes:
      - id: unschedulable
        title: Nothing can schedule them
        evidence: [{check: pending, status: fail}]
    """
)
LIBRARY = [REDIS_FULL, NEVER_EXPIRE, API_ERRORS, ROLLOUT_STUCK]


@pytest.fixture
def stopwatch(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """The report's clock, reading these times one by one."""
    times: list[float] = []
    monkeypatch.setattr(diagnosis, "clock", lambda: times.pop(0))
    yield times


def cascade() -> tuple[ScriptedEnvironment, Scene]:
    """The api throws errors because the cache it writes to is full of keys with no TTL."""
    env = ScriptedEnvironment(
        {
            (CACHE, "redis.memory"): (FAIL, {}),
            (CACHE, "redis.keys"): (WARN, {"without_ttl": 1200}),
            (ENGINE, "compose.log_search"): (WARN, {"lines": 5}),
        }
    )
    trees = shop(cache=Health.FAILING, api=Health.DEGRADED, api_reason="5 errors in its log")
    sweep = [result(CACHE, "redis.memory", FAIL), result(API, "compose.running", PASS)]
    return env, Scene(trees, sweep)


async def test_a_symptom_about_a_service_is_answered_by_the_dependency_that_breaks_it(
    stopwatch: list[float],
) -> None:
    env, scene = cascade()
    stopwatch.extend([100.0, 100.25, 101.0, 103.456])
    report = await diagnose_symptom("the api returns 500 errors", env, LIBRARY, scene=scene)
    assert [(entity.node.id, how) for entity, how in report.focus] == [(API, "named")]
    assert [entity.node.id for entity in report.related] == [CACHE]
    assert (report.mentions[0].entity.node.id, report.mentions[0].how) == (API, "name")
    assert report.can_run == {"redis-full", "redis-keys-never-expire", "api-errors"}
    assert report.seconds == pytest.approx(3.456)
    assert report.by_node[CACHE][0].status is FAIL
    # Why the cache is full is the answer, and that it is full says what explains it.
    found = {
        f.candidate.runbook.id: (
            f.cause.cause.id,
            f.cause.verdict,
            f.candidate.about,
            f.explained_by,
        )
        for f in report.findings
    }
    assert found == {
        "redis-keys-never-expire": ("no-ttl", CONFIRMED, CACHE, ""),
        "redis-full": ("maxmemory", CONFIRMED, CACHE, "redis-keys-never-expire: no-ttl"),
        "api-errors": ("app-bug", CONFIRMED, API, ""),
    }
    assert report.findings[0].candidate.runbook.id == "redis-keys-never-expire"
    assert report.answer is report.findings[0]
    # The sweep's memory check answered the runbook; the others ran narrowed to their entity.
    assert [(plan.node_id, plan.call.check, dict(plan.call.params)) for plan in env.asked] == [
        (ENGINE, "compose.log_search", {"project": "shop", "service": "api"}),
        (CACHE, "redis.keys", {"expect_ttl": True}),
    ]


async def test_the_report_document_says_the_answer_its_evidence_and_every_cause(
    stopwatch: list[float],
) -> None:
    env, scene = cascade()
    stopwatch.extend([10.0, 10.0, 10.5, 12.345])
    report = await diagnose_symptom("the api returns 500 errors", env, LIBRARY, scene=scene)
    document = report_document(report, env)
    json.dumps(document)  # what --json prints
    assert document["symptom"] == "the api returns 500 errors"
    assert document["environment"] == "prod"
    assert document["entities"][0] == {
        "node": API,
        "kind": "compose.service",
        "said": "api",
        "how": "name",
    }
    assert document["focus"] == [{"node": API, "how": "named"}]
    assert document["related"] == [CACHE]
    assert document["seconds"] == 2.35
    assert document["answer"] == {
        "runbook": "redis-keys-never-expire",
        "cause": "no-ttl",
        "title": "Keys are written without a TTL",
        "verdict": "confirmed",
        "caveat": "",
        "about": {
            "node": CACHE,
            "name": "cache (127.0.0.1:6379)",
            "kind": "redis.instance",
            "target": "cache",
            "address": "127.0.0.1:6379",
        },
        "role": "dependency",
        "params": {"cache": "cache"},
        "evidence": ["keys: without ttl is 1,200 (> 0)", "the keys check warned"],
        "explained_by": "",
    }
    assert document["diagnoses"][0] == document["answer"]
    diagnosed = {item["runbook"]: item for item in document["diagnoses"]}
    assert list(diagnosed) == [f.candidate.runbook.id for f in report.findings]
    assert diagnosed["redis-full"]["explained_by"] == "redis-keys-never-expire: no-ttl"
    assert diagnosed["api-errors"]["about"]["address"] == "tcp://127.0.0.1:2375"
    assert diagnosed["api-errors"]["params"] == {
        "engine": "local",
        "project": "shop",
        "service": "api",
    }
    assert diagnosed["api-errors"]["role"] == "named"
    # Every cause of every runbook run, a runbook's causes together, in the findings' order.
    causes_of = {
        "redis-keys-never-expire": [
            ("no-ttl", "Keys are written without a TTL", "confirmed", CACHE),
        ],
        "redis-full": [("maxmemory", "Memory is full", "confirmed", CACHE)],
        "api-errors": [
            ("app-bug", "The application throws", "confirmed", API),
            ("app-quiet", "The application logs nothing", "ruled out", API),
        ],
    }
    assert document["causes"] == [
        {
            "runbook": f.candidate.runbook.id,
            "cause": cause,
            "title": title,
            "verdict": verdict,
            "caveat": "",
            "about": about,
        }
        for f in report.findings
        for cause, title, verdict, about in causes_of[f.candidate.runbook.id]
    ]
    by_runbook = {c.runbook.id: c for c in report.candidates}
    assert [item["runbook"] for item in document["candidates"]] == [
        c.runbook.id for c in report.candidates
    ]
    for item in document["candidates"]:
        bound = by_runbook[item["runbook"]]
        assert item == {
            "runbook": bound.runbook.id,
            "score": round(bound.score, 2),
            "about": bound.about,
            "role": bound.role,
            "runnable": bound.runnable,
            "params": bound.params,
            "unbound": bound.unbound,
            "reasons": bound.reasons,
        }
    api = by_runbook["api-errors"]
    assert (api.role, api.params, api.runnable) == (
        "named",
        {"engine": "local", "project": "shop", "service": "api"},
        True,
    )
    pending = by_runbook["rollout-stuck"]
    assert (pending.runnable, pending.params) == (False, None)


async def test_a_selected_node_is_the_focus_and_what_it_connects_to_is_a_suspect() -> None:
    env = ScriptedEnvironment({(DB, "postgres.connections"): (FAIL, {})})
    trees = shop(database=Health.FAILING, worker=Health.FAILING)
    scene = Scene(trees, [result(DB, "postgres.connections", FAIL)])
    database_full = runbook(
        """
        id: database-full
        title: Database out of connections
        applies_to: [postgres.server]
        params: {db: {target: postgres}}
        checks: [{id: connections, use: postgres.connections}]
        causes:
          - id: max-connections
            title: max_connections reached
            evidence: [{check: connections, status: fail}]
        """
    )
    report = await diagnose_symptom("", env, [database_full], scene=scene, selected=WORKER)
    assert [(entity.node.id, how) for entity, how in report.focus] == [(WORKER, "selected")]
    assert [entity.node.id for entity in report.related] == [DB]
    assert report.answer is not None
    assert (report.answer.candidate.about, report.answer.cause.verdict) == (DB, CONFIRMED)


async def test_with_nothing_named_what_the_sweep_finds_failing_is_the_focus() -> None:
    env = ScriptedEnvironment({(ENGINE, "compose.log_search"): (FAIL, {})})
    trees = shop()  # the worker looks fine in the tree; its running check fails
    scene = Scene(trees, [result(WORKER, "compose.running", FAIL)])
    worker_errors = runbook(
        """
        id: worker-errors
        title: The worker throws
        applies_to: [compose.service]
        params: {engine: {target: compose}}
        checks: [{id: logs, use: compose.log_search}]
        causes:
          - id: throws
            title: throws
            evidence: [{check: logs, status: fail}]
        """
    )
    report = await diagnose_symptom("", env, [worker_errors], scene=scene)
    assert [(entity.node.id, how) for entity, how in report.focus] == [(WORKER, "failing")]
    assert report.answer is not None
    assert (report.answer.candidate.about, report.answer.cause.verdict) == (WORKER, CONFIRMED)
    assert [dict(plan.call.params) for plan in env.asked] == [
        {"project": "shop", "service": "worker"}
    ]


async def test_a_service_the_sweep_saw_troubled_is_judged_so_though_its_tree_looks_fine() -> None:
    """Nothing the operator said points at the runbook: what makes its fault credible is the
    warning the sweep saw on the worker."""
    env = ScriptedEnvironment({(ENGINE, "compose.log_search"): (WARN, {})})
    trees = shop()
    backlog = runbook(
        """
        id: worker-backlog
        title: Jobs pile up
        symptoms: ["jobs pile up in the queue"]
        applies_to: [compose.service]
        params: {engine: {target: compose}}
        checks: [{id: logs, use: compose.log_search}]
        causes:
          - id: slow
            title: slow
            evidence: [{check: logs, status: warn}]
        """
    )
    troubled = Scene(trees, [result(WORKER, "compose.running", WARN)])
    report = await diagnose_symptom("worker", env, [backlog], scene=troubled)
    assert report.answer is not None
    assert (report.answer.candidate.said, report.answer.candidate.live_said) == (0.0, 0.0)
    assert report.answer.cause.verdict is CONFIRMED
    calm = Scene(trees, [result(WORKER, "compose.running", PASS)])
    report = await diagnose_symptom(
        "worker", ScriptedEnvironment(env.answers), [backlog], scene=calm
    )
    assert report.answer is not None
    assert report.answer.cause.verdict is UNKNOWN


async def test_a_dependencys_runbook_does_not_read_the_service_that_depends_on_it() -> None:
    env, scene = cascade()
    engine_disk = runbook(
        """
        id: redis-disk
        title: The cache's host disk is full
        applies_to: [redis.instance]
        params:
          cache: {target: redis}
          engine: {target: compose, required: false}
        checks:
          - {id: memory, use: redis.memory, on: cache}
          - {id: disk, use: compose.disk_usage, on: engine}
        causes:
          - id: disk-full
            title: disk full
            evidence: [{check: memory, status: fail}, {check: disk, status: fail}]
        """
    )
    report = await diagnose_symptom(
        "the api returns 500 errors", env, [*LIBRARY, engine_disk], scene=scene
    )
    disk = next(f for f in report.findings if f.candidate.runbook.id == "redis-disk")
    assert disk.candidate.params == {"cache": "cache", "engine": "local"}
    assert disk.diagnosis.results["disk"].status is SKIPPED
    assert "compose.disk_usage" not in env.asked_of(ENGINE)


async def test_without_a_sweep_given_the_diagnosis_makes_one_leaving_sampled_checks_out() -> None:
    env, scene = cascade()
    env.swept = (scene.trees, scene.results)
    report = await diagnose_symptom("the api returns 500 errors", env, LIBRARY)
    assert env.left_out == [frozenset({"compose.resources"})]
    assert report.answer is not None
    assert report.answer.candidate.runbook.id == "redis-keys-never-expire"
    assert "redis.memory" not in env.asked_of(CACHE)  # the sweep's answer was used


def test_planning_binds_only_the_best_candidates_and_runs_nothing(
    stopwatch: list[float],
) -> None:
    env = ScriptedEnvironment()
    trees = shop(cache=Health.FAILING)
    scene = Scene(trees, [result(CACHE, "redis.memory", FAIL)])
    many = [
        redis_runbook(f"redis-{index:02}", "{check: memory, status: fail}")
        for index in range(diagnosis.RUN_LIMIT * 4 + 2)
    ]
    stopwatch.extend([5.0, 5.75])
    report = plan_diagnosis("cache", env, many, scene)
    assert report.seconds == 0.75
    assert report.findings == [] and env.asked == []
    assert [c.runbook.id for c in report.candidates] == [book.id for book in many]
    assert [c.params is not None for c in report.candidates] == [True] * 48 + [False] * 2
    assert report.can_run == {book.id for book in many}


async def test_a_diagnosis_that_finds_nothing_reports_no_answer() -> None:
    env = ScriptedEnvironment()
    trees = shop()
    report = await diagnose_symptom(
        "the api returns 500 errors", env, [ROLLOUT_STUCK], scene=Scene(trees, [])
    )
    assert report.findings == [] and report.answer is None
    document = report_document(report, env)
    assert (document["answer"], document["diagnoses"], document["causes"]) == (None, [], [])


def test_the_document_lists_the_twelve_best_candidates_with_scores_to_two_places() -> None:
    env = ScriptedEnvironment()
    cache = entity(shop(), CACHE)
    candidates = [candidate(FULL, cache, score=10 + index / 1000) for index in range(14)]
    report = Report("cache", [], [(cache, "named")], [], candidates, [])
    document = report_document(report, env)
    assert [item["score"] for item in document["candidates"]] == [
        round(10 + index / 1000, 2) for index in range(12)
    ]
    assert document["candidates"][5]["score"] == 10.01
    assert document["seconds"] == 0.0


def test_a_finding_about_no_entity_or_a_target_gone_from_the_inventory_says_so() -> None:
    env = ScriptedEnvironment()
    gone = redis_tree("gone", 6390)
    anywhere = finding_of(FULL, None, CONFIRMED)
    elsewhere = finding_of(FULL, entity([gone], "redis:gone"), CONFIRMED)
    report = Report("full", [], [], [], [], [anywhere, elsewhere])
    diagnoses = report_document(report, env)["diagnoses"]
    assert [item["about"] for item in diagnoses] == [
        {},
        {
            "node": "redis:gone",
            "name": "gone (127.0.0.1:6390)",
            "kind": "redis.instance",
            "target": "gone",
            "address": "",
        },
    ]
    assert [item["role"] for item in diagnoses] == ["named", "named"]
