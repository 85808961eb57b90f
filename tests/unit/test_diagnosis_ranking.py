"""A diagnosis judges, ranks and reports what its runbooks find (runbooks/diagnosis.py), on
trees and check results built by hand: no server is reached, every check answers what the test
says (tests/unit/diagnosis_scenes.py).

Judged: a cause is shown as found only when its evidence was seen on the entity diagnosed and
shows something wrong there (or the operator's words point at its runbook). Ranked: what is
about the entity the operator means first; confirmed before likely before unknown, a decisive
fact counting as confirmation; a failing dependency before the symptom it causes; a cause a
`deeper` runbook explains after its explanation. Run: a bounded number of runbooks at once,
each narrowed to its entity and kept off targets not tied to it, a check asked twice run once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence

import pytest

from providers.contract import CheckCall, CheckResult, CheckStatus, Health, Node
from providers.environment import PlannedCheck
from runbooks import diagnosis
from runbooks.candidates import Candidate
from runbooks.diagnosis import (
    AT_ONCE,
    DEPENDENCIES_RUN,
    RUN_LIMIT,
    Finding,
    Judged,
    Report,
    chosen,
    deeper_candidates,
    diagnose_symptom,
    explained,
    judge,
    narrowed,
    plan_diagnosis,
    report_document,
    run_candidates,
)
from runbooks.engine import CauseAssessment, Diagnosis, Verdict, diagnose
from runbooks.entities import Entity
from runbooks.evidence import ConditionResult
from runbooks.model import Condition, Runbook
from runbooks.scene import Scene
from tests.unit.diagnosis_scenes import (
    API,
    CACHE,
    DB,
    ENGINE,
    ERROR,
    FAIL,
    PASS,
    SESSIONS,
    SKIPPED,
    WARN,
    WORKER,
    ScriptedEnvironment,
    by_node,
    candidate,
    entity,
    redis_runbook,
    redis_tree,
    result,
    runbook,
    shop,
)

CONFIRMED, LIKELY, UNKNOWN = Verdict.CONFIRMED, Verdict.LIKELY, Verdict.UNKNOWN

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


# -- judging: about the entity, and showing something wrong ------------------------------------


async def test_a_cause_seen_failing_on_its_own_entity_is_confirmed_with_no_caveat() -> None:
    env = ScriptedEnvironment({(CACHE, "redis.memory"): (FAIL, {})})
    trees = shop(cache=Health.FAILING)
    finding = await only_finding(env, candidate(FULL, entity(trees, CACHE)))
    assert finding.cause.verdict is CONFIRMED
    assert finding.cause.caveat == ""
    assert finding.cause.cause.id == "full"
    assert [item.explanation for item in finding.cause.evidence] == ["the memory check failed"]
    assert [cause.verdict for cause in finding.presented().causes] == [CONFIRMED]


async def test_a_cause_seen_only_on_another_target_is_shown_unknown_and_says_why() -> None:
    env = ScriptedEnvironment({(SESSIONS, "redis.memory"): (FAIL, {})})
    trees = shop(cache=Health.FAILING)
    book = two_redis_runbook("elsewhere", "{check: other_memory, status: fail}")
    on_cache = candidate(book, entity(trees, CACHE), params={"cache": "cache", "other": "sessions"})
    # What the cache is tied to is read (sessions), but nothing held on the cache itself.
    finding = await only_finding(env, on_cache, related=[entity(trees, SESSIONS)])
    assert finding.cause.assessment.verdict is CONFIRMED  # what the runbook alone concludes
    assert finding.cause.verdict is UNKNOWN
    assert finding.cause.caveat == ELSEWHERE_CAVEAT
    assert finding.strength == 1
    # Presented as judged: the fixes of an unknown cause want --force.
    presented = finding.presented()
    assert [cause.verdict for cause in presented.causes] == [UNKNOWN]
    assert presented.runbook is book and presented.params == on_cache.params


async def test_evidence_on_the_entity_and_on_what_it_depends_on_grounds_the_cause() -> None:
    env = ScriptedEnvironment(
        {(CACHE, "redis.memory"): (FAIL, {}), (SESSIONS, "redis.memory"): (FAIL, {})}
    )
    trees = shop(cache=Health.FAILING)
    book = two_redis_runbook(
        "both", "{check: memory, status: fail}", "{check: other_memory, status: fail}"
    )
    params = {"cache": "cache", "other": "sessions"}
    on_cache = candidate(book, entity(trees, CACHE), params=params)
    diagnosed = await diagnose(book, env, params)
    tied = judge(on_cache, diagnosed, [entity(trees, SESSIONS)], {})
    assert tied.cause.verdict is CONFIRMED and tied.cause.grounded
    # The same evidence, the other target not tied to the cache: seen partly elsewhere.
    untied = judge(on_cache, diagnosed, [], {})
    assert untied.cause.verdict is UNKNOWN
    assert untied.cause.caveat == ELSEWHERE_CAVEAT


async def test_a_cause_about_no_entity_is_judged_on_its_evidence_alone() -> None:
    env = ScriptedEnvironment({(SESSIONS, "redis.memory"): (FAIL, {})})
    anywhere = candidate(FULL, None, "text", params={"cache": "sessions"}, said=1.0)
    finding = await only_finding(env, anywhere)
    assert finding.cause.verdict is CONFIRMED
    assert env.asked_of(SESSIONS) == ["redis.memory"]


async def test_a_fault_on_an_entity_the_sweep_saw_healthy_is_not_credible_unasked() -> None:
    """The memory check fails as the runbook runs, but the sweep saw the cache healthy and the
    operator's words do not point at the runbook: something else is meant."""
    env = ScriptedEnvironment({(CACHE, "redis.memory"): (FAIL, {})})
    trees = shop()
    finding = await only_finding(env, candidate(FULL, entity(trees, CACHE)))
    assert finding.cause.verdict is UNKNOWN
    assert finding.cause.caveat == HEALTHY_CAVEAT


