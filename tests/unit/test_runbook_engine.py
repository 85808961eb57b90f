"""The engine: evidence on check results and the ranking of causes.

Check results are constructed here: every operator with its explanation, dotted fact paths,
and how verdicts rank.
"""

from __future__ import annotations

from typing import Any

import pytest

from providers.contract import CheckResult, CheckStatus
from runbooks.engine import (
    Verdict,
    assess,
    rank,
)
from runbooks.evidence import evaluate, fact_value
from runbooks.model import Runbook
from tests.unit.runbook_engine_helpers import (
    ERROR,
    FAIL,
    PASS,
    SKIPPED,
    cause,
    condition,
    result,
    runbook,
)

# ---------------------------------------------------------------------------------------------
# Ranking


def verdicts(book: Runbook, results: dict[str, CheckResult]) -> list[tuple[str, Verdict]]:
    return [(item.cause.id, item.verdict) for item in rank(book, results)]


def test_confirmed_before_likely_before_unknown_before_ruled_out() -> None:
    book = runbook(
        cause("ruled-out", {"check": "memory", "status": "pass"}),
        cause(
            "unknown",
            {"check": "memory", "status": "fail"},
            {"check": "keys", "fact": "without_ttl", "gt": 0},
        ),
        cause(
            "likely",
            {"check": "memory", "status": "fail"},
            {"check": "memory", "fact": "oom_errors", "gt": 0},
        ),
        cause(
            "confirmed",
            {"check": "memory", "status": ["fail", "warn"]},
            {"check": "memory", "fact": "policy", "equals": "noeviction"},
        ),
    )
    results = {
        "memory": result(FAIL, "98% of maxmemory", oom_errors=0, policy="noeviction"),
        "keys": result(ERROR, "connection refused"),
    }
    assert verdicts(book, results) == [
        ("confirmed", Verdict.CONFIRMED),
        ("likely", Verdict.LIKELY),
        ("unknown", Verdict.UNKNOWN),
        ("ruled-out", Verdict.RULED_OUT),
    ]
    assert [str(verdict) for _, verdict in verdicts(book, results)] == [
        "confirmed",
        "likely",
        "unknown",
        "ruled out",
    ]


def test_ties_keep_the_runbook_order() -> None:
    book = runbook(
        cause("c", {"check": "memory", "status": "fail"}),
        cause("a", {"check": "memory", "status": "pass"}),
        cause("b", {"check": "memory", "status": "fail"}),
        cause("d", {"check": "memory", "status": "pass"}),
        cause("e", {"check": "memory", "status": "fail"}),
    )
    assert verdicts(book, {"memory": result(FAIL)}) == [
        ("c", Verdict.CONFIRMED),
        ("b", Verdict.CONFIRMED),
        ("e", Verdict.CONFIRMED),
        ("a", Verdict.RULED_OUT),
        ("d", Verdict.RULED_OUT),
    ]


def test_ties_keep_the_runbook_order_even_for_equal_causes() -> None:
    same = cause("same", {"check": "memory", "status": "fail"})
    book = runbook(same, cause("other", {"check": "memory", "status": "fail"}), same)
    assert [item.cause.id for item in rank(book, {"memory": result(FAIL)})] == [
        "same",
        "other",
        "same",
    ]


@pytest.mark.parametrize("status", [ERROR, SKIPPED])
def test_a_cause_on_a_check_that_could_not_run_is_unknown_never_ruled_out(
    status: CheckStatus,
) -> None:
    item = assess(
        cause(
            "full",
            {"check": "memory", "status": "fail"},
            {"check": "memory", "fact": "oom_errors", "gt": 0},
        ),
        {"memory": result(status, "connection refused")},
    )
    assert item.verdict is Verdict.UNKNOWN
    said = {ERROR: "could not run", SKIPPED: "was skipped"}[status]
    assert [(e.holds, e.explanation) for e in item.evidence] == [
        (None, f"the memory check {said}: connection refused"),
        (None, f"memory: oom errors is unknown (the check {said}: connection refused)"),
    ]


def test_a_status_condition_can_ask_for_the_error_itself() -> None:
    item = assess(
        cause("down", {"check": "memory", "status": "error"}),
        {"memory": result(ERROR, "connection refused")},
    )
    assert item.verdict is Verdict.CONFIRMED
    assert item.evidence[0].explanation == "the memory check could not run: connection refused"


def test_a_missing_fact_is_unknown() -> None:
    item = assess(
        cause("full", {"check": "memory", "fact": "oom_errors", "gt": 0}),
        {"memory": result(FAIL, used=10)},
    )
    assert item.verdict is Verdict.UNKNOWN
    assert item.evidence[0].holds is None
    assert item.evidence[0].explanation == (
        "memory: oom errors is unknown (the check did not report it)"
    )


