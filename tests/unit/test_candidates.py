"""Which runbooks a diagnosis weighs for a symptom, and about what: the entities the operator
means (selected, named, else what is failing), every runbook ranked by the symptom's words and
by what is live (runbooks that cannot run here last); what they depend on is in
test_candidate_relations.py, binding in test_candidate_binding.py. Scenes are built by hand
(tests/unit/candidate_scenes.py); the environment's providers are made without connecting to
anything."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from providers.contract import CheckResult, CheckStatus, Node
from runbooks.candidates import (
    Candidate,
    distinctive,
    focus_of,
)
from runbooks.scene import results_by_node
from tests.unit import candidate_scenes
from tests.unit.candidate_scenes import (
    API,
    API_CONTAINER,
    CANNOT_RUN,
    CRASHLOOP,
    REDIS_OOM,
    RESTARTING,
    SHOP,
    WORKER,
    about,
    book,
    broker,
    check,
    compose,
    environment,
    failing,
    index_of,
    postgres,
    ranked,
    redis,
    service,
)


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


def test_a_queue_named_on_its_broker_by_a_word_of_its_own_is_the_queue() -> None:
    """An alert's "queue payments on broker": the queue meant, the broker where it lives."""
    trees = [broker("payments", "orders")]
    assert focus("queue payments on broker is growing", trees) == [
        ("rabbitmq:broker///payments", "named")
    ]
    assert focus("broker is down", trees) == [("rabbitmq:broker", "named")]


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


def test_a_healthy_dependency_is_weighed_only_when_the_focus_fails_or_for_the_trouble_said() -> (
    None
):
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


def test_a_slow_page_leads_to_the_slow_queries_of_the_database_its_sessions_are_on() -> None:
    """Nothing fails; the storefront holds sessions on shop: what makes a page slow there is
    looked at, what is about another trouble is not."""
    slow_queries = book(
        "db-slow", "Slow database queries", applies_to=["postgres.database", "postgres.server"]
    )
    disk = book("db-disk", "Database disk is full", applies_to=["postgres.database"])
    storefront = Node("http:storefront", "http.endpoint", "storefront (http://10.0.0.9/health)")
    trees = [storefront, postgres(clients=("storefront",))]
    said = "the orders page on the storefront takes 6-8 seconds to open"
    found = ranked(said, [slow_queries, disk], trees, environment())
    assert about(found) == [("db-slow", "postgres:orders-db/shop", "dependency")]
    assert found[0].reasons == [
        "about what is slow, as the text says",
        "shop is what the focus needs and the focus depends on it",
    ]
    assert found[0].score == 1 + 14 - 8
    # The same words, the database used by nobody the operator named: no candidate.
    alone = [storefront, postgres(clients=("reports",))]
    assert ranked(said, [slow_queries, disk], alone, environment()) == []


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


def test_stale_data_said_in_other_words_leads_to_the_cache_not_to_what_fails_elsewhere() -> None:
    """Nothing named; a worker of another project fails. "Still show yesterday's prices" is
    stale data: the one cache is looked at, the unrelated failure is not."""
    stale = book("cache-stale", "Stale data from the cache", applies_to=["redis.instance"])
    trees = [compose(service("worker", failing("exited (1)"))), redis()]
    found = ranked(
        "the product pages still show yesterday's prices", [stale, RESTARTING], trees, environment()
    )
    assert about(found) == [("cache-stale", "redis:cache", "text")]
    assert found[0].reasons == ["about what is stale, as the text says"]


def test_a_runbook_about_an_account_the_words_point_at_is_about_the_named_things_account() -> None:
    alarms = book(
        "alarms",
        "Alarm notifications do not arrive",
        applies_to=["ecs.cluster"],
        symptoms=["Nobody was paged"],
    )
    api = Node("ecs:aws/shop/api", "ecs.service", "api", candidate_scenes.OK)
    cluster = Node("ecs:aws/shop", "ecs.cluster", "shop", candidate_scenes.OK, (api,))
    trees = [Node("ecs:aws", "aws.account", "aws", candidate_scenes.OK, (cluster,))]
    [found] = ranked("the api failed and nobody was paged", [alarms], trees, environment())
    assert (found.about, found.role) == ("ecs:aws/shop/api", "text")
    assert found.reasons[-1] == "about shop, which holds api"
    # Words that do not point at it: no candidate, whatever was named.
    assert ranked("the api failed", [alarms], trees, environment()) == []
