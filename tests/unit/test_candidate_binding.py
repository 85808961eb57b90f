"""How a candidate binds: its entity's target and parameters, what it depends on, the values
given or caught; and how one runbook run on its own finds what it is about in the scene (the
selected node, the failing one, the given values). Scenes are built by hand
(tests/unit/candidate_scenes.py)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from providers.contract import CheckResult, CheckStatus, Node
from providers.environment import LiveEnvironment
from runbooks.candidates import (
    Candidate,
    bind_candidate,
    bind_from_scene,
    candidates_for,
)
from runbooks.engine import BindingError
from runbooks.scene import Scene
from tests.unit.candidate_scenes import (
    API,
    API_CONTAINER,
    SESSIONS_ADDRESS,
    SHOP,
    WORKER,
    WORKER_CONTAINER,
    book,
    check,
    compose,
    entity,
    environment,
    failing,
    index_of,
    redis,
    service,
)

# -- binding a candidate -------------------------------------------------------------------------


# Its plain values come before its target parameter, and one of them is no entity's.
SERVICE_BOOK = book(
    "compose-service",
    "Service",
    applies_to=["compose.service"],
    params={
        "project": {},
        "service": {},
        "since": {"default": "15m", "required": False},
        "engine": {"target": "compose"},
    },
)


def two_of_each() -> LiveEnvironment:
    """Two compose engines and two Redis: no runbook parameter of those kinds binds by itself."""
    return environment(compose_engines=("docker", "edge"), redis_names=("cache", "sessions"))


def two_engines() -> list[Node]:
    return [
        compose(service("api"), service("worker")),
        compose(service("api", engine="edge", project="store"), engine="edge", project="store"),
        redis(),
        redis("sessions"),
    ]


def test_a_candidate_binds_its_entity_target_and_what_the_entity_is() -> None:
    live = two_of_each()
    index = index_of(two_engines(), live)
    candidate = Candidate(
        SERVICE_BOOK, entity(index, "compose:edge/store/api/store-api-1"), "named", 0, []
    )
    bind_candidate(candidate, live, [])
    assert candidate.params == {
        "engine": "edge",
        "project": "store",
        "service": "api",
        "since": "15m",
    }
    assert candidate.unbound == ""


def test_a_target_the_focus_depends_on_binds_the_parameter_of_its_kind() -> None:
    both = book(
        "app-and-cache",
        "App and cache",
        applies_to=["compose.service"],
        params={"engine": {"target": "compose"}, "store": {"target": "redis"}},
    )
    live = two_of_each()
    index = index_of(two_engines(), live)
    edge_api = entity(index, "compose:edge/store/api")
    candidate = Candidate(both, entity(index, API), "named", 0, [])
    bind_candidate(candidate, live, [edge_api, entity(index, "redis:sessions")])
    # Its own target first, whatever else is related.
    assert candidate.params == {"engine": "docker", "store": "sessions"}


def test_only_the_first_parameter_of_a_kind_takes_the_entity_target() -> None:
    pair = book(
        "redis-replica",
        "Replica lag",
        applies_to=["redis.instance"],
        params={"primary": {"target": "redis"}, "replica": {"target": "redis"}},
    )
    live = two_of_each()
    index = index_of(two_engines(), live)
    candidate = Candidate(pair, entity(index, "redis:cache"), "named", 0, [])
    bind_candidate(candidate, live, [])
    assert candidate.params is None
    assert candidate.unbound == (
        "redis-replica needs replica (a redis target); pass --param NAME=VALUE"
    )
    bind_candidate(candidate, live, [], {"replica": "sessions"})
    assert candidate.params == {"primary": "cache", "replica": "sessions"}


def test_a_number_read_from_a_node_binds_as_a_number_where_the_runbook_wants_one() -> None:
    as_number = book(
        "redis-db",
        "Database",
        applies_to=["redis.database"],
        params={"cache": {"target": "redis"}, "db": {"default": 0, "required": False}},
    )
    as_text = book(
        "redis-db-text",
        "Database",
        applies_to=["redis.database"],
        params={"cache": {"target": "redis"}, "db": {"default": "0", "required": False}},
    )
    live = two_of_each()
    index = index_of([redis("sessions", databases=3)], live)
    db2 = entity(index, "redis:sessions/db2")
    number = Candidate(as_number, db2, "named", 0, [])
    bind_candidate(number, live, [])
    assert number.params == {"cache": "sessions", "db": 2}
    text = Candidate(as_text, db2, "named", 0, [])
    bind_candidate(text, live, [])
    assert text.params == {"cache": "sessions", "db": "2"}
    # Only digits become a number: a word caught where a number is wanted stays as said.
    words = Candidate(as_number, None, "text", 10, [], caught={"db": "two"})
    bind_candidate(words, live, [], {"cache": "sessions"})
    assert words.params == {"cache": "sessions", "db": "two"}


def test_what_the_entity_is_wins_over_what_the_symptom_caught() -> None:
    runbook = book(
        "compose-table",
        "Table",
        applies_to=["compose.service"],
        params={"service": {}, "table": {}},
    )
    live = environment()
    index = index_of([compose(service("api"))], live)
    caught = {"service": "web", "table": "orders"}
    candidate = Candidate(runbook, entity(index, API), "named", 0, [], caught=caught)
    bind_candidate(candidate, live, [])
    assert candidate.params == {"service": "api", "table": "orders"}
    bind_candidate(candidate, live, [], {"service": "worker"})
    assert candidate.params == {"service": "worker", "table": "orders"}


def test_a_candidate_about_an_entity_leaves_an_optional_target_of_another_kind_unbound() -> None:
    runbook = book(
        "compose-cache",
        "Service and cache",
        applies_to=["compose.service"],
        params={"cache": {"target": "redis", "required": False}},
    )
    live = environment()
    index = index_of([compose(service("api")), redis()], live)
    scoped = Candidate(runbook, entity(index, API), "named", 0, [])
    bind_candidate(scoped, live, [])
    assert scoped.params == {}
    unscoped = Candidate(runbook, None, "text", 10, [])
    bind_candidate(unscoped, live, [])
    assert unscoped.params == {"cache": "cache"}


def test_a_candidate_that_cannot_bind_says_why_and_has_no_parameters() -> None:
    runbook = book(
        "compose-on-ecs",
        "Service on ECS",
        applies_to=["compose.service"],
        params={"cluster": {"target": "ecs"}},
    )
    live = environment()
    index = index_of([compose(service("api"))], live)
    candidate = Candidate(runbook, entity(index, API), "named", 0, [], params={"stale": 1})
    bind_candidate(candidate, live, [])
    assert candidate.params is None
    assert candidate.unbound == (
        "compose-on-ecs needs cluster (a ecs target); pass --param NAME=VALUE"
    )


# -- binding one runbook for a run of its own ----------------------------------------------------


def scene(*trees: Node, results: Sequence[CheckResult] = ()) -> Scene:
    return Scene(list(trees), list(results))


def test_the_selected_node_binds_when_the_runbook_applies_to_it() -> None:
    live = environment()
    found = bind_from_scene(
        SERVICE_BOOK, live, scene(compose(service("api"), service("worker"))), {}, WORKER
    )
    assert found.params == {
        "engine": "docker",
        "project": "shop",
        "service": "worker",
        "since": "15m",
    }
    assert found.entity is not None and found.entity.node.id == WORKER
    assert [e.node.id for e in found.choices] == [API, API_CONTAINER, WORKER_CONTAINER]


def test_one_entity_it_applies_to_binds_and_leaves_no_choice() -> None:
    live = environment()
    found = bind_from_scene(SERVICE_BOOK, live, scene(compose(service("api"))), {})
    assert found.params["service"] == "api"
    assert found.entity is not None and found.entity.node.id == API
    assert [e.node.id for e in found.choices] == [API_CONTAINER]


def test_several_entities_are_ranked_with_the_failing_one_first() -> None:
    live = environment()
    worker = service("worker", failing("exited (1)"))
    trees = compose(service("api"), worker, service("mailer"))
    found = bind_from_scene(SERVICE_BOOK, live, scene(trees), {})
    assert found.entity is not None and found.entity.node.id == WORKER
    # Failing first, services before their containers, then by name.
    assert [e.node.id for e in found.choices] == [
        WORKER_CONTAINER,
        API,
        "compose:docker/shop/mailer",
        API_CONTAINER,
        "compose:docker/shop/mailer/shop-mailer-1",
    ]


def test_a_failing_check_makes_an_entity_the_one_to_bind() -> None:
    live = environment()
    mailer = service("mailer")
    trees = compose(service("api"), mailer)
    results = [check(mailer, CheckStatus.FAIL, "health check fails")]
    found = bind_from_scene(SERVICE_BOOK, live, scene(trees, results=results), {})
    assert found.params["service"] == "mailer"


def test_a_selected_node_the_runbook_does_not_apply_to_is_passed_over() -> None:
    live = environment()
    trees = compose(service("api"), service("worker", failing("exited (1)")))
    found = bind_from_scene(SERVICE_BOOK, live, scene(trees, redis()), {}, "redis:cache")
    assert found.params["service"] == "worker"


def test_given_values_choose_the_entity_they_agree_with() -> None:
    live = two_of_each()
    trees = two_engines()
    trees[0] = compose(service("api"), service("worker", failing("exited (1)")))
    given = {"service": "api", "since": "1h"}
    found = bind_from_scene(SERVICE_BOOK, live, scene(*trees), given)
    assert found.params == {"engine": "docker", "project": "shop", "service": "api", "since": "1h"}
    assert [e.node.id for e in found.choices] == [
        "compose:edge/store/api",
        API_CONTAINER,
        "compose:edge/store/api/store-api-1",
    ]
    on_edge = bind_from_scene(SERVICE_BOOK, live, scene(*trees), {"engine": "edge"})
    assert on_edge.params == {
        "engine": "edge",
        "project": "store",
        "service": "api",
        "since": "15m",
    }


def test_given_values_win_over_a_selected_node_they_disagree_with() -> None:
    """The operator typed the service: the node the cursor happens to be on does not turn it
    into a service of another project that does not exist there."""
    live = two_of_each()
    trees = [compose(service("worker")), *two_engines()[1:]]
    found = bind_from_scene(SERVICE_BOOK, live, scene(*trees), {"service": "api"}, WORKER)
    assert found.entity is not None and found.entity.node.id == "compose:edge/store/api"
    assert found.params == {"engine": "edge", "project": "store", "service": "api", "since": "15m"}


def test_a_selected_group_binds_a_runbook_about_groups() -> None:
    project = book(
        "compose-project",
        "Project",
        applies_to=["compose.project"],
        params={"project": {}},
    )
    live = environment()
    found = bind_from_scene(project, live, scene(compose(service("api"))), {}, SHOP)
    assert found.params == {"project": "shop"}
    assert found.entity is not None and found.entity.node.id == SHOP


def test_a_selected_group_comes_before_the_services_in_it() -> None:
    stack = book(
        "compose-stack",
        "Stack",
        applies_to=["compose.project", "compose.service"],
        params={"project": {}, "service": {"required": False}},
    )
    live = environment()
    trees = compose(service("api"), service("worker", failing("exited (1)")))
    found = bind_from_scene(stack, live, scene(trees), {}, SHOP)
    assert found.entity is not None and found.entity.node.id == SHOP
    assert found.params == {"project": "shop"}
    assert [e.node.id for e in found.choices][:2] == [WORKER, WORKER_CONTAINER]


def test_a_runbook_run_on_its_own_binds_the_store_its_service_is_configured_with() -> None:
    both = book(
        "app-and-cache",
        "App and cache",
        applies_to=["compose.service"],
        params={"service": {}, "store": {"target": "redis"}},
    )
    live = two_of_each()
    trees = [compose(service("api", depends_on=(SESSIONS_ADDRESS,))), redis(), redis("sessions")]
    found = bind_from_scene(both, live, scene(*trees), {})
    assert found.params == {"service": "api", "store": "sessions"}


def test_a_group_is_not_bound_unless_selected() -> None:
    project = book(
        "compose-project",
        "Project",
        applies_to=["compose.project"],
        params={"project": {"default": "default"}},
    )
    live = environment()
    found = bind_from_scene(project, live, scene(compose(service("api"))), {})
    assert found.entity is None
    assert found.params == {"project": "default"}


def test_with_no_entity_it_applies_to_it_binds_from_the_inventory() -> None:
    runbook = book("redis-ping", "Ping", params={"cache": {"target": "redis"}})
    live = environment()
    found = bind_from_scene(runbook, live, scene(compose(service("api")), redis()), {})
    assert (found.params, found.entity, found.choices) == ({"cache": "cache"}, None, [])


def test_when_nothing_binds_the_error_says_what_it_could_be_about() -> None:
    on_ecs = book(
        "compose-on-ecs",
        "Service on ECS",
        applies_to=["compose.service"],
        params={"cluster": {"target": "ecs"}},
    )
    live = environment()
    names = ["api", "billing", "cron", "mailer", "search", "worker", "zeta"]
    trees = compose(*(service(name) for name in names))
    with pytest.raises(BindingError) as caught:
        bind_from_scene(on_ecs, live, scene(trees), {})
    assert str(caught.value) == (
        "compose-on-ecs needs cluster (a ecs target); pass --param NAME=VALUE"
        "; it could be about: api, billing, cron, mailer, search"
    )
    assert caught.value.missing == ("cluster (a ecs target)",)


def test_when_nothing_binds_the_error_is_the_one_the_likeliest_entity_met() -> None:
    on_ecs = book(
        "compose-on-ecs",
        "Service on ECS",
        applies_to=["compose.service"],
        params={"engine": {"target": "compose"}, "cluster": {"target": "ecs"}},
    )
    live = two_of_each()
    trees = [compose(service("api")), compose(engine="edge")]
    with pytest.raises(BindingError) as caught:
        bind_from_scene(on_ecs, live, scene(*trees), {})
    # Bound to api, only the cluster is missing (the inventory alone would miss the engine too).
    assert str(caught.value) == (
        "compose-on-ecs needs cluster (a ecs target); pass --param NAME=VALUE"
        "; it could be about: api, shop-api-1"
    )


def test_when_nothing_binds_and_nothing_applies_the_error_is_the_inventory_s() -> None:
    runbook = book("redis-ping", "Ping", params={"cache": {"target": "redis"}})
    live = environment(redis_names=("cache", "sessions"))
    with pytest.raises(BindingError) as caught:
        bind_from_scene(runbook, live, scene(redis(), redis("sessions")), {})
    assert str(caught.value) == "redis-ping needs cache (a redis target); pass --param NAME=VALUE"
    assert caught.value.missing == ("cache (a redis target)",)


def test_candidates_for_weighs_nothing_without_a_library() -> None:
    live = environment()
    index = index_of([compose(service("api"))], live)
    assert candidates_for("api is down", [], index, [], [], {}, live) == []
