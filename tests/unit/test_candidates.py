"""Which runbooks a diagnosis weighs for a symptom, and about what: the entities the operator
means (selected, named, else what is failing), what they depend on, every runbook ranked by the
symptom's words and by what is live (runbooks that cannot run here last), and each bound to its
entity's target and parameters. Scenes are built by hand (tests/unit/candidate_scenes.py); the
environment's providers are made without connecting to anything."""

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
    dependents,
    distinctive,
    focus_of,
    is_store,
    related_to,
)
from runbooks.engine import BindingError
from runbooks.scene import Scene, results_by_node
from tests.unit.candidate_scenes import (
    BROKER_ADDRESS,
    CACHE_ADDRESS,
    ORDERS_DB_ADDRESS,
    SESSIONS_ADDRESS,
    about,
    book,
    broker,
    check,
    compose,
    entity,
    environment,
    failing,
    index_of,
    postgres,
    ranked,
    redis,
    service,
)

API = "compose:docker/shop/api"
API_CONTAINER = "compose:docker/shop/api/shop-api-1"
WORKER = "compose:docker/shop/worker"
WORKER_CONTAINER = "compose:docker/shop/worker/shop-worker-1"
SHOP = "compose:docker/shop"

REDIS_OOM = book(
    "redis-oom",
    "Redis out of memory",
    applies_to=["redis.instance"],
    signatures=["OOM command not allowed"],
)
RESTARTING = book(
    "compose-restarting", "Container keeps restarting", applies_to=["compose.service"]
)
CRASHLOOP = book(
    "k8s-crashloop",
    "Pod crash loop",
    applies_to=["k8s.pod"],
    signatures=["CrashLoopBackOff", "Back-off restarting"],
)
CANNOT_RUN = "cannot run here: what it checks does not exist"


def focus(
    symptom: str,
    trees: Sequence[Node],
    *,
    selected: str | None = None,
    results: Sequence[CheckResult] = (),
) -> list[tuple[str, str]]:
    """The entities the operator means, as (node id, how)."""
    live = environment()
    index = index_of(trees, live)
    picked = index.entity(selected) if selected else None
    found = focus_of(index.mentions(symptom), picked, index, results_by_node(results))
    return [(e.node.id, role) for e, role in found]


def related(
    symptom: str,
    trees: Sequence[Node],
    *,
    selected: str | None = None,
    results: Sequence[CheckResult] = (),
) -> list[str]:
    """What the focus depends on or is suspected of depending on, by node id."""
    live = environment()
    index = index_of(trees, live)
    by_node = results_by_node(results)
    picked = index.entity(selected) if selected else None
    meant = focus_of(index.mentions(symptom), picked, index, by_node)
    return [e.node.id for e in related_to(meant, index, by_node, symptom)]


# -- what the operator means ------------------------------------------------------------------


def test_the_selected_node_is_meant_first_then_what_the_symptom_names() -> None:
    trees = [compose(service("api"), service("worker")), redis()]
    assert focus("cache refuses writes", trees, selected=WORKER) == [
        (WORKER, "selected"),
        ("redis:cache", "named"),
    ]


def test_a_node_both_selected_and_named_is_meant_once_as_selected() -> None:
    trees = [compose(service("api"), service("worker"))]
    assert focus("api is slow", trees, selected=API) == [(API, "selected")]


def test_a_service_named_with_its_group_is_meant_rather_than_the_group() -> None:
    trees = [compose(service("api"), service("worker"))]
    assert focus("api in shop is slow", trees) == [(API, "named")]


def test_a_group_named_alone_is_what_is_meant() -> None:
    trees = [compose(service("api"), service("worker"))]
    assert focus("everything in shop is slow", trees) == [(SHOP, "named")]


def test_a_part_of_a_name_is_meant_only_when_nothing_is_named_whole() -> None:
    trees = [compose(service("orders-api"), service("worker")), redis()]
    assert focus("orders take forever", trees) == [("compose:docker/shop/orders-api", "part")]
    assert focus("orders take forever and cache refuses", trees) == [("redis:cache", "named")]


