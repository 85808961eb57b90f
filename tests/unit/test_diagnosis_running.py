"""A diagnosis runs its runbooks (runbooks/diagnosis.py): a bounded number at once, each
narrowed to its entity and kept off targets not tied to it, a check asked twice run once; which
candidates run. Trees and answers built by hand (tests/unit/diagnosis_scenes.py).
"""

from __future__ import annotations

import asyncio

from providers.contract import CheckCall, Health, Node
from providers.environment import PlannedCheck
from runbooks.diagnosis import (
    AT_ONCE,
    DEPENDENCIES_RUN,
    RUN_LIMIT,
    chosen,
    narrowed,
    run_candidates,
)
from runbooks.engine import Verdict
from runbooks.model import Runbook
from runbooks.scene import Scene
from tests.unit.diagnosis_scenes import (
    API,
    CACHE,
    ENGINE,
    FAIL,
    FULL,
    SESSIONS,
    SKIPPED,
    ScriptedEnvironment,
    candidate,
    compose_runbook,
    entity,
    only_finding,
    redis_runbook,
    result,
    runbook,
    shop,
    two_redis_runbook,
)

CONFIRMED, LIKELY, UNKNOWN = Verdict.CONFIRMED, Verdict.LIKELY, Verdict.UNKNOWN

# -- running: narrowed to the entity, kept off what is not tied to it, bounded -----------------


def resources_runbook(with_: str = "{}") -> Runbook:
    return runbook(
        "id: api-limits\ntitle: api limits\napplies_to: [compose.service, compose.container]\n"
        "params:\n  engine: {target: compose}\n"
        f"checks:\n  - {{id: stats, use: compose.resources, with: {with_}}}\n"
        "causes:\n  - id: limit\n    title: at its limit\n"
        "    evidence: [{check: stats, status: fail}]\n"
    )


async def test_a_check_on_the_entitys_target_samples_that_entity_not_the_whole_engine() -> None:
    env = ScriptedEnvironment()
    trees = shop()
    await run_candidates([candidate(resources_runbook(), entity(trees, API), params={})], env)
    assert [(plan.node_id, dict(plan.call.params)) for plan in env.asked] == [
        (ENGINE, {"project": "shop", "service": "api"})
    ]


async def test_what_the_runbook_sets_is_kept_and_what_it_leaves_empty_is_narrowed() -> None:
    env = ScriptedEnvironment()
    container = entity(shop(), f"{API}/shop-api-1")
    book = resources_runbook("{project: other, service: ''}")
    await run_candidates([candidate(book, container, params={})], env)
    assert [dict(plan.call.params) for plan in env.asked] == [
        {"project": "other", "service": "api", "container": "shop-api-1"}
    ]


def test_an_entitys_parameter_takes_the_type_the_check_expects() -> None:
    database = entity(shop(), f"{CACHE}/db0")
    plan = PlannedCheck(CACHE, CheckCall("redis.keys", {"pattern": "cart:*"}))
    assert narrowed(plan, database) == PlannedCheck(
        CACHE, CheckCall("redis.keys", {"pattern": "cart:*", "db": 0})
    )


def test_an_entitys_parameter_that_is_not_of_the_checks_type_is_left_to_the_check() -> None:
    odd = Node(id=f"{CACHE}/dbx", kind="redis.database", name="dbx", params=(("db", "x"),))
    trees = [Node(id=CACHE, kind="redis.instance", name="cache", children=(odd,))]
    plan = PlannedCheck(CACHE, CheckCall("redis.keys", {"pattern": "*"}))
    assert narrowed(plan, entity(trees, f"{CACHE}/dbx")) is plan


def test_a_parameter_of_the_wrong_type_is_left_out_and_the_others_still_narrow() -> None:
    odd = Node(
        id=f"{CACHE}/dbx",
        kind="redis.database",
        name="dbx",
        params=(("db", "x"), ("pattern", "cart:*")),
    )
    trees = [Node(id=CACHE, kind="redis.instance", name="cache", children=(odd,))]
    plan = PlannedCheck(CACHE, CheckCall("redis.keys", {"pattern": ""}))
    assert narrowed(plan, entity(trees, f"{CACHE}/dbx")) == PlannedCheck(
        CACHE, CheckCall("redis.keys", {"pattern": "cart:*"})
    )


