"""What finds why a cause happens: `deeper` runbooks run on the same entity, and what they
confirm ranks first (runbooks/diagnosis.py), on trees and answers built by hand
(tests/unit/diagnosis_scenes.py).
"""

from __future__ import annotations

import pytest

from providers.contract import Health
from runbooks.diagnosis import (
    DEPENDENCIES_RUN,
    deeper_candidates,
    explained,
    run_candidates,
)
from runbooks.engine import Verdict
from runbooks.model import Runbook
from tests.unit.diagnosis_scenes import (
    API,
    CACHE,
    FAIL,
    SESSIONS,
    WORKER,
    ScriptedEnvironment,
    candidate,
    entity,
    finding_of,
    redis_runbook,
    runbook,
    shop,
)

CONFIRMED, LIKELY, UNKNOWN = Verdict.CONFIRMED, Verdict.LIKELY, Verdict.UNKNOWN

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