def test_a_service_and_its_container_named_together_are_the_service() -> None:
    trees = [compose(service("api"), service("worker"))]
    assert focus("api: shop-api-1 exited", trees) == [(API, "named")]
    assert focus("shop-api-1 exited", trees, selected=API) == [(API, "selected")]
    # A store and one of its databases, likewise: the store.
    assert focus("db0 is full", [redis()], selected="redis:cache") == [("redis:cache", "selected")]


def test_a_selected_group_keeps_the_service_named_in_it() -> None:
    trees = [compose(service("api"), service("worker"))]
    assert focus("api is slow", trees, selected=SHOP) == [(SHOP, "selected"), (API, "named")]


def test_with_nothing_named_what_is_failing_is_meant() -> None:
    worker = service("worker")
    trees = [
        compose(service("api", failing("exited (1)")), worker, service("mailer")),
        redis(status=failing("OOM")),
        postgres(),
    ]
    # The worker's status is fine but a check of its container fails; a warning is not a failure.
    results = [
        check(worker.children[0], CheckStatus.FAIL, "health check fails"),
        check(trees[0].children[0].children[2], CheckStatus.WARN, "restarted twice"),
    ]
    assert focus("everything is broken", trees, results=results) == [
        (API, "failing"),
        (WORKER, "failing"),
        ("redis:cache", "failing"),
    ]


def test_with_nothing_named_a_failing_container_is_meant_through_its_service_only() -> None:
    api = service("api", failing("exited (1)"))
    trees = [compose(api)]
    # Only the service is of a kind that is meant on its own; its container is inside it.
    assert focus("it is broken", trees) == [(API, "failing")]


def test_a_short_part_shared_by_several_services_names_none_of_them() -> None:
    trees = [compose(service("orders-api"), service("search-api", failing("exited (2)")))]
    # "api" names neither *-api service: what is failing is meant instead.
    assert focus("the api is slow", trees) == [("compose:docker/shop/search-api", "failing")]


def test_nothing_named_nothing_failing_means_nothing() -> None:
    assert focus("something is off", [compose(service("api")), redis()]) == []


# -- what it depends on ------------------------------------------------------------------------


def test_stores_are_the_targets_others_connect_to_not_what_is_inside_them() -> None:
    live = environment()
    trees = [compose(service("api")), redis(), postgres(), broker("invoices")]
    index = index_of(trees, live)
    stores = [e.node.id for e in index.entities() if is_store(e)]
    assert stores == ["redis:cache", "postgres:orders-db", "rabbitmq:broker"]
    assert not is_store(None)


def test_what_the_focus_is_configured_to_reach_is_related() -> None:
    trees = [
        compose(service("api", depends_on=("cache:6379", ORDERS_DB_ADDRESS))),
        redis(),
        postgres(),
        broker("invoices"),
    ]
    assert sorted(related("api is slow", trees)) == ["postgres:orders-db", "redis:cache"]


def test_a_target_named_by_its_address_is_meant_not_merely_related() -> None:
    trees = [compose(service("api")), redis(), postgres()]
    symptom = f"api: connection refused to {ORDERS_DB_ADDRESS}"
    assert focus(symptom, trees) == [("postgres:orders-db", "named"), (API, "named")]
    assert related(symptom, trees) == []


def test_an_address_in_what_the_focus_shows_brings_that_target_in() -> None:
    api = service("api", failing("exited (1)"))
    trees = [compose(api), redis(), postgres()]
    results = [check(api.children[0], CheckStatus.FAIL, f"dial tcp {CACHE_ADDRESS}: refused")]
    assert related("api is down", trees, results=results) == ["redis:cache"]


def test_addresses_a_check_of_the_focus_reports_bring_each_target_in() -> None:
    api = service("api")
    trees = [compose(api), redis(), postgres()]
    summary = f"cache:6379 unreachable; {ORDERS_DB_ADDRESS} refused"
    results = [check(api, CheckStatus.FAIL, summary)]
    found = related("api is slow", trees, results=results)
    assert sorted(found) == ["postgres:orders-db", "redis:cache"]