@pytest.mark.parametrize(
    ("said", "live_said"), [(0.5, 0.0), (0.0, 0.5)], ids=["the symptom", "what it shows"]
)
async def test_words_that_point_at_the_runbook_make_a_healthy_entitys_fault_credible(
    said: float, live_said: float
) -> None:
    env = ScriptedEnvironment({(CACHE, "redis.memory"): (FAIL, {})})
    trees = shop()
    pointed = candidate(FULL, entity(trees, CACHE), said=said, live_said=live_said)
    finding = await only_finding(env, pointed)
    assert finding.cause.verdict is CONFIRMED


async def test_a_check_of_the_entity_that_warned_in_the_sweep_makes_it_troubled() -> None:
    env = ScriptedEnvironment({(CACHE, "redis.memory"): (FAIL, {})})
    trees = shop()  # healthy in the tree, but a check of its database warned
    sweep = [result(f"{CACHE}/db0", "redis.keys", WARN)]
    finding = await only_finding(env, candidate(FULL, entity(trees, CACHE)), sweep=sweep)
    assert finding.cause.verdict is CONFIRMED


PASSING_FACT = redis_runbook("redis-busy", "{check: memory, fact: used_ratio, gt: 0.5}")


async def test_a_cause_resting_only_on_passing_checks_needs_the_operators_words() -> None:
    env = ScriptedEnvironment({(CACHE, "redis.memory"): (PASS, {"used_ratio": 0.7})})
    trees = shop(cache=Health.FAILING)
    on_cache = entity(trees, CACHE)
    unasked = await only_finding(env, candidate(PASSING_FACT, on_cache))
    assert unasked.cause.verdict is UNKNOWN
    assert unasked.cause.caveat == HEALTHY_CAVEAT
    asked = await only_finding(env, candidate(PASSING_FACT, on_cache, said=0.5))
    assert asked.cause.verdict is CONFIRMED


@pytest.mark.parametrize(
    ("status", "verdict"),
    [(FAIL, CONFIRMED), (WARN, CONFIRMED), (ERROR, CONFIRMED), (PASS, UNKNOWN)],
)
async def test_a_check_that_fails_warns_or_errs_shows_something_wrong_and_a_pass_does_not(
    status: CheckStatus, verdict: Verdict
) -> None:
    book = redis_runbook("any-state", f"{{check: memory, status: [{status.value}]}}")
    env = ScriptedEnvironment({(CACHE, "redis.memory"): (status, {})})
    trees = shop(cache=Health.FAILING)
    finding = await only_finding(env, candidate(book, entity(trees, CACHE)))
    assert finding.cause.verdict is verdict


def compose_runbook(runbook_id: str, check: str) -> Runbook:
    return runbook(
        f"id: {runbook_id}\ntitle: {runbook_id}\napplies_to: [compose.service]\n"
        "params:\n  engine: {target: compose}\n"
        f"checks:\n  - {{id: look, use: {check}}}\n"
        "causes:\n  - id: seen\n    title: seen\n"
        "    evidence:\n      - {check: look, status: [fail, warn]}\n"
    )


@pytest.mark.parametrize(
    ("check", "verdict"), [("compose.resources", CONFIRMED), ("compose.health", UNKNOWN)]
)
async def test_a_sampled_check_the_sweep_left_out_may_find_a_healthy_service_wrong(
    check: str, verdict: Verdict
) -> None:
    """docker stats is not in the diagnosis's sweep: "healthy" says nothing of its limits."""
    env = ScriptedEnvironment({(ENGINE, check): (WARN, {})})
    trees = shop()
    look = candidate(compose_runbook("api-look", check), entity(trees, API), params={})
    finding = await only_finding(env, look)
    assert finding.cause.verdict is verdict


