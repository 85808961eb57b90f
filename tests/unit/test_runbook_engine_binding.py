"""The engine: substitution and binding.

Binding uses a real LiveEnvironment over Redis targets (creating providers opens no
connection, so no server is needed).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from providers.contract import CheckCall, Node
from providers.environment import LiveEnvironment, PlannedCheck
from providers.inventory import Environment, Inventory, Target
from runbooks.engine import (
    BindingError,
    Verdict,
    bind,
    diagnose,
    fix_command,
    planned,
    substitute,
)
from runbooks.loader import load_library
from runbooks.model import Fix, Param, Runbook
from tests.servers.process import free_port
from tests.unit.runbook_engine_helpers import ERROR

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
    # The only target of the kind is taken for an optional parameter, unless told not to guess
    # (a diagnosis bound to one entity: its checks stay off other targets).
    assert bind(book, live("a"), {}) == {"cache": "a"}
    assert bind(book, live("a"), {}, guess_optional=False) == {}


def test_a_missing_parameter_is_named_in_the_error_for_the_caller() -> None:
    book = BOOK.model_copy(update={"params": {**BOOK.params, "since": Param()}})
    with pytest.raises(BindingError) as caught:
        bind(book, live("cache", "sessions"), {})
    assert caught.value.missing == ("cache (a redis target)", "since")


def test_several_unknown_parameters_and_a_runbook_that_takes_none() -> None:
    bare = Runbook.model_validate({"id": "bare", "title": "Bare"})
    with pytest.raises(BindingError) as caught:
        bind(bare, live("cache"), {"a": 1, "b": 2})
    assert str(caught.value) == "bare takes no parameter a, b; it takes: none"


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