def test_a_store_a_word_of_the_symptom_only_partly_names_is_no_dependency() -> None:
    trees = [compose(service("api")), postgres()]
    assert focus("api loses orders", trees) == [(API, "named")]
    assert related("api loses orders", trees) == []


def test_the_focus_own_target_is_not_its_own_dependency() -> None:
    trees = [compose(service("api")), redis(), postgres()]
    assert related(f"cache at {CACHE_ADDRESS} refuses writes", trees) == []


def test_a_failing_focus_that_names_no_dependency_suspects_every_failing_store() -> None:
    trees = [
        compose(service("api", failing("exited (1)"))),
        redis(status=failing("OOM")),
        postgres(),
        broker("invoices", status=failing("memory alarm")),
    ]
    assert related("api is down", trees) == ["redis:cache", "rabbitmq:broker"]


def test_a_focus_that_says_what_it_connects_to_suspects_no_other_store() -> None:
    trees = [
        compose(service("api", failing("exited (1)"), depends_on=("cache:6379",))),
        redis(),
        postgres(status=failing("too many connections")),
    ]
    assert related("api is down", trees) == ["redis:cache"]


def test_a_healthy_focus_suspects_no_store() -> None:
    trees = [compose(service("api")), redis(status=failing("OOM"))]
    assert related("api is slow", trees) == []


def test_a_queue_backing_up_brings_in_its_failing_consumers_only() -> None:
    to_broker = (BROKER_ADDRESS,)
    trees = [
        compose(
            service("api", depends_on=to_broker),
            service("worker", failing("exited (1)"), depends_on=to_broker),
            service("mailer", failing("exited (1)")),
        ),
        broker("invoices"),
    ]
    assert related("invoices keeps growing", trees) == [WORKER]


def test_a_broker_named_brings_in_each_of_its_failing_consumers() -> None:
    to_broker = (BROKER_ADDRESS,)
    trees = [
        compose(
            service("api", failing("exited (1)"), depends_on=to_broker),
            service("worker", failing("exited (1)"), depends_on=to_broker),
            service("mailer", depends_on=to_broker),
        ),
        broker("invoices"),
        redis(status=failing("OOM")),
    ]
    assert related("broker is in a memory alarm", trees) == [API, WORKER]


def test_a_broker_consumers_are_the_services_configured_with_its_address() -> None:
    live = environment()
    to_broker = (BROKER_ADDRESS,)
    trees = [
        compose(
            service("api", depends_on=to_broker),
            service("worker", depends_on=(CACHE_ADDRESS,)),
            service("mailer", depends_on=("10.9.9.9:25",)),
        ),
        redis(),
        broker("invoices"),
    ]
    index = index_of(trees, live)
    queue = entity(index, "rabbitmq:broker///invoices")
    # The api service, not also its container (which says the same); not a service configured
    # with another target or with an address nothing here has.
    assert [e.node.id for e in dependents(queue, index)] == [API]


# -- words -------------------------------------------------------------------------------------


def test_the_words_that_link_a_symptom_to_an_entity_leave_out_log_framing() -> None:
    said = "ERROR 2024-05-01: Invoices failed at shop-api, timeout again; the DB is down"
    assert distinctive(said) == {"invoices", "shop-api", "down"}


# -- ranking -----------------------------------------------------------------------------------


def test_a_runbook_for_kinds_absent_here_ranks_below_every_runnable_one() -> None:
    trees = [compose(service("api")), redis()]
    symptom = "CrashLoopBackOff: Back-off restarting; OOM command not allowed"
    found = ranked(symptom, [CRASHLOOP, REDIS_OOM], trees, environment())
    # The words point harder at the pod runbook; there are no pods here.
    assert about(found) == [("redis-oom", "redis:cache", "text"), ("k8s-crashloop", "", "text")]
    oom, crashloop = found
    assert crashloop.said > oom.said
    assert (oom.runnable, crashloop.runnable) == (True, False)
    assert crashloop.reasons[-1] == CANNOT_RUN
    assert CANNOT_RUN not in oom.reasons
    assert crashloop.score < 0 < oom.score