async def test_a_dependency_is_a_cause_only_when_something_wrong_is_seen_on_it() -> None:
    trees = shop(cache=Health.FAILING)
    on_cache = entity(trees, CACHE)
    passing = ScriptedEnvironment({(CACHE, "redis.memory"): (PASS, {"used_ratio": 0.9})})
    words_only = candidate(PASSING_FACT, on_cache, "dependency", said=2.0)
    assert (await only_finding(passing, words_only)).cause.verdict is UNKNOWN
    failing = ScriptedEnvironment({(CACHE, "redis.memory"): (FAIL, {})})
    healthy = entity(shop(), CACHE)  # failing as the runbook runs, healthy in the sweep
    fault = await only_finding(failing, candidate(FULL, healthy, "dependency"))
    assert fault.cause.verdict is CONFIRMED


async def test_a_runbooks_causes_are_shown_by_judged_verdict_keeping_its_order_on_ties() -> None:
    book = runbook(
        """
        id: several
        title: several
        applies_to: [redis.instance]
        params:
          cache: {target: redis}
          other: {target: redis}
        checks:
          - {id: memory, use: redis.memory, on: cache}
          - {id: other_memory, use: redis.memory, on: other}
          - {id: keys, use: redis.keys, on: cache}
        causes:
          - id: seen-elsewhere
            title: seen elsewhere
            evidence: [{check: other_memory, status: fail}]
          - id: partly
            title: partly
            evidence:
              - {check: memory, status: fail}
              - {check: memory, fact: oom_errors, gt: 5}
          - id: first-here
            title: first here
            evidence: [{check: memory, status: fail}]
          - id: second-here
            title: second here
            evidence: [{check: keys, status: fail}]
        """
    )
    env = ScriptedEnvironment(
        {
            (CACHE, "redis.memory"): (FAIL, {"oom_errors": 1}),
            (CACHE, "redis.keys"): (FAIL, {}),
            (SESSIONS, "redis.memory"): (FAIL, {}),
        }
    )
    trees = shop(cache=Health.FAILING)
    params = {"cache": "cache", "other": "sessions"}
    on_cache = candidate(book, entity(trees, CACHE), params=params)
    finding = await only_finding(env, on_cache, related=[entity(trees, SESSIONS)])
    assert [(item.cause.id, item.verdict) for item in finding.causes] == [
        ("first-here", CONFIRMED),
        ("second-here", CONFIRMED),
        ("partly", LIKELY),
        ("seen-elsewhere", UNKNOWN),
    ]
    assert [item.cause.id for item in finding.presented().causes] == [
        "first-here",
        "second-here",
        "partly",
        "seen-elsewhere",
    ]


# -- ranking across runbooks -------------------------------------------------------------------


def named_redis(runbook_id: str, *evidence: str, checks: str = "memory: redis.memory") -> Runbook:
    return redis_runbook(runbook_id, *evidence, checks=checks)


async def ranked(
    env: ScriptedEnvironment, candidates: Sequence[Candidate], sweep: Sequence[CheckResult] = ()
) -> list[str]:
    findings = await run_candidates(candidates, env, None, (), by_node(sweep))
    return [finding.candidate.runbook.id for finding in findings]


CONFIRMED_BOOK = named_redis("b-confirmed", "{check: memory, status: fail}")
LIKELY_BOOK = named_redis(
    "a-likely", "{check: memory, status: fail}", "{check: memory, fact: oom_errors, gt: 5}"
)


async def test_a_confirmed_cause_ranks_before_a_likely_one() -> None:
    env = ScriptedEnvironment({(CACHE, "redis.memory"): (FAIL, {"oom_errors": 1})})
    cache = entity(shop(cache=Health.FAILING), CACHE)
    order = await ranked(env, [candidate(LIKELY_BOOK, cache), candidate(CONFIRMED_BOOK, cache)])
    assert order == ["b-confirmed", "a-likely"]


async def test_what_the_operator_named_ranks_before_a_stronger_cause_of_something_else() -> None:
    env = ScriptedEnvironment(
        {(CACHE, "redis.memory"): (FAIL, {"oom_errors": 1}), (SESSIONS, "redis.memory"): (FAIL, {})}
    )
    trees = shop(cache=Health.FAILING)
    sweep = [result(SESSIONS, "redis.memory", FAIL)]
    failing_elsewhere = candidate(CONFIRMED_BOOK, entity(trees, SESSIONS), "failing", 50.0)
    named = candidate(LIKELY_BOOK, entity(trees, CACHE), "named", 1.0)
    findings = await run_candidates([failing_elsewhere, named], env, None, (), by_node(sweep))
    assert verdicts(findings) == [
        ("a-likely", CACHE, LIKELY),
        ("b-confirmed", SESSIONS, CONFIRMED),
    ]
    assert [finding.relevant for finding in findings] == [True, False]


