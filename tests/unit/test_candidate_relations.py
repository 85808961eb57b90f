"""What a diagnosis looks at besides what the operator means: the stores the focus connects
to (its configuration, the addresses it shows), the failing stores a failing focus may suffer
from, and a queue's consumers (configured with its broker's address, or named by their
connections). Scenes are built by hand (tests/unit/candidate_scenes.py)."""

from __future__ import annotations

from collections.abc import Sequence

from providers.contract import CheckResult, CheckStatus, Node
from runbooks.candidates import (
    dependents,
    focus_of,
    is_store,
    related_to,
)
from runbooks.scene import results_by_node
from tests.unit import candidate_scenes
from tests.unit.candidate_scenes import (
    API,
    BROKER_ADDRESS,
    CACHE_ADDRESS,
    ORDERS_DB_ADDRESS,
    WORKER,
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
from tests.unit.test_candidates import focus


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


def test_a_backed_up_queue_brings_in_the_consumers_its_connections_name_failing_or_not() -> None:
    """The payments queue backs up; its consumers' connections are named after the worker's
    pods. The worker runs (it is slow, not down): its CPU is looked at, as a dependency."""
    cpu = book("cpu", "Containers at their CPU limit", applies_to=["compose.service"])
    queue = Node(
        "rabbitmq:broker///payments",
        "rabbitmq.queue",
        "payments",
        failing("backlog over 1,000"),
        params=(("vhost", "/"), ("queue", "payments")),
        clients=("shop-worker-1",),
    )
    trees = [
        compose(service("worker"), service("mailer")),
        Node("rabbitmq:broker", "rabbitmq.node", "broker", candidate_scenes.OK, (queue,)),
    ]
    found = ranked("queue payments has 2,458 messages", [cpu], trees, environment())
    assert about(found) == [("cpu", candidate_scenes.WORKER_CONTAINER, "dependency")]
    # Consumers nobody's connection names are not brought in, healthy as they are.
    anonymous = Node(
        queue.id, queue.kind, queue.name, queue.status, params=queue.params, clients=()
    )
    trees[1] = Node("rabbitmq:broker", "rabbitmq.node", "broker", candidate_scenes.OK, (anonymous,))
    assert ranked("queue payments has 2,458 messages", [cpu], trees, environment()) == []