def test_a_runbook_needing_a_target_kind_not_in_the_inventory_cannot_run() -> None:
    needs_ecs = book(
        "a-needs-ecs",
        "Service events",
        applies_to=["compose.service"],
        params={"cluster": {"target": "ecs"}},
    )
    may_use_ecs = book(
        "b-may-use-ecs",
        "Service events",
        applies_to=["compose.service"],
        params={"cluster": {"target": "ecs", "required": False}},
    )
    trees = [compose(service("api"))]
    found = ranked("", [needs_ecs, may_use_ecs], trees, environment(), selected=API)
    assert about(found) == [("b-may-use-ecs", API, "selected"), ("a-needs-ecs", API, "selected")]
    assert [c.runnable for c in found] == [True, False]


def test_a_runbook_needing_every_kind_of_target_the_inventory_has_can_run() -> None:
    needs_redis = book(
        "redis-ping",
        "Redis ping",
        applies_to=["redis.instance"],
        signatures=["PING"],
        params={"cache": {"target": "redis"}},
    )
    only_redis = environment(compose_engines=(), postgres_names=(), brokers=())
    [found] = ranked("PING times out", [needs_redis], [redis()], only_redis)
    assert (found.about, found.runnable) == ("redis:cache", True)


def test_a_runbook_without_kinds_runs_anywhere_but_is_about_nothing() -> None:
    anywhere = book("env-health", "Environment health", signatures=["health"])
    trees = [compose(service("api")), redis()]
    found = ranked("what is the health of this place", [anywhere], trees, environment())
    assert about(found) == [("env-health", "", "text")]
    assert found[0].runnable


def test_a_failing_entity_named_in_the_symptom_puts_its_runbook_first() -> None:
    compose_slow = book("compose-slow", "Service slow", applies_to=["compose.service"])
    redis_slow = book("redis-slow", "Redis slow", applies_to=["redis.instance"])
    trees = [compose(service("api")), redis(status=failing("loading dataset"))]
    found = ranked("api and cache are slow", [compose_slow, redis_slow], trees, environment())
    assert about(found) == [
        ("redis-slow", "redis:cache", "named"),
        ("compose-slow", API, "named"),
    ]
    assert found[0].reasons[-1] == "cache is failing"
    assert "api is failing" not in found[1].reasons
    # The words point at both alike: failing is what sets them apart.
    assert found[0].said == found[1].said
    assert found[0].score - found[1].score == 6


def test_the_score_adds_the_words_the_role_what_the_entity_shows_and_failing() -> None:
    oomkilled = book(
        "compose-oom",
        "Container out of memory",
        applies_to=["compose.service"],
        signatures=["OOMKilled"],
    )
    trees = [compose(service("api", failing("OOMKilled (exit 137)")))]
    found = ranked("api is out of memory", [oomkilled], trees, environment())
    [candidate] = found
    # Words: 2 of 3 of the title's ("container", "out", "memory") -> 5 x 2/3; named: 20;
    # half of what api shows (its signature, 10); failing: 6.
    assert candidate.said == pytest.approx(3.333)
    assert candidate.live_said == 10
    assert candidate.score == pytest.approx(3.333 + 20 + 5 + 6)
    assert candidate.reasons == [
        "like symptom 'Container out of memory' (67% of its words)",
        "about api (named)",
        "matches signature 'OOMKilled'",
        "api is failing",
    ]


def test_a_failing_entity_the_words_do_not_point_at_is_left_out_when_they_point_elsewhere() -> None:
    trees = [
        compose(service("api", failing("exited (1)"))),
        redis(status=failing("OOM command not allowed")),
    ]
    symptom = "OOM command not allowed when used memory > maxmemory"
    found = ranked(symptom, [RESTARTING, REDIS_OOM], trees, environment())
    assert about(found) == [("redis-oom", "redis:cache", "failing")]