def test_a_check_that_did_not_run_is_unknown() -> None:
    item = assess(cause("full", {"check": "memory", "status": "fail"}), {})
    assert item.verdict is Verdict.UNKNOWN
    assert item.evidence[0].explanation == "the memory check did not run"


def test_unknown_outranks_holding_evidence() -> None:
    """As designed: any unknown condition makes the cause unknown, even if others hold."""
    item = assess(
        cause(
            "full",
            {"check": "memory", "status": "fail"},
            {"check": "keys", "status": "fail"},
        ),
        {"memory": result(FAIL), "keys": result(SKIPPED, "no keys pattern")},
    )
    assert item.verdict is Verdict.UNKNOWN
    assert [e.holds for e in item.evidence] == [True, None]


def test_a_guard_that_holds_alone_says_nothing_and_one_that_fails_holds_the_cause_back() -> None:
    """A guard is the normal state (the kubelet is not what kills the container): holding
    alone, it does not make the cause likely; failing, it keeps a decisive fact at likely."""
    looping = {"check": "waiting", "fact": "reasons", "contains": "CrashLoopBackOff"}
    not_the_probe = {"check": "unready", "fact": "probe", "not_equals": "Liveness", "guard": True}
    crash = cause("crash", {**looping, "decisive": True}, not_the_probe)
    quiet = {"waiting": result(PASS, reasons=[]), "unready": result(FAIL, probe="Readiness")}
    assert assess(crash, quiet).verdict is Verdict.RULED_OUT
    killed = {
        "waiting": result(FAIL, reasons=["CrashLoopBackOff"]),
        "unready": result(FAIL, probe="Liveness"),
    }
    assert assess(crash, killed).verdict is Verdict.LIKELY
    crashed = {
        "waiting": result(FAIL, reasons=["CrashLoopBackOff"]),
        "unready": result(PASS, probe=""),
    }
    assert assess(crash, crashed).verdict is Verdict.CONFIRMED
    unguarded = cause("crash", {**looping, "decisive": True}, {**not_the_probe, "guard": False})
    assert assess(unguarded, quiet).verdict is Verdict.LIKELY  # what a guard is there for


FAILS = {"check": "memory", "status": "fail"}
MANY_KEYS = {"check": "keys", "fact": "count", "gt": 1000}


@pytest.mark.parametrize(
    "statuses", [["fail"], ["warn"], ["fail", "warn"], ["fail", "warn", "error"]]
)
def test_a_cause_whose_failing_check_ran_healthy_is_ruled_out(statuses: list[str]) -> None:
    """ "The memory check fails" is the cause's own statement: the check passed, so a fact that
    holds besides (many keys: the normal state of a busy cache) does not make it likely."""
    full = cause("full", {"check": "memory", "status": statuses}, MANY_KEYS)
    item = assess(full, {"memory": result(PASS), "keys": result(PASS, count=5000)})
    assert item.verdict is Verdict.RULED_OUT
    assert [e.holds for e in item.evidence] == [False, True]


def test_a_status_condition_that_asks_for_a_healthy_status_is_no_such_statement() -> None:
    """Evidence that a check passes (the replica answers) is not the cause's fault statement:
    one piece not holding leaves the other's holding as likely."""
    lagging = cause("lagging", {"check": "memory", "status": "pass"}, MANY_KEYS)
    item = assess(lagging, {"memory": result(FAIL), "keys": result(PASS, count=5000)})
    assert item.verdict is Verdict.LIKELY


def test_an_any_of_that_does_not_hold_is_no_fault_statement() -> None:
    either = cause("either", {"any_of": [FAILS, {"check": "memory", "status": "warn"}]}, MANY_KEYS)
    item = assess(either, {"memory": result(PASS), "keys": result(PASS, count=5000)})
    assert item.verdict is Verdict.LIKELY


def test_a_decisive_fact_is_likely_when_its_corroboration_could_not_run_or_does_not_hold() -> None:
    pulled = cause(
        "secrets",
        {
            "check": "stopped",
            "fact": "reason",
            "matches": "unable to pull secrets",
            "decisive": True,
        },
        {"check": "role", "fact": "allowed", "equals": False},
    )
    stop = result(FAIL, reason="ResourceInitializationError: unable to pull secrets")
    errored = assess(pulled, {"stopped": stop, "role": result(ERROR, "AccessDenied")})
    assert errored.verdict is Verdict.LIKELY
    allowed = assess(pulled, {"stopped": stop, "role": result(PASS, allowed=True)})
    assert allowed.verdict is Verdict.LIKELY
    both = assess(pulled, {"stopped": stop, "role": result(FAIL, allowed=False)})
    assert both.verdict is Verdict.CONFIRMED
    neither = assess(
        pulled, {"stopped": result(PASS, reason=""), "role": result(PASS, allowed=True)}
    )
    assert neither.verdict is Verdict.RULED_OUT