@pytest.mark.parametrize("role", ["named", "selected", "dependency"])
async def test_a_cause_about_the_named_selected_or_depended_on_entity_is_relevant(
    role: str,
) -> None:
    env = ScriptedEnvironment(
        {(CACHE, "redis.memory"): (FAIL, {}), (SESSIONS, "redis.memory"): (FAIL, {})}
    )
    trees = shop(cache=Health.FAILING)
    sweep = [result(SESSIONS, "redis.memory", FAIL)]
    other = candidate(CONFIRMED_BOOK, entity(trees, SESSIONS), "failing", 50.0)
    meant = candidate(LIKELY_BOOK, entity(trees, CACHE), role, 1.0)
    env.answers[(CACHE, "redis.memory")] = (FAIL, {"oom_errors": 1})
    assert await ranked(env, [other, meant], sweep) == ["a-likely", "b-confirmed"]


async def test_a_runbook_the_symptom_points_to_is_relevant_whatever_it_is_about() -> None:
    env = ScriptedEnvironment(
        {(CACHE, "redis.memory"): (FAIL, {"oom_errors": 1}), (SESSIONS, "redis.memory"): (FAIL, {})}
    )
    trees = shop(cache=Health.FAILING)
    sweep = [result(SESSIONS, "redis.memory", FAIL)]
    other = candidate(CONFIRMED_BOOK, entity(trees, SESSIONS), "failing", 50.0)
    pointed = candidate(LIKELY_BOOK, entity(trees, CACHE), "failing", 1.0, said=0.5)
    assert await ranked(env, [other, pointed], sweep) == ["a-likely", "b-confirmed"]


DECISIVE_BOOK = runbook(
    """
    id: b-decisive
    title: decisive
    applies_to: [redis.instance]
    params:
      cache: {target: redis}
    checks:
      - {id: memory, use: redis.memory}
      - {id: persistence, use: redis.persistence}
    causes:
      - id: refused
        title: writes refused
        evidence:
          - {check: memory, fact: reason, equals: oom, decisive: true}
          - {check: persistence, status: fail}
    """
)


async def test_a_decisive_fact_whose_corroboration_could_not_run_counts_as_confirmed() -> None:
    """Likely only because the check that would corroborate it errored: it weighs as a
    confirmed cause, and names its cause better than one that rests on a count."""
    env = ScriptedEnvironment(
        {
            (CACHE, "redis.memory"): (FAIL, {"reason": "oom", "used_ratio": 0.99}),
            (CACHE, "redis.persistence"): (ERROR, {}),
        }
    )
    cache = entity(shop(cache=Health.FAILING), CACHE)
    count = named_redis("a-count", "{check: memory, fact: used_ratio, gt: 0.9}")
    findings = await run_candidates(
        [candidate(count, cache, score=90.0), candidate(DECISIVE_BOOK, cache, score=1.0)], env
    )
    assert verdicts(findings) == [("b-decisive", CACHE, LIKELY), ("a-count", CACHE, CONFIRMED)]
    decisive, counted = findings
    assert (decisive.strength, decisive.weight, decisive.decisive) == (2, 3, True)
    assert (counted.strength, counted.weight, counted.decisive) == (3, 3, False)


async def test_a_decisive_fact_that_holds_under_an_unknown_cause_weighs_nothing_more() -> None:
    book = runbook(
        """
        id: decisive-elsewhere
        title: decisive elsewhere
        applies_to: [redis.instance]
        params:
          cache: {target: redis}
          other: {target: redis}
        checks:
          - {id: other_memory, use: redis.memory, on: other}
        causes:
          - id: refused
            title: refused
            evidence: [{check: other_memory, fact: reason, equals: oom, decisive: true}]
        """
    )
    env = ScriptedEnvironment({(SESSIONS, "redis.memory"): (FAIL, {"reason": "oom"})})
    trees = shop(cache=Health.FAILING)
    on_cache = candidate(book, entity(trees, CACHE), params={"cache": "cache", "other": "sessions"})
    finding = await only_finding(env, on_cache, related=[entity(trees, SESSIONS)])
    assert finding.cause.verdict is UNKNOWN
    assert (finding.decisive, finding.weight) == (True, 1)


