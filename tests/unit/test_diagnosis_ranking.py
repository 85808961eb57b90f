"""A diagnosis ranks what its runbooks find (runbooks/diagnosis.py): what is about the entity
the operator means first; confirmed before likely before unknown, a decisive fact counting as
confirmation; a failing dependency before the symptom it causes. Trees and answers built by
hand (tests/unit/diagnosis_scenes.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from providers.contract import CheckResult, Health
from runbooks.candidates import Candidate
from runbooks.diagnosis import (
    run_candidates,
)
from runbooks.engine import Verdict
from runbooks.model import Runbook
from tests.unit.diagnosis_scenes import (
    API,
    CACHE,
    DB,
    ENGINE,
    ERROR,
    FAIL,
    SESSIONS,
    ScriptedEnvironment,
    by_node,
    candidate,
    compose_runbook,
    entity,
    only_finding,
    redis_runbook,
    redis_tree,
    result,
    runbook,
    shop,
    verdicts,
)

CONFIRMED, LIKELY, UNKNOWN = Verdict.CONFIRMED, Verdict.LIKELY, Verdict.UNKNOWN

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
    signed = candidate(book, entity(trees, DB), "text", 1.0, params={"db": "db"})
    caught.caught = {"database": "reports"}
    # Its signature knows the error, which names nothing (an alarm's text restates what is
    # seen): no more than words that point at it.
    signed.signed = True
    caught.said = words_only.said = signed.said = 10.0  # the words point at each
    assert await ranked(env, [named, caught]) == ["z-database-missing", "a-named"]
    assert await ranked(env, [named, signed]) == ["a-named", "z-database-missing"]
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