def test_a_check_planned_on_a_node_of_the_entitys_target_is_narrowed_too() -> None:
    container = entity(shop(), f"{API}/shop-api-1")
    plan = PlannedCheck(API, CheckCall("compose.resources", {}))
    assert narrowed(plan, container) == PlannedCheck(
        API,
        CheckCall(
            "compose.resources", {"project": "shop", "service": "api", "container": "shop-api-1"}
        ),
    )


def test_a_check_elsewhere_unregistered_or_about_no_entity_is_left_as_asked() -> None:
    database = entity(shop(), f"{CACHE}/db0")
    elsewhere = PlannedCheck(SESSIONS, CheckCall("redis.keys", {}))
    assert narrowed(elsewhere, database) is elsewhere
    unregistered = PlannedCheck(CACHE, CheckCall("redis.unheard_of", {}))
    assert narrowed(unregistered, database) is unregistered
    open_plan = PlannedCheck(CACHE, CheckCall("redis.keys", {}))
    assert narrowed(open_plan, None) is open_plan
    takes_none = PlannedCheck(CACHE, CheckCall("redis.memory", {}))
    assert narrowed(takes_none, database) is takes_none


async def test_a_check_on_a_target_not_tied_to_the_entity_is_skipped_and_says_why() -> None:
    env = ScriptedEnvironment(
        {(CACHE, "redis.memory"): (FAIL, {}), (SESSIONS, "redis.memory"): (FAIL, {})}
    )
    trees = shop(cache=Health.FAILING)
    book = two_redis_runbook(
        "both", "{check: memory, status: fail}", "{check: other_memory, status: fail}"
    )
    on_cache = candidate(book, entity(trees, CACHE), params={"cache": "cache", "other": "sessions"})
    finding = await only_finding(env, on_cache)
    assert env.asked_of(SESSIONS) == []
    skipped = finding.diagnosis.results["other_memory"]
    assert (skipped.status, skipped.summary, dict(skipped.facts)) == (
        SKIPPED,
        "not about cache (127.0.0.1:6379): redis:sessions is not tied to it",
        {"skipped": "not about the entity"},
    )
    assert (skipped.check, skipped.target, skipped.node_id) == (
        "redis.memory",
        "sessions",
        SESSIONS,
    )
    assert finding.cause.verdict is UNKNOWN  # what it would find there cannot be known


async def test_what_the_focus_depends_on_is_read_and_only_that_when_given() -> None:
    trees = shop(cache=Health.FAILING)
    book = two_redis_runbook(
        "both", "{check: memory, status: fail}", "{check: other_memory, status: fail}"
    )
    params = {"cache": "cache", "other": "sessions"}
    sessions = entity(trees, SESSIONS)
    env = ScriptedEnvironment()
    await run_candidates(
        [candidate(book, entity(trees, CACHE), params=params)], env, None, [sessions]
    )
    assert env.asked_of(SESSIONS) == ["redis.memory"]
    # Judged against everything looked at, but run only on what the focus depends on.
    env = ScriptedEnvironment()
    await run_candidates(
        [candidate(book, entity(trees, CACHE), params=params)],
        env,
        None,
        [sessions],
        dependencies=[],
    )
    assert env.asked_of(SESSIONS) == []


async def test_a_candidate_about_no_entity_may_read_any_target() -> None:
    env = ScriptedEnvironment()
    book = two_redis_runbook("both", "{check: memory, status: fail}")
    anywhere = candidate(book, None, "text", params={"cache": "cache", "other": "sessions"})
    await run_candidates([anywhere], env)
    assert sorted(plan.node_id for plan in env.asked) == [CACHE, SESSIONS]


async def test_a_check_the_sweep_already_ran_is_answered_from_it() -> None:
    env = ScriptedEnvironment()
    trees = shop(cache=Health.FAILING)
    scene = Scene(trees, [result(CACHE, "redis.memory", FAIL)])
    findings = await run_candidates([candidate(FULL, entity(trees, CACHE))], env, scene.known)
    assert env.asked == []
    assert findings[0].cause.verdict is CONFIRMED