async def test_a_failing_dependency_ranks_before_the_named_symptom_it_causes() -> None:
    env = ScriptedEnvironment(
        {(CACHE, "redis.memory"): (FAIL, {}), (DB, "postgres.connections"): (FAIL, {})}
    )
    trees = shop(cache=Health.FAILING, database=Health.FAILING)
    symptom = candidate(
        named_redis("a-named", "{check: memory, status: fail}"), entity(trees, CACHE), "named", 40.0
    )
    database = candidate(
        runbook(
            """
            id: z-database-full
            title: database full
            applies_to: [postgres.server]
            params: {db: {target: postgres}}
            checks: [{id: connections, use: postgres.connections}]
            causes:
              - id: full
                title: full
                evidence: [{check: connections, status: fail}]
            """
        ),
        entity(trees, DB),
        "dependency",
        1.0,
        params={"db": "db"},
    )
    assert await ranked(env, [symptom, database]) == ["z-database-full", "a-named"]


async def test_a_cause_about_what_the_pasted_error_names_ranks_before_the_named_service() -> None:
    """The error names a database; what the operator named fails for reasons of its own."""
    env = ScriptedEnvironment(
        {(CACHE, "redis.memory"): (FAIL, {}), (DB, "postgres.connections"): (FAIL, {})}
    )
    trees = shop(cache=Health.FAILING)
    named = candidate(
        named_redis("a-named", "{check: memory, status: fail}"), entity(trees, CACHE), "named", 40.0
    )
    book = runbook(
        """
        id: z-database-missing
        title: database missing
        applies_to: [postgres.server]
        params: {db: {target: postgres}}
        checks: [{id: connections, use: postgres.connections}]
        causes:
          - id: missing
            title: missing
            evidence: [{check: connections, status: fail}]
        """
    )
    caught = candidate(book, entity(trees, DB), "text", 1.0, params={"db": "db"})
    words_only = candidate(book, entity(trees, DB), "text", 1.0, params={"db": "db"})
    caught.caught = {"database": "reports"}
    caught.said = words_only.said = 10.0  # the words point at it, both: one named a database
    assert await ranked(env, [named, caught]) == ["z-database-missing", "a-named"]
    assert await ranked(env, [named, words_only]) == ["a-named", "z-database-missing"]


async def test_a_likely_failing_dependency_also_ranks_before_a_likely_named_symptom() -> None:
    env = ScriptedEnvironment(
        {
            (CACHE, "redis.memory"): (FAIL, {"oom_errors": 1}),
            (SESSIONS, "redis.memory"): (FAIL, {"oom_errors": 1}),
        }
    )
    trees = shop(cache=Health.FAILING)
    sweep = [result(SESSIONS, "redis.memory", FAIL)]
    named = candidate(LIKELY_BOOK, entity(trees, CACHE), "named", 40.0)
    dependency = candidate(
        named_redis(
            "z-likely", "{check: memory, status: fail}", "{check: memory, fact: oom_errors, gt: 5}"
        ),
        entity(trees, SESSIONS),
        "dependency",
        1.0,
    )
    assert await ranked(env, [named, dependency], sweep) == ["z-likely", "a-likely"]


async def test_unknown_causes_rank_by_fit_not_by_what_they_are_about() -> None:
    """Nothing found: being about a dependency is no reason to come first."""
    # Neither Redis answers: nothing is found, nothing ruled out.
    env = ScriptedEnvironment(
        {(CACHE, "redis.memory"): (ERROR, {}), (SESSIONS, "redis.memory"): (ERROR, {})}
    )
    trees = shop(cache=Health.FAILING)
    sweep = [result(SESSIONS, "redis.memory", FAIL)]
    book = named_redis("a-maybe", "{check: memory, status: fail}")
    dependency = candidate(book, entity(trees, SESSIONS), "dependency", 1.0)
    named = candidate(
        named_redis("b-maybe", "{check: memory, status: fail}"),
        entity(trees, CACHE),
        "named",
        30.0,
    )
    findings = await run_candidates([dependency, named], env, None, (), by_node(sweep))
    assert verdicts(findings) == [("b-maybe", CACHE, UNKNOWN), ("a-maybe", SESSIONS, UNKNOWN)]