def test_a_fact_cause_whose_evidence_all_fails_is_ruled_out() -> None:
    evicting = cause("evicting", {"check": "memory", "fact": "evicted", "gt": 0}, MANY_KEYS)
    item = assess(evicting, {"memory": result(PASS, evicted=0), "keys": result(PASS, count=3)})
    assert (item.verdict, item.cause) == (Verdict.RULED_OUT, evicting)


def test_a_cause_without_evidence_is_unknown() -> None:
    bare = cause("no-evidence")
    item = assess(bare, {"memory": result(FAIL)})
    assert (item.verdict, item.evidence, item.cause) == (Verdict.UNKNOWN, (), bare)


def test_a_fact_that_cannot_be_compared_is_unknown() -> None:
    results = {"memory": result(PASS, policy="noeviction", enabled=True, count=3)}
    checks: list[tuple[dict[str, Any], str]] = [
        ({"fact": "policy", "gt": 5}, "memory: policy is unknown ('noeviction' is not a number)"),
        ({"fact": "enabled", "ge": 1}, "memory: enabled is unknown (True is not a number)"),
        ({"fact": "count", "contains": 3}, "memory: count is unknown (3 cannot contain anything)"),
    ]
    for fields, explanation in checks:
        outcome = evaluate(condition(**fields), results["memory"])
        assert (outcome.holds, outcome.explanation) == (None, explanation)


# ---------------------------------------------------------------------------------------------
# Every operator, with its explanation

FACTS: dict[str, Any] = {
    "used": 900,
    "ratio": 0.93,
    "policy": "noeviction",
    "reasons": ["CannotPullContainerError: not found", "Essential container exited"],
    "config": {"maxmemory-policy": "noeviction", "save": ""},
    "empty": None,
}

OPERATOR_CASES: list[tuple[dict[str, Any], bool, str]] = [
    (
        {"fact": "policy", "equals": "noeviction"},
        True,
        "memory: policy is 'noeviction' (= 'noeviction')",
    ),
    (
        {"fact": "policy", "equals": "allkeys-lru"},
        False,
        "memory: policy is 'noeviction' (= 'allkeys-lru')",
    ),
    ({"fact": "used", "equals": 900.0}, True, "memory: used is 900 (= 900)"),
    (
        {"fact": "policy", "not_equals": "allkeys-lru"},
        True,
        "memory: policy is 'noeviction' (≠ 'allkeys-lru')",
    ),
    (
        {"fact": "policy", "not_equals": "noeviction"},
        False,
        "memory: policy is 'noeviction' (≠ 'noeviction')",
    ),
    ({"fact": "used", "lt": 1000}, True, "memory: used is 900 (< 1,000)"),
    ({"fact": "used", "lt": 900}, False, "memory: used is 900 (< 900)"),
    ({"fact": "used", "le": 900}, True, "memory: used is 900 (≤ 900)"),
    ({"fact": "used", "le": 899.5}, False, "memory: used is 900 (≤ 899.5)"),
    ({"fact": "ratio", "gt": 0.9}, True, "memory: ratio is 0.93 (> 0.9)"),
    ({"fact": "ratio", "gt": 0.93}, False, "memory: ratio is 0.93 (> 0.93)"),
    ({"fact": "ratio", "ge": 0.93}, True, "memory: ratio is 0.93 (≥ 0.93)"),
    ({"fact": "ratio", "ge": 1}, False, "memory: ratio is 0.93 (≥ 1)"),
    (
        {"fact": "policy", "contains": "evict"},
        True,
        "memory: policy is 'noeviction' (contains 'evict')",
    ),
    (
        {"fact": "policy", "contains": "lru"},
        False,
        "memory: policy is 'noeviction' (contains 'lru')",
    ),
    (
        {"fact": "reasons", "contains": "Essential container exited"},
        True,
        "memory: reasons is 'Essential container exited' and 1 more "
        "(contains 'Essential container exited')",
    ),
    (
        {"fact": "reasons", "contains": "CannotPullContainerError"},
        False,  # a list contains whole items, not substrings of them: use `matches`
        "memory: reasons is 'CannotPullContainerError: not found', 'Essential container exited' "
        "(contains 'CannotPullContainerError')",
    ),
    (
        {"fact": "config", "contains": "save"},
        True,
        "memory: config is 'maxmemory-policy', 'save' (contains 'save')",
    ),
    (
        {"fact": "config", "contains": "noeviction"},
        False,  # a dict contains keys, not values
        "memory: config is 'maxmemory-policy', 'save' (contains 'noeviction')",
    ),
    ({"fact": "policy", "matches": "^no"}, True, "memory: policy is 'noeviction' (matches ^no)"),
    (
        {"fact": "policy", "matches": "^evict"},
        False,
        "memory: policy is 'noeviction' (matches ^evict)",
    ),
    ({"fact": "used", "matches": "^\\d{3}$"}, True, "memory: used is 900 (matches ^\\d{3}$)"),
    (
        {"fact": "reasons", "matches": "CannotPull"},
        True,
        "memory: reasons is 'CannotPullContainerError: not found' and 1 more (matches CannotPull)",
    ),
    (
        {"fact": "reasons", "matches": "^OutOfMemory"},
        False,
        "memory: reasons is 'CannotPullContainerError: not found', 'Essential container exited' "
        "(matches ^OutOfMemory)",
    ),
    ({"fact": "policy", "exists": True}, True, "memory: policy is present (expected present)"),
    ({"fact": "missing", "exists": True}, False, "memory: missing is absent (expected present)"),
    ({"fact": "missing", "exists": False}, True, "memory: missing is absent (expected absent)"),
    ({"fact": "policy", "exists": False}, False, "memory: policy is present (expected absent)"),
    ({"fact": "empty", "exists": True}, False, "memory: empty is absent (expected present)"),
    ({"status": "pass"}, True, "the memory check passed"),
    ({"status": ["fail", "warn"]}, False, "the memory check passed"),
]