def test_a_failing_entity_holding_the_symptom_words_is_kept_and_raised() -> None:
    worker = service("worker", failing("exited (1)"))
    trees = [
        compose(service("api", failing("exited (1)")), worker),
        redis(status=failing("out of memory")),
    ]
    results = [check(worker.children[0], CheckStatus.FAIL, "errors", "POST /refunds 500")]
    symptom = "refunds fail: OOM command not allowed"
    found = ranked(symptom, [RESTARTING, REDIS_OOM], trees, environment(), results=results)
    # The api fails too, but nothing of it is in the symptom: the words point elsewhere.
    assert about(found) == [
        ("redis-oom", "redis:cache", "failing"),
        ("compose-restarting", WORKER, "failing"),
    ]
    restarting = found[1]
    assert restarting.linked and not found[0].linked
    assert restarting.said == 0
    assert restarting.reasons[-1] == "what worker holds shares the symptom's words"
    assert restarting.score == 8 + 6 + 6  # meant as failing, failing, holding the words


def test_a_vague_symptom_weighs_each_failing_entity_by_what_it_shows() -> None:
    oomkilled = book(
        "compose-oom", "Memory limit hit", applies_to=["compose.service"], signatures=["OOMKilled"]
    )
    trees = [
        compose(service("api", failing("OOMKilled (exit 137)")), service("worker")),
        redis(status=failing("loading")),
    ]
    found = ranked("everything is broken", [RESTARTING, oomkilled], trees, environment())
    assert about(found) == [
        ("compose-oom", API, "failing"),
        ("compose-restarting", API, "failing"),
    ]
    assert [c.live_said for c in found] == [10, 0]
    assert found[0].score - found[1].score == 5


def test_words_only_about_what_is_absent_here_are_as_vague_as_none() -> None:
    trees = [compose(service("api", failing("exited (1)")))]
    found = ranked("pods stuck in CrashLoopBackOff", [RESTARTING, CRASHLOOP], trees, environment())
    assert about(found) == [("compose-restarting", API, "failing"), ("k8s-crashloop", "", "text")]
    assert found[0].score == 8 + 6


def test_a_failing_dependency_outranks_the_healthy_service_named() -> None:
    errors = book("compose-errors", "Service returns errors", applies_to=["compose.service"])
    trees = [
        compose(service("api", depends_on=("cache:6379",))),
        redis(status=failing("OOM command not allowed")),
    ]
    found = ranked("api returns 500", [errors, REDIS_OOM], trees, environment())
    assert about(found) == [
        ("redis-oom", "redis:cache", "dependency"),
        ("compose-errors", API, "named"),
    ]
    dependency = found[0]
    assert dependency.said == 0 and dependency.live_said == 0
    assert dependency.reasons == [
        "cache is failing and the focus depends on it",
        "matches signature 'OOM command not allowed'",
    ]
    assert dependency.score == 14 + 6 + 5


def test_a_healthy_dependency_is_weighed_only_when_the_focus_fails() -> None:
    healthy_api = [compose(service("api", depends_on=("cache:6379",))), redis()]
    assert about(ranked("api is slow", [REDIS_OOM], healthy_api, environment())) == []
    failing_api = [
        compose(service("api", failing("exited (1)"), depends_on=("cache:6379",))),
        redis(),
    ]
    [found] = ranked("api is down", [REDIS_OOM], failing_api, environment())
    assert (found.about, found.role) == ("redis:cache", "dependency")
    assert found.reasons == ["cache is what the focus needs and the focus depends on it"]
    assert found.score == 14 - 8


def test_when_something_is_named_a_runbook_about_something_else_is_no_candidate() -> None:
    trees = [compose(service("api")), redis()]
    memory = book(
        "redis-memory", "Redis memory", applies_to=["redis.instance"], symptoms=["memory is full"]
    )
    assert ranked("api: memory is full", [memory], trees, environment()) == []


def test_an_error_a_signature_knows_is_about_its_kind_whatever_service_was_named() -> None:
    """The api named, its log pasted: the error is Redis's, and the one Redis is looked at."""
    trees = [compose(service("api")), redis()]
    [found] = ranked("api: OOM command not allowed", [REDIS_OOM], trees, environment())
    assert (found.about, found.role) == ("redis:cache", "text")
    two = [compose(service("api")), redis(), redis("sessions")]
    # Two of its kind, neither failing: which one the error came from is not known.
    assert ranked("api: OOM command not allowed", [REDIS_OOM], two, environment()) == []