async def test_a_failing_entity_whose_state_shares_the_symptoms_words_ranks_as_if_named() -> None:
    env = ScriptedEnvironment(
        {(CACHE, "redis.memory"): (FAIL, {}), (SESSIONS, "redis.memory"): (FAIL, {})}
    )
    trees = [
        redis_tree("cache", 6379, Health.FAILING),
        redis_tree("sessions", 6380, Health.FAILING),
    ]
    # Neither is a store here for the ranking: both are looked at through their database.
    linked = candidate(
        named_redis("b-linked", "{check: memory, status: fail}"),
        entity(trees, f"{CACHE}/db0"),
        "failing",
        1.0,
        linked=True,
    )
    unlinked = candidate(
        named_redis("a-unlinked", "{check: memory, status: fail}"),
        entity(trees, f"{SESSIONS}/db0"),
        "failing",
        50.0,
    )
    assert await ranked(env, [unlinked, linked]) == ["b-linked", "a-unlinked"]
    # Linked, it ranks as named does, not as a dependency would, even when the words point
    # at its runbook more.
    pointed = candidate(
        named_redis("b-pointed", "{check: memory, status: fail}"),
        entity(trees, f"{CACHE}/db0"),
        "failing",
        1.0,
        said=0.5,
        linked=True,
    )
    dependency = candidate(
        named_redis("c-dependency", "{check: memory, status: fail}"),
        entity(trees, SESSIONS),
        "dependency",
        0.5,
    )
    assert await ranked(env, [pointed, dependency]) == ["c-dependency", "b-pointed"]


async def test_with_nothing_named_a_failing_store_ranks_before_a_failing_workload() -> None:
    """A cascade whose edges are not known: the store is upstream of what fails with it."""
    env = ScriptedEnvironment(
        {(CACHE, "redis.memory"): (FAIL, {}), (ENGINE, "compose.health"): (FAIL, {})}
    )
    trees = shop(cache=Health.FAILING, api=Health.FAILING)
    workload = candidate(
        compose_runbook("a-api", "compose.health"), entity(trees, API), "failing", 50.0, params={}
    )
    store = candidate(
        named_redis("z-store", "{check: memory, status: fail}"),
        entity(trees, CACHE),
        "failing",
        1.0,
    )
    assert await ranked(env, [workload, store]) == ["z-store", "a-api"]


async def test_between_two_confirmed_causes_the_decisive_one_ranks_first() -> None:
    env = ScriptedEnvironment({(CACHE, "redis.memory"): (FAIL, {"reason": "oom"})})
    cache = entity(shop(cache=Health.FAILING), CACHE)
    plain = named_redis("a-plain", "{check: memory, status: fail}")
    decisive = named_redis(
        "b-decisive", "{check: memory, fact: reason, equals: oom, decisive: true}"
    )
    order = await ranked(
        env, [candidate(plain, cache, score=90.0), candidate(decisive, cache, score=1.0)]
    )
    assert order == ["b-decisive", "a-plain"]


@pytest.mark.parametrize(
    ("said", "live_said", "first"),
    [(1.0, 1.5, "a-said"), (1.0, 2.5, "b-shown"), (0.0, 0.5, "b-shown")],
)
async def test_the_symptoms_words_weigh_twice_what_the_entity_shows(
    said: float, live_said: float, first: str
) -> None:
    env = ScriptedEnvironment({(CACHE, "redis.memory"): (FAIL, {})})
    cache = entity(shop(cache=Health.FAILING), CACHE)
    by_words = candidate(
        named_redis("a-said", "{check: memory, status: fail}"), cache, score=1.0, said=said
    )
    by_state = candidate(
        named_redis("b-shown", "{check: memory, status: fail}"),
        cache,
        score=0.5,
        live_said=live_said,
    )
    assert (await ranked(env, [by_words, by_state]))[0] == first


async def test_more_facts_that_hold_rank_first_counting_each_part_of_an_any_of() -> None:
    env = ScriptedEnvironment(
        {(CACHE, "redis.memory"): (FAIL, {"used_ratio": 0.99, "oom_errors": 9})}
    )
    cache = entity(shop(cache=Health.FAILING), CACHE)
    one_fact = named_redis(
        "a-one", "{check: memory, status: fail}", "{check: memory, fact: used_ratio, gt: 0.9}"
    )
    two_ways = named_redis(
        "b-two",
        "{check: memory, status: fail}",
        "{any_of: [{check: memory, fact: used_ratio, gt: 0.9},"
        " {check: memory, fact: oom_errors, gt: 0}, {check: memory, fact: evicted, gt: 0}]}",
    )
    order = await ranked(
        env, [candidate(one_fact, cache, score=90.0), candidate(two_ways, cache, score=1.0)]
    )
    assert order == ["b-two", "a-one"]
    statuses_only = named_redis("c-status", "{check: memory, status: fail}")
    order = await ranked(
        env, [candidate(statuses_only, cache, score=90.0), candidate(one_fact, cache, score=1.0)]
    )
    assert order == ["a-one", "c-status"]


async def test_otherwise_equal_causes_rank_by_score_then_by_runbook_id() -> None:
    env = ScriptedEnvironment({(CACHE, "redis.memory"): (FAIL, {})})
    cache = entity(shop(cache=Health.FAILING), CACHE)
    books = [named_redis(name, "{check: memory, status: fail}") for name in ("c", "a", "b")]
    chosen_ones = [
        candidate(books[0], cache, score=5.0),
        candidate(books[1], cache, score=1.0),
        candidate(books[2], cache, score=1.0),
    ]
    assert await ranked(env, chosen_ones) == ["c", "a", "b"]


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
        named_redis("plain", "{check: memory, status: fail}"),
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