async def test_the_sweeps_answer_about_the_entity_answers_the_check_narrowed_to_it() -> None:
    env = ScriptedEnvironment()
    trees = shop(api=Health.FAILING)
    scene = Scene(trees, [result(API, "compose.running", FAIL)])
    book = compose_runbook("api-down", "compose.running")
    findings = await run_candidates(
        [candidate(book, entity(trees, API), params={})], env, scene.known
    )
    assert env.asked == []
    assert findings[0].cause.verdict is CONFIRMED


async def test_evidence_the_sweep_saw_on_a_part_of_the_entity_grounds_a_cause_about_it() -> None:
    """The sweep's keys check of the cache's db0 answers a runbook about the cache."""
    env = ScriptedEnvironment()
    trees = shop(cache=Health.FAILING)
    scene = Scene(trees, [result(f"{CACHE}/db0", "redis.keys", FAIL)])
    book = runbook(
        "id: keys-db0\ntitle: keys of db0\napplies_to: [redis.instance]\n"
        "params: {cache: {target: redis}}\n"
        "checks: [{id: keys, use: redis.keys, with: {db: 0}}]\n"
        "causes: [{id: many, title: many, evidence: [{check: keys, status: fail}]}]\n"
    )
    findings = await run_candidates([candidate(book, entity(trees, CACHE))], env, scene.known)
    assert env.asked == []
    assert findings[0].diagnosis.results["keys"].node_id == f"{CACHE}/db0"
    assert (findings[0].cause.verdict, findings[0].cause.caveat) == (CONFIRMED, "")


async def test_one_check_asked_by_several_runbooks_alike_is_run_once() -> None:
    env = ScriptedEnvironment({(CACHE, "redis.memory"): (FAIL, {})})
    cache = entity(shop(cache=Health.FAILING), CACHE)
    books = [
        redis_runbook("plain", "{check: memory, status: fail}"),
        runbook(
            "id: with-default\ntitle: with default\napplies_to: [redis.instance]\n"
            "params: {cache: {target: redis}}\n"
            "checks: [{id: memory, use: redis.memory, with: {warn_ratio: 0.8}}]\n"
            "causes: [{id: full, title: full, evidence: [{check: memory, status: fail}]}]\n"
        ),
        runbook(
            "id: stricter\ntitle: stricter\napplies_to: [redis.instance]\n"
            "params: {cache: {target: redis}}\n"
            "checks: [{id: memory, use: redis.memory, with: {warn_ratio: 0.5}}]\n"
            "causes: [{id: full, title: full, evidence: [{check: memory, status: fail}]}]\n"
        ),
    ]
    findings = await run_candidates([candidate(book, cache) for book in books], env)
    assert [dict(plan.call.params) for plan in env.asked] == [{}, {"warn_ratio": 0.5}]
    assert [finding.cause.verdict for finding in findings] == [CONFIRMED] * 3


async def test_at_most_eight_runbooks_run_together_and_every_one_runs() -> None:
    env = ScriptedEnvironment()
    env.hold = asyncio.Event()
    cache = entity(shop(cache=Health.FAILING), CACHE)
    books = [
        runbook(
            f"id: keys-{index}\ntitle: keys {index}\napplies_to: [redis.instance]\n"
            "params: {cache: {target: redis}}\n"
            f"checks: [{{id: keys, use: redis.keys, with: {{pattern: 'k{index}:*'}}}}]\n"
            "causes: [{id: many, title: many, evidence: [{check: keys, status: fail}]}]\n"
        )
        for index in range(AT_ONCE + 3)
    ]
    running = asyncio.ensure_future(run_candidates([candidate(book, cache) for book in books], env))
    for _ in range(200):  # until nothing more can start while the checks are held
        await asyncio.sleep(0)
        if env.waiting == AT_ONCE:
            break
    for _ in range(50):
        await asyncio.sleep(0)
    assert (AT_ONCE, env.waiting) == (8, 8)
    env.hold.set()
    findings = await running
    assert len(env.asked) == len(findings) == AT_ONCE + 3