def test_a_runbook_the_words_point_to_is_about_the_one_thing_of_its_kind() -> None:
    trees = [compose(service("api")), redis()]
    [found] = ranked("OOM command not allowed", [REDIS_OOM], trees, environment())
    assert (found.about, found.role, found.score) == ("redis:cache", "text", 10)
    assert found.reasons == ["matches signature 'OOM command not allowed'"]


def test_a_runbook_the_words_point_to_is_about_the_failing_one_of_several() -> None:
    keys = book("redis-keys", "Keyspace", applies_to=["redis.database"], signatures=["keyspace"])
    cache = redis(databases=3)
    results = [check(cache.children[1], CheckStatus.FAIL, "evictions")]
    [found] = ranked("keyspace misses", [keys], [cache], environment(), results=results)
    assert (found.about, found.role) == ("redis:cache/db1", "text")
    [found] = ranked("keyspace misses", [keys], [cache], environment())
    assert found.entity is None  # three alike and none failing: the inventory says which
    [found] = ranked("keyspace misses", [keys], [redis(databases=1)], environment())
    assert found.about == "redis:cache/db0"


def test_a_runbook_about_servers_and_databases_is_about_the_one_server_of_several_databases() -> (
    None
):
    missing = book(
        "db-missing",
        "Database missing",
        applies_to=["postgres.server", "postgres.database"],
        signatures=['database "(?P<missing>[^"]+)" does not exist'],
    )
    trees = [compose(service("api")), postgres()]
    [found] = ranked('api: database "reports" does not exist', [missing], trees, environment())
    assert (found.about, found.role, found.caught) == (
        "postgres:orders-db",
        "text",
        {"missing": "reports"},
    )


def test_a_runbook_about_a_group_and_its_services_is_about_the_service() -> None:
    stack = book(
        "compose-stack",
        "Stack",
        applies_to=["compose.project", "compose.service"],
        signatures=["stack"],
    )
    [found] = ranked("the stack is down", [stack], [compose(service("api"))], environment())
    assert found.about == API


def test_what_a_signature_catches_goes_with_the_candidate() -> None:
    missing = book(
        "db-missing-relation",
        "Unknown table",
        applies_to=["postgres.server"],
        signatures=['relation "(?P<table>[^"]+)" does not exist'],
    )
    trees = [compose(service("api")), postgres()]
    [found] = ranked('ERROR: relation "orders" does not exist', [missing], trees, environment())
    assert (found.about, found.role) == ("postgres:orders-db", "part")
    assert found.caught == {"table": "orders"}
    assert found.said == 10


def test_a_runbook_applies_to_what_is_inside_its_kind_but_not_across_a_group() -> None:
    for_service = book("compose-service", "Service check", applies_to=["compose.service"])
    for_project = book("compose-project", "Project check", applies_to=["compose.project"])
    anywhere = book("anywhere", "Anything")
    trees = [compose(service("api", failing("exited (1)")))]
    library = [for_service, for_project, anywhere]
    found = ranked("", library, trees, environment(), selected=API_CONTAINER)
    assert about(found) == [("compose-service", API_CONTAINER, "selected")]
    [candidate] = found
    assert candidate.said == 0 and candidate.caught == {}
    assert candidate.reasons == ["about shop-api-1 (selected)", "shop-api-1 is failing"]
    assert candidate.score == 20 + 6


def test_equal_candidates_are_ordered_by_runbook_then_by_entity() -> None:
    first = book("a-restarts", "Restarts", applies_to=["compose.service"])
    second = book("b-restarts", "Restarts", applies_to=["compose.service"])
    trees = [
        compose(service("worker", failing("exited (1)")), service("api", failing("exited (1)")))
    ]
    found = ranked("", [second, first], trees, environment())
    assert about(found) == [
        ("a-restarts", API, "failing"),
        ("a-restarts", WORKER, "failing"),
        ("b-restarts", API, "failing"),
        ("b-restarts", WORKER, "failing"),
    ]


def test_a_candidate_about_nothing_is_about_no_node() -> None:
    candidate = Candidate(REDIS_OOM, None, "text", 10, [])
    assert candidate.about == ""


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