def test_a_bound_runbook_with_no_parameters_still_runs() -> None:
    alone = candidate(FULL, None, "text", score=0.5, params={})
    assert chosen([alone]) == [alone]


# -- deeper runbooks: what finds why a cause happens -------------------------------------------

WHY = redis_runbook(
    "redis-why", "{check: keys, status: fail}", cause="no-ttl", checks="keys: redis.keys"
)
EXPLAINED = redis_runbook("redis-full", "{check: memory, status: fail}", deeper=["redis-why"])


async def test_a_cause_found_sends_for_the_runbooks_that_find_why_on_the_same_entity() -> None:
    needs_value = runbook(
        "id: redis-since\ntitle: since\napplies_to: [redis.instance]\n"
        "params: {cache: {target: redis}, since: {}}\n"
        "checks: [{id: keys, use: redis.keys}]\n"
        "causes: [{id: old, title: old, evidence: [{check: keys, status: fail}]}]\n"
    )
    ran = redis_runbook("redis-ran", "{check: memory, status: fail}")
    book = redis_runbook(
        "redis-full",
        "{check: memory, status: fail}",
        deeper=["redis-since", "absent-here", "redis-ran", "redis-why"],
    )
    env = ScriptedEnvironment({(CACHE, "redis.memory"): (FAIL, {})})
    cache = entity(shop(cache=Health.FAILING), CACHE)
    full = candidate(book, cache, "dependency", 7.5, said=0.5, live_said=0.25, linked=True)
    findings = await run_candidates([full, candidate(ran, cache)], env)
    library = {item.id: item for item in (book, WHY, ran, needs_value)}
    found = deeper_candidates(findings, library, env, [])
    assert [(c.runbook.id, c.about, c.role, c.score) for c in found] == [
        ("redis-why", CACHE, "dependency", 7.5)
    ]
    why = found[0]
    assert why.entity is cache
    assert why.reasons == [*full.reasons, "finds why redis-full: full"]
    assert (why.said, why.live_said, why.linked) == (0.5, 0.25, True)
    assert why.params == {"cache": "cache"}


async def test_only_a_cause_found_sends_for_deeper_runbooks_and_each_once_per_entity() -> None:
    env = ScriptedEnvironment({(CACHE, "redis.memory"): (FAIL, {})})
    trees = shop(cache=Health.FAILING, database=Health.FAILING)
    cache = entity(trees, CACHE)
    also = redis_runbook("redis-also", "{check: memory, status: fail}", deeper=["redis-why"])
    findings = await run_candidates([candidate(EXPLAINED, cache), candidate(also, cache)], env)
    library = {item.id: item for item in (EXPLAINED, also, WHY)}
    assert [c.runbook.id for c in deeper_candidates(findings, library, env, [])] == ["redis-why"]
    # Whatever order the findings come in, each one found sends for its deeper runbooks.
    nothing_yet = await run_candidates([candidate(EXPLAINED, cache)], ScriptedEnvironment())
    found_later = deeper_candidates([*nothing_yet, findings[0]], library, env, [])
    assert [c.runbook.id for c in found_later] == ["redis-why"]
    # Nothing found: nowhere to look for why.
    quiet = ScriptedEnvironment()
    nothing = await run_candidates([candidate(EXPLAINED, cache)], quiet)
    assert deeper_candidates(nothing, library, quiet, []) == []


async def test_a_likely_cause_sends_for_deeper_runbooks_and_at_most_three_are_run() -> None:
    whys = [
        redis_runbook(
            f"redis-why-{index}", "{check: keys, status: fail}", checks="keys: redis.keys"
        )
        for index in range(DEPENDENCIES_RUN + 1)
    ]
    book = redis_runbook(
        "redis-full",
        "{check: memory, status: fail}",
        "{check: memory, fact: oom_errors, gt: 5}",
        deeper=[why.id for why in whys],
    )
    env = ScriptedEnvironment({(CACHE, "redis.memory"): (FAIL, {"oom_errors": 1})})
    cache = entity(shop(cache=Health.FAILING), CACHE)
    findings = await run_candidates([candidate(book, cache)], env)
    assert findings[0].cause.verdict is LIKELY
    library = {item.id: item for item in (book, *whys)}
    found = deeper_candidates(findings, library, env, [])
    assert [c.runbook.id for c in found] == [why.id for why in whys[:DEPENDENCIES_RUN]]


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


def cause_book(runbook_id: str, *deeper: str) -> Runbook:
    return redis_runbook(
        runbook_id, "{check: memory, status: fail}", cause=f"{runbook_id}-cause", deeper=deeper
    )


