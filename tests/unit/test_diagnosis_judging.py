"""A diagnosis judges what its runbooks find (runbooks/diagnosis.py): a cause is shown as
found only when its evidence was seen on the entity diagnosed and shows something wrong there
(or the operator's words point at its runbook). Trees and answers built by hand
(tests/unit/diagnosis_scenes.py).
"""

from __future__ import annotations

import pytest

from providers.contract import CheckStatus, Health
from runbooks.diagnosis import (
    judge,
)
from runbooks.engine import Verdict, diagnose
from tests.unit.diagnosis_scenes import (
    API,
    CACHE,
    ELSEWHERE_CAVEAT,
    ENGINE,
    ERROR,
    FAIL,
    FULL,
    HEALTHY_CAVEAT,
    PASS,
    SESSIONS,
    WARN,
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


async def test_a_dependency_is_a_cause_when_something_wrong_is_seen_on_it_or_its_error_given() -> (
    None
):
    trees = shop(cache=Health.FAILING)
    on_cache = entity(trees, CACHE)
    passing = ScriptedEnvironment({(CACHE, "redis.memory"): (PASS, {"used_ratio": 0.9})})
    words_only = candidate(PASSING_FACT, on_cache, "dependency", said=2.0)
    assert (await only_finding(passing, words_only)).cause.verdict is UNKNOWN
    failing = ScriptedEnvironment({(CACHE, "redis.memory"): (FAIL, {})})
    healthy = entity(shop(), CACHE)  # failing as the runbook runs, healthy in the sweep
    fault = await only_finding(failing, candidate(FULL, healthy, "dependency"))
    assert fault.cause.verdict is CONFIRMED
    # Its checks pass, but the error the operator gave is the runbook's own (a write refused
    # by a replica, which answers well): the facts that hold confirm it.
    known_error = candidate(PASSING_FACT, on_cache, "dependency", said=10.0)
    known_error.signed = True
    assert (await only_finding(passing, known_error)).cause.verdict is CONFIRMED


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
