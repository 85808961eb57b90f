"""The engine: evidence on check results, the ranking of causes, binding and substitution.

Check results are constructed here; binding uses a real LiveEnvironment over Redis targets
(creating providers opens no connection, so no server is needed).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from providers.contract import CheckCall, CheckResult, CheckStatus, Node
from providers.environment import LiveEnvironment, PlannedCheck
from providers.inventory import Environment, Inventory, Target
from runbooks.engine import (
    BindingError,
    Verdict,
    assess,
    bind,
    diagnose,
    fix_command,
    planned,
    rank,
    substitute,
)
from runbooks.evidence import evaluate, fact_value
from runbooks.loader import load_library
from runbooks.model import Cause, Condition, Fix, Param, Runbook
from tests.servers.process import free_port

PASS, WARN, FAIL = CheckStatus.PASS, CheckStatus.WARN, CheckStatus.FAIL
ERROR, SKIPPED = CheckStatus.ERROR, CheckStatus.SKIPPED


def result(status: CheckStatus = PASS, summary: str = "ok", **facts: Any) -> CheckResult:
    return CheckResult(
        check="redis.memory", target="cache", status=status, summary=summary, facts=facts
    )


def condition(**fields: Any) -> Condition:
    return Condition.model_validate({"check": "memory", **fields})


def cause(cause_id: str, *evidence: dict[str, Any]) -> Cause:
    return Cause.model_validate({"id": cause_id, "title": cause_id, "evidence": list(evidence)})


def runbook(*causes: Cause, **fields: Any) -> Runbook:
    return Runbook.model_validate(
        {
            "id": "redis-oom",
            "title": "Redis is out of memory",
            **fields,
            "causes": [item.model_dump(by_alias=True, exclude_unset=True) for item in causes],
        }
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
    assert [(e.holds, e.explanation) for e in item.evidence] == [
        (None, f"memory is fail: unknown, the check {status.value}: connection refused"),
        (None, f"memory.oom_errors > 0: unknown, the check {status.value}: connection refused"),
    ]


def test_a_status_condition_can_ask_for_the_error_itself() -> None:
    item = assess(cause("down", {"check": "memory", "status": "error"}), {"memory": result(ERROR)})
    assert item.verdict is Verdict.CONFIRMED
    assert item.evidence[0].explanation == "memory is error: it is error"


def test_a_missing_fact_is_unknown() -> None:
    item = assess(
        cause("full", {"check": "memory", "fact": "oom_errors", "gt": 0}),
        {"memory": result(FAIL, used=10)},
    )
    assert item.verdict is Verdict.UNKNOWN
    assert item.evidence[0].holds is None
    assert item.evidence[0].explanation == (
        "memory.oom_errors > 0: unknown, the check reported no oom_errors"
    )


def test_a_check_that_did_not_run_is_unknown() -> None:
    item = assess(cause("full", {"check": "memory", "status": "fail"}), {})
    assert item.verdict is Verdict.UNKNOWN
    assert item.evidence[0].explanation == "memory is fail: the check did not run"


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


def test_a_cause_without_evidence_is_unknown() -> None:
    item = assess(cause("no-evidence"), {"memory": result(FAIL)})
    assert (item.verdict, item.evidence) == (Verdict.UNKNOWN, ())


def test_a_fact_that_cannot_be_compared_is_unknown() -> None:
    results = {"memory": result(PASS, policy="noeviction", enabled=True, count=3)}
    checks: list[tuple[dict[str, Any], str]] = [
        ({"fact": "policy", "gt": 5}, "memory.policy > 5: unknown, 'noeviction' is not a number"),
        ({"fact": "enabled", "ge": 1}, "memory.enabled >= 1: unknown, True is not a number"),
        (
            {"fact": "count", "contains": 3},
            "memory.count contains 3: unknown, 3 cannot contain anything",
        ),
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
        "memory.policy == 'noeviction': it is 'noeviction'",
    ),
    (
        {"fact": "policy", "equals": "allkeys-lru"},
        False,
        "memory.policy == 'allkeys-lru': it is 'noeviction'",
    ),
    ({"fact": "used", "equals": 900.0}, True, "memory.used == 900.0: it is 900"),
    (
        {"fact": "policy", "not_equals": "allkeys-lru"},
        True,
        "memory.policy != 'allkeys-lru': it is 'noeviction'",
    ),
    (
        {"fact": "policy", "not_equals": "noeviction"},
        False,
        "memory.policy != 'noeviction': it is 'noeviction'",
    ),
    ({"fact": "used", "lt": 1000}, True, "memory.used < 1000: it is 900"),
    ({"fact": "used", "lt": 900}, False, "memory.used < 900: it is 900"),
    ({"fact": "used", "le": 900}, True, "memory.used <= 900: it is 900"),
    ({"fact": "used", "le": 899.5}, False, "memory.used <= 899.5: it is 900"),
    ({"fact": "ratio", "gt": 0.9}, True, "memory.ratio > 0.9: it is 0.93"),
    ({"fact": "ratio", "gt": 0.93}, False, "memory.ratio > 0.93: it is 0.93"),
    ({"fact": "ratio", "ge": 0.93}, True, "memory.ratio >= 0.93: it is 0.93"),
    ({"fact": "ratio", "ge": 1}, False, "memory.ratio >= 1: it is 0.93"),
    (
        {"fact": "policy", "contains": "evict"},
        True,
        "memory.policy contains 'evict': it is 'noeviction'",
    ),
    (
        {"fact": "policy", "contains": "lru"},
        False,
        "memory.policy contains 'lru': it is 'noeviction'",
    ),
    (
        {"fact": "reasons", "contains": "Essential container exited"},
        True,
        "memory.reasons contains 'Essential container exited': it is "
        "['CannotPullContainerError: not found', 'Essential container exited']",
    ),
    (
        {"fact": "reasons", "contains": "CannotPullContainerError"},
        False,  # a list contains whole items, not substrings of them: use `matches`
        "memory.reasons contains 'CannotPullContainerError': it is "
        "['CannotPullContainerError: not found', 'Essential container exited']",
    ),
    (
        {"fact": "config", "contains": "save"},
        True,
        "memory.config contains 'save': it is {'maxmemory-policy': 'noeviction', 'save': ''}",
    ),
    (
        {"fact": "config", "contains": "noeviction"},
        False,  # a dict contains keys, not values
        "memory.config contains 'noeviction': it is {'maxmemory-policy': 'noeviction', 'save': ''}",
    ),
    ({"fact": "policy", "matches": "^no"}, True, "memory.policy matches '^no': it is 'noeviction'"),
    (
        {"fact": "policy", "matches": "^evict"},
        False,
        "memory.policy matches '^evict': it is 'noeviction'",
    ),
    ({"fact": "used", "matches": r"^\d{3}$"}, True, "memory.used matches '^\\\\d{3}$': it is 900"),
    (
        {"fact": "reasons", "matches": "CannotPull"},
        True,
        "memory.reasons matches 'CannotPull': it is "
        "['CannotPullContainerError: not found', 'Essential container exited']",
    ),
    (
        {"fact": "reasons", "matches": "^OutOfMemory"},
        False,
        "memory.reasons matches '^OutOfMemory': it is "
        "['CannotPullContainerError: not found', 'Essential container exited']",
    ),
    ({"fact": "policy", "exists": True}, True, "memory.policy exists: present"),
    ({"fact": "missing", "exists": True}, False, "memory.missing exists: absent"),
    ({"fact": "missing", "exists": False}, True, "memory.missing is absent: absent"),
    ({"fact": "policy", "exists": False}, False, "memory.policy is absent: present"),
    ({"fact": "empty", "exists": True}, False, "memory.empty exists: absent"),
    ({"status": "pass"}, True, "memory is pass: it is pass"),
    ({"status": ["fail", "warn"]}, False, "memory is fail or warn: it is pass"),
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
    assert (outcome.holds, outcome.explanation) == (True, "memory.empty == None: it is None")


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
    assert outcome.explanation == f"memory.{path} == 1: unknown, the check reported no {path}"


def test_a_dotted_path_in_a_condition() -> None:
    outcome = evaluate(condition(fact="top_backlogs.0.messages", gt=10_000), result(FAIL, **NESTED))
    assert (outcome.holds, outcome.explanation) == (
        True,
        "memory.top_backlogs.0.messages > 10000: it is 12408",
    )


# ---------------------------------------------------------------------------------------------
# Substitution


def test_a_whole_string_reference_keeps_the_value_type() -> None:
    params = {"db": 3, "ratio": 0.9, "on": True, "names": ["a", "b"], "cache": "cache"}
    assert substitute("$db", params) == 3
    assert substitute("${ratio}", params) == 0.9
    assert substitute("$on", params) is True
    assert substitute("$names", params) == ["a", "b"]
    assert substitute("$cache", params) == "cache"


def test_a_reference_inside_a_string_is_interpolated() -> None:
    params = {"pattern": "session:*", "db": 3}
    assert substitute("--pattern $pattern -n ${db}", params) == "--pattern session:* -n 3"
    assert substitute("${pattern}x", params) == "session:*x"
    assert substitute("$db$db", params) == "33"


def test_unknown_references_and_non_strings_are_left_alone() -> None:
    params = {"pattern": "*"}
    assert substitute('redis-cli -u "$REDIS_URL" --pattern $pattern', params) == (
        'redis-cli -u "$REDIS_URL" --pattern *'
    )
    assert substitute("$missing", params) == "$missing"
    assert substitute(5, params) == 5
    assert substitute(None, params) is None


def test_substitute_walks_lists_and_dicts() -> None:
    params = {"pattern": "session:*", "db": 2}
    assert substitute({"pattern": "$pattern", "db": "$db", "also": ["$db", "x-$db"]}, params) == {
        "pattern": "session:*",
        "db": 2,
        "also": [2, "x-2"],
    }


def test_fix_command_fills_in_params() -> None:
    fix = Fix(title="Scan", run='redis-cli -u "$REDIS_URL" --scan --pattern "$pattern"')
    assert fix_command(fix, {"pattern": "session:*"}) == (
        'redis-cli -u "$REDIS_URL" --scan --pattern "session:*"'
    )


# ---------------------------------------------------------------------------------------------
# Binding, on a real LiveEnvironment


def live(*names: str, postgres: tuple[str, ...] = ()) -> LiveEnvironment:
    targets = [Target(kind="redis", name=name, url="redis://127.0.0.1:1/0") for name in names]
    targets += [Target(kind="postgres", name=name) for name in postgres]
    return LiveEnvironment(Inventory(environments={"prod": Environment(targets=targets)}))


BOOK = Runbook.model_validate(
    {
        "id": "redis-oom",
        "title": "Redis is out of memory",
        "params": {
            "cache": {"target": "redis"},
            "pattern": {"default": "*", "required": False},
        },
        "checks": [
            {"id": "memory", "use": "redis.memory"},
            {"id": "keys", "use": "redis.keys", "on": "cache", "with": {"pattern": "$pattern"}},
        ],
    }
)


def test_a_single_target_of_the_kind_binds_by_itself() -> None:
    assert bind(BOOK, live("cache", postgres=("db",)), {}) == {"cache": "cache", "pattern": "*"}


def test_given_values_win_over_defaults() -> None:
    assert bind(BOOK, live("main"), {"pattern": "session:*"}) == {
        "cache": "main",
        "pattern": "session:*",
    }


def test_two_targets_of_the_kind_need_a_param() -> None:
    with pytest.raises(BindingError) as caught:
        bind(BOOK, live("cache", "sessions"), {})
    assert str(caught.value) == ("redis-oom needs cache (a redis target); pass --param NAME=VALUE")
    assert bind(BOOK, live("cache", "sessions"), {"cache": "sessions"})["cache"] == "sessions"


def test_no_target_of_the_kind_needs_a_param() -> None:
    with pytest.raises(BindingError) as caught:
        bind(BOOK, live(postgres=("db",)), {})
    assert str(caught.value) == ("redis-oom needs cache (a redis target); pass --param NAME=VALUE")


def test_the_selected_node_picks_the_target() -> None:
    node = Node(id="redis:sessions/db0", kind="redis.database", name="db0")
    assert bind(BOOK, live("cache", "sessions"), {}, node=node)["cache"] == "sessions"
    elsewhere = Node(id="postgres:db", kind="postgres.instance", name="db")
    with pytest.raises(BindingError):
        bind(BOOK, live("cache", "sessions", postgres=("db",)), {}, node=elsewhere)


def test_an_unknown_target_name_is_refused_with_the_known_ones() -> None:
    with pytest.raises(BindingError) as caught:
        bind(BOOK, live("cache", "sessions", postgres=("db",)), {"cache": "db"})
    assert str(caught.value) == (
        "cache='db' is not a redis target of prod; redis targets: cache, sessions"
    )


def test_a_target_name_with_no_target_of_the_kind_says_none() -> None:
    with pytest.raises(BindingError) as caught:
        bind(BOOK, live(postgres=("db",)), {"cache": "cache"})
    assert str(caught.value) == "cache='cache' is not a redis target of prod; redis targets: none"


def test_a_missing_value_param_is_refused() -> None:
    book = BOOK.model_copy(update={"params": {**BOOK.params, "since": Param()}})
    with pytest.raises(BindingError) as caught:
        bind(book, live("cache", "sessions"), {})
    assert str(caught.value) == (
        "redis-oom needs cache (a redis target), since; pass --param NAME=VALUE"
    )
    assert bind(book, live("cache"), {"since": "1h"}) == {
        "cache": "cache",
        "pattern": "*",
        "since": "1h",
    }


def test_an_optional_param_without_a_value_is_left_out() -> None:
    book = Runbook.model_validate(
        {
            "id": "optional",
            "title": "Optional",
            "params": {"cache": {"target": "redis", "required": False}, "db": {"required": False}},
        }
    )
    assert bind(book, live("a", "b"), {}) == {}


def test_planned_runs_on_the_bound_target_with_params_filled_in() -> None:
    kinds = {"redis.memory": "redis", "redis.keys": "redis"}
    params = {"cache": "sessions", "pattern": "session:*"}
    assert [planned(BOOK, step, params, kinds) for step in BOOK.checks] == [
        PlannedCheck("redis:sessions", CheckCall("redis.memory", {})),
        PlannedCheck("redis:sessions", CheckCall("redis.keys", {"pattern": "session:*"})),
    ]


@pytest.fixture
def unreachable() -> Iterator[LiveEnvironment]:
    port = free_port()  # nothing listens: every check errors at once with connection refused
    target = Target(kind="redis", name="cache", url=f"redis://127.0.0.1:{port}/0", timeout=2)
    yield LiveEnvironment(Inventory(environments={"prod": Environment(targets=[target])}))


async def test_an_unreachable_target_rules_nothing_out(unreachable: LiveEnvironment) -> None:
    book = load_library().runbooks["redis-out-of-memory"]
    try:
        diagnosis = await diagnose(book, unreachable)
    finally:
        await unreachable.close()
    assert diagnosis.params == {"cache": "cache", "pattern": "*"}
    assert {step: item.status for step, item in diagnosis.results.items()} == {
        "memory": ERROR,
        "keys": ERROR,
        "persistence": ERROR,
    }
    assert [(item.cause.id, item.verdict) for item in diagnosis.causes] == [
        ("maxmemory-noeviction", Verdict.UNKNOWN),
        ("keys-without-ttl", Verdict.UNKNOWN),
        ("bgsave-failing", Verdict.UNKNOWN),
    ]
    assert diagnosis.confirmed == []


def test_binding_refuses_a_parameter_the_runbook_does_not_take() -> None:
    from providers.environment import LiveEnvironment
    from providers.inventory import Environment, Inventory, Target
    from runbooks.engine import BindingError, bind
    from runbooks.loader import load_library

    runbook = load_library().runbooks["redis-out-of-memory"]
    live = LiveEnvironment(
        Inventory(
            environments={
                "p": Environment(
                    targets=[Target(kind="redis", name="cache", url="redis://127.0.0.1:1/0")]
                )
            }
        )
    )
    with pytest.raises(BindingError) as caught:
        bind(runbook, live, {"cahce": "cache"})
    assert str(caught.value) == (
        "redis-out-of-memory takes no parameter cahce; it takes: cache, pattern"
    )


async def test_a_step_on_an_optional_target_absent_here_is_skipped() -> None:
    from pathlib import Path

    from providers.environment import LiveEnvironment
    from providers.inventory import Environment, Inventory, Target
    from runbooks.engine import Verdict, diagnose
    from runbooks.loader import load_runbook

    runbook = load_runbook(
        Path("mixed.yaml"),
        text=(
            "id: mixed\ntitle: Mixed\n"
            "params:\n  cache: {target: redis}\n  aws: {target: ecs, required: false}\n"
            "checks:\n  - {id: ping, use: redis.ping, on: cache}\n"
            "  - {id: alarms, use: cloudwatch.alarms, on: aws}\n"
            "causes:\n  - id: alarm\n    title: An alarm fires\n"
            "    evidence: [{check: alarms, status: fail}]\n"
        ),
    )
    live = LiveEnvironment(
        Inventory(
            environments={
                "p": Environment(
                    targets=[Target(kind="redis", name="cache", url="redis://127.0.0.1:1/0")]
                )
            }
        )
    )
    try:
        diagnosis = await diagnose(runbook, live)
    finally:
        await live.close()
    assert diagnosis.params == {"cache": "cache"}
    skipped = diagnosis.results["alarms"]
    assert skipped.status.value == "skipped"
    assert skipped.summary == "no ecs target (aws) in p"
    assert diagnosis.causes[0].verdict is Verdict.UNKNOWN