def test_what_finds_why_a_cause_happens_ranks_first_and_the_cause_says_so() -> None:
    cache = entity(shop(cache=Health.FAILING), CACHE)
    symptom = finding_of(cause_book("a-symptom", "z-why"), cache, CONFIRMED, score=90.0)
    why = finding_of(cause_book("z-why"), cache, CONFIRMED, score=1.0)
    ranked_findings = explained([symptom, why])
    assert [f.candidate.runbook.id for f in ranked_findings] == ["z-why", "a-symptom"]
    assert (symptom.explained_by, why.explained_by) == ("z-why: z-why-cause", "")


def test_a_guess_does_not_explain_a_certainty_but_a_decisive_fact_does() -> None:
    cache = entity(shop(cache=Health.FAILING), CACHE)
    symptom = finding_of(cause_book("a-symptom", "z-why"), cache, CONFIRMED, score=90.0)
    guess = finding_of(cause_book("z-why"), cache, LIKELY)
    assert [f.candidate.runbook.id for f in explained([symptom, guess])] == ["a-symptom", "z-why"]
    assert symptom.explained_by == ""
    decided = finding_of(cause_book("z-why"), cache, LIKELY, decisive=True)
    assert [f.candidate.runbook.id for f in explained([symptom, decided])] == ["z-why", "a-symptom"]
    assert symptom.explained_by == "z-why: z-why-cause"


def test_a_likely_cause_is_explained_by_a_confirmed_one() -> None:
    cache = entity(shop(cache=Health.FAILING), CACHE)
    symptom = finding_of(cause_book("a-symptom", "z-why"), cache, LIKELY, score=90.0)
    why = finding_of(cause_book("z-why"), cache, CONFIRMED)
    explained([symptom, why])
    assert symptom.explained_by == "z-why: z-why-cause"


def test_two_causes_that_name_each_other_explain_neither() -> None:
    cache = entity(shop(cache=Health.FAILING), CACHE)
    one = finding_of(cause_book("a-one", "b-other"), cache, CONFIRMED, score=90.0)
    other = finding_of(cause_book("b-other", "a-one"), cache, CONFIRMED)
    assert [f.candidate.runbook.id for f in explained([other, one])] == ["a-one", "b-other"]
    assert (one.explained_by, other.explained_by) == ("", "")


@pytest.mark.parametrize(
    ("symptom_on", "why_on", "explains"),
    [
        (CACHE, f"{CACHE}/db0", True),
        (f"{CACHE}/db0", CACHE, True),
        (CACHE, SESSIONS, False),
        (f"{CACHE}/db0", f"{SESSIONS}/db0", False),
        (None, None, True),
        (None, CACHE, False),
        (CACHE, None, False),
        (API, WORKER, False),  # two services of one engine are two things
    ],
)
def test_a_cause_is_explained_only_by_what_is_found_on_the_same_thing_or_inside_it(
    symptom_on: str | None, why_on: str | None, explains: bool
) -> None:
    trees = shop(cache=Health.FAILING)
    symptom = finding_of(
        cause_book("a-symptom", "z-why"),
        entity(trees, symptom_on) if symptom_on else None,
        CONFIRMED,
        score=90.0,
    )
    why = finding_of(cause_book("z-why"), entity(trees, why_on) if why_on else None, CONFIRMED)
    explained([symptom, why])
    assert symptom.explained_by == ("z-why: z-why-cause" if explains else "")


def test_an_unknown_cause_neither_explains_nor_is_explained() -> None:
    cache = entity(shop(cache=Health.FAILING), CACHE)
    unknown_symptom = finding_of(cause_book("a-symptom", "z-why"), cache, UNKNOWN)
    why = finding_of(cause_book("z-why"), cache, CONFIRMED)
    explained([unknown_symptom, why])
    assert unknown_symptom.explained_by == ""
    symptom = finding_of(cause_book("a-symptom", "z-why"), cache, CONFIRMED)
    unknown_why = finding_of(cause_book("z-why"), cache, UNKNOWN)
    assert explained([unknown_why, symptom]) == [symptom, unknown_why]
    assert symptom.explained_by == ""


def test_of_two_explanations_the_better_ranked_is_named() -> None:
    cache = entity(shop(cache=Health.FAILING), CACHE)
    symptom = finding_of(cause_book("a-symptom", "y-why", "z-why"), cache, CONFIRMED)
    best = finding_of(cause_book("z-why"), cache, CONFIRMED, score=9.0)
    second = finding_of(cause_book("y-why"), cache, CONFIRMED, score=5.0)
    explained([best, second, symptom])
    assert symptom.explained_by == "z-why: z-why-cause"


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