async def test_a_runbook_that_cannot_be_bound_says_why_and_finds_nothing() -> None:
    env = ScriptedEnvironment()
    cache = entity(shop(cache=Health.FAILING), CACHE)
    unbindable = candidate(FULL, cache, params={"cache": "nowhere"})
    assert await run_candidates([unbindable], env) == []
    assert unbindable.unbound == (
        "cache='nowhere' is not a redis target of prod; redis targets: cache, sessions"
    )
    unbound = candidate(FULL, cache, params=None)
    unbound.params = None  # ran with nothing bound: the runbook binds what it can alone
    assert await run_candidates([unbound], env) == []
    assert "redis-full needs cache" in unbound.unbound


async def test_a_runbook_without_causes_finds_nothing() -> None:
    book = runbook(
        "id: look-only\ntitle: look only\napplies_to: [redis.instance]\n"
        "params: {cache: {target: redis}}\n"
        "checks: [{id: memory, use: redis.memory}]\n"
    )
    env = ScriptedEnvironment()
    assert await run_candidates([candidate(book, entity(shop(), CACHE))], env) == []
    assert env.asked_of(CACHE) == ["redis.memory"]


# -- which candidates run ----------------------------------------------------------------------


def test_the_best_bound_candidates_run_and_a_few_failing_dependencies_beyond_them() -> None:
    cache = entity(shop(), CACHE)
    best = [candidate(FULL, cache, score=100.0 - index) for index in range(RUN_LIMIT + 2)]
    beyond = [candidate(FULL, cache, "dependency", score=1.0) for _ in range(DEPENDENCIES_RUN + 1)]
    unbound = candidate(FULL, cache, score=200.0, params=None)
    unbound.params = None
    cannot_run = candidate(FULL, cache, score=200.0)
    cannot_run.runnable = False
    no_score = candidate(FULL, cache, "dependency", score=0.0)
    run = chosen([unbound, cannot_run, *best, no_score, *beyond])
    assert run == [*best[:RUN_LIMIT], *beyond[:DEPENDENCIES_RUN]]
    assert (RUN_LIMIT, DEPENDENCIES_RUN) == (12, 3)


def test_a_candidate_whose_signature_caught_what_the_error_names_runs_beyond_the_best() -> None:
    cache = entity(shop(), CACHE)
    best = [candidate(FULL, cache, score=100.0 - index) for index in range(RUN_LIMIT)]
    named_by_error = candidate(FULL, cache, "text", score=1.0)
    named_by_error.caught = {"database": "reports"}
    said_only = candidate(FULL, cache, "text", score=2.0)
    assert chosen([*best, said_only, named_by_error]) == [*best, named_by_error]


def test_a_candidate_whose_signature_knows_the_pasted_error_runs_beyond_the_best() -> None:
    """`cannot execute INSERT in a read-only transaction` names nothing, but is the error of one
    runbook: that runbook runs, however many candidates about the named service rank above."""
    cache = entity(shop(), CACHE)
    best = [candidate(FULL, cache, score=100.0 - index) for index in range(RUN_LIMIT)]
    known_error = candidate(FULL, cache, "text", score=1.0)
    known_error.signed = True
    said_only = candidate(FULL, cache, "text", score=2.0)
    assert chosen([*best, said_only, known_error]) == [*best, known_error]


def test_what_the_words_point_at_runs_beyond_the_best_after_the_dependencies() -> None:
    """A runbook about the account the words point at ("the alarm paged nobody") is not
    crowded out by every runbook of the api that was named; the failing dependencies first."""
    cache = entity(shop(), CACHE)
    best = [candidate(FULL, cache, score=100.0 - index) for index in range(RUN_LIMIT)]
    pointed = candidate(FULL, cache, "text", score=3.0, said=3.0)
    unpointed = candidate(FULL, cache, "text", score=4.0)
    assert chosen([*best, unpointed, pointed]) == [*best, pointed]
    dependencies = [candidate(FULL, cache, "dependency", score=1.0) for _ in range(3)]
    assert chosen([*best, pointed, *dependencies]) == [*best, *dependencies]


def test_a_bound_runbook_with_no_parameters_still_runs() -> None:
    alone = candidate(FULL, None, "text", score=0.5, params={})
    assert chosen([alone]) == [alone]