@pytest.mark.parametrize(
    ("fields", "holds", "explanation"),
    OPERATOR_CASES,
    ids=[f"{case[0]}->{case[1]}" for case in OPERATOR_CASES],
)
def test_every_operator_with_its_explanation(
    fields: dict[str, Any], holds: bool, explanation: str
) -> None:
    outcome = evaluate(condition(**fields), result(PASS, **FACTS))
    assert (outcome.holds, outcome.explanation) == (holds, explanation)


def test_every_operator_is_covered() -> None:
    covered = {condition(**fields).operator for fields, _, _ in OPERATOR_CASES}
    assert covered == {
        "equals",
        "not_equals",
        "lt",
        "le",
        "gt",
        "ge",
        "contains",
        "matches",
        "exists",
        None,
    }


def test_equals_null_is_a_comparison_with_none() -> None:
    outcome = evaluate(condition(fact="empty", equals=None), result(PASS, **FACTS))
    assert (outcome.holds, outcome.explanation) == (True, "memory: empty is none (= none)")


# ---------------------------------------------------------------------------------------------
# Dotted fact paths

NESTED: dict[str, Any] = {
    "sample": {"key": "session:1", "ttl": -1},
    "top_backlogs": [{"queue": "inbound", "messages": 12408}, {"queue": "retry", "messages": 3}],
    "dotted.name": 1,
}


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("sample.key", "session:1"),
        ("sample.ttl", -1),
        ("top_backlogs.0.queue", "inbound"),
        ("top_backlogs.1.messages", 3),
        ("top_backlogs.1", {"queue": "retry", "messages": 3}),
    ],
)
def test_dotted_paths_reach_into_dicts_and_lists(path: str, value: Any) -> None:
    assert fact_value(NESTED, path) == value


@pytest.mark.parametrize(
    "path",
    [
        "sample.missing",
        "top_backlogs.2.queue",
        "top_backlogs.-1",
        "top_backlogs.first",
        "sample.key.x",
        "dotted.name",
    ],
)
def test_a_dotted_path_that_leads_nowhere_is_unknown(path: str) -> None:
    outcome = evaluate(condition(fact=path, equals=1), result(PASS, **NESTED))
    assert outcome.holds is None
    words = " ".join(
        f"#{int(p) + 1}" if p.isdigit() else p.replace("_", " ") for p in path.split(".")
    )
    assert outcome.explanation == f"memory: {words} is unknown (the check did not report it)"


def test_a_dotted_path_in_a_condition() -> None:
    outcome = evaluate(condition(fact="top_backlogs.0.messages", gt=10_000), result(FAIL, **NESTED))
    assert (outcome.holds, outcome.explanation) == (
        True,
        "memory: top backlogs #1 messages is 12,408 (> 10,000)",
    )
