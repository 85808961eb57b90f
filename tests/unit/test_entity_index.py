"""How a symptom's words find things in the live tree, each mention with the words that named it:
an address, a pod's hashed name, a whole name, a DNS name's first label, a plural, two words
written apart, a part of a hyphenated name; and what a target listening at `host:port` is when no
address is known but a service has that host's name (compose services are reached by name)."""

from __future__ import annotations

from providers.contract import Health, Node, Status
from runbooks.entities import EntityIndex, pod_base
from tests.unit.test_entities import ADDRESSES, tree

OK = Status(Health.OK, "running")


def said(index: EntityIndex, text: str) -> list[tuple[str, str, str]]:
    return [(m.entity.node.id, m.said, m.how) for m in index.mentions(text)]


def compose(*services: Node, project: str = "shop") -> Node:
    group = Node(f"compose:docker/{project}", "compose.project", project, OK, services)
    return Node("compose:docker", "compose.engine", "docker", OK, (group,))


def service(name: str, *containers: str, depends_on: tuple[str, ...] = ()) -> Node:
    children = tuple(
        Node(f"compose:docker/shop/{name}/{c}", "compose.container", c, OK, depends_on=depends_on)
        for c in containers
    )
    return Node(f"compose:docker/shop/{name}", "compose.service", name, OK, children)


GONE = "payment-worker-5d9c7b8f4-zz9x1"
# A pod gone since names its deployment and the pods it runs now.
GONE_POD = [
    ("kubernetes:k8s/shop/deployment/payment-worker", GONE, "hashed"),
    ("kubernetes:k8s/shop/pod/payment-worker-5d9c7b8f4-9qzrt", GONE, "hashed"),
    ("kubernetes:k8s/shop/pod/payment-worker-5d9c7b8f4-xk2lp", GONE, "hashed"),
]


def test_each_mention_keeps_the_words_that_named_it() -> None:
    index = EntityIndex(tree(), ADDRESSES)
    text = (
        "checkout-api times out, payment-worker-5d9c7b8f4-zz9x1 restarts, "
        "invoices pile up, localhost:6380 refuses, checkout retries in shop"
    )
    assert said(index, text) == [
        ("redis:cache", "127.0.0.1:6380", "address"),  # as the index keys it
        *GONE_POD,
        ("kubernetes:k8s/shop/deployment/checkout-api", "checkout-api", "name"),
        ("rabbitmq:broker///invoices", "invoices", "name"),
        ("kubernetes:k8s/shop", "shop", "name"),
    ]


def test_the_strongest_mention_comes_first_whatever_the_names() -> None:
    index = EntityIndex(tree(), ADDRESSES)
    assert said(index, "cache is down; invoices waits on checkout") == [
        ("rabbitmq:broker///invoices", "invoices", "name"),
        ("redis:cache", "cache", "name"),
        ("kubernetes:k8s/shop/deployment/checkout-api", "checkout", "part"),
    ]
    assert said(index, f"{GONE} then 127.0.0.1:5433") == [
        ("postgres:orders-db", "127.0.0.1:5433", "address"),
        *GONE_POD,
    ]
    assert said(index, f"{GONE} calls checkout-api") == [
        *GONE_POD,
        ("kubernetes:k8s/shop/deployment/checkout-api", "checkout-api", "name"),
    ]


def test_a_target_is_named_by_its_own_name_whatever_its_case() -> None:
    index = EntityIndex([Node("redis:Sessions", "redis.instance", "Sessions (10.0.0.7:6379)")])
    assert said(index, "SESSIONS lost keys") == [("redis:Sessions", "sessions", "name")]
    assert said(index, "10.0.0.7:6379 is slow") == []  # no address known for it


def test_a_dns_name_names_by_its_first_label() -> None:
    index = EntityIndex(tree(), ADDRESSES)
    dns = "orders-db.shop.svc.cluster.local"
    assert said(index, f"could not translate host name {dns}") == [
        ("postgres:orders-db", dns, "name")
    ]
    # A label without a hyphen is an ordinary word too ("cache", "api"): it names weakly.
    assert said(index, "timeout reading from cache.prod.internal") == [
        ("redis:cache", "cache.prod.internal", "part")
    ]


def test_a_plural_or_a_singular_names_weakly() -> None:
    queues = tuple(
        Node(f"rabbitmq:broker///{name}", "rabbitmq.queue", name, OK)
        for name in ("invoices", "order", "job", "log")
    )
    index = EntityIndex([Node("rabbitmq:broker", "rabbitmq.node", "broker", OK, queues)])
    assert said(index, "every invoice is late") == [
        ("rabbitmq:broker///invoices", "invoices", "part")  # the form that names it
    ]
    assert said(index, "orders are stuck") == [("rabbitmq:broker///order", "order", "part")]
    assert said(index, "no jobs run") == [("rabbitmq:broker///job", "job", "part")]
    assert said(index, "logs stopped") == [("rabbitmq:broker///log", "log", "part")]
    plural = Node("rabbitmq:broker///jobs", "rabbitmq.queue", "jobs", OK)
    other = EntityIndex([Node("rabbitmq:broker", "rabbitmq.node", "broker", OK, (plural,))])
    assert said(other, "the job never ran") == [("rabbitmq:broker///jobs", "jobs", "part")]
    assert said(index, "a jo, an ord, the s3 bucket") == []


def test_two_words_written_apart_name_what_is_one_word() -> None:
    index = EntityIndex([compose(service("checkout"))])
    assert said(index, "users cannot check out") == [
        ("compose:docker/shop/checkout", "checkout", "part")
    ]


def test_a_part_shared_by_several_names_all_of_them_when_long_enough() -> None:
    index = EntityIndex([compose(service("cart-api"), service("cart-web"))])
    assert said(index, "cart is broken") == [
        ("compose:docker/shop/cart-api", "cart", "part"),
        ("compose:docker/shop/cart-web", "cart", "part"),
    ]


def test_a_short_part_shared_by_two_services_names_neither_even_with_their_containers() -> None:
    index = EntityIndex(
        [compose(service("pdf-renderer", "shop-pdf-renderer-1"), service("pdf-archive"))]
    )
    assert said(index, "pdf generation fails") == []
    alone = EntityIndex([compose(service("pdf-renderer", "shop-pdf-renderer-1"))])
    assert said(alone, "pdf generation fails")[0] == (
        "compose:docker/shop/pdf-renderer",
        "pdf",
        "part",
    )


def test_two_letters_are_a_name_but_never_a_part() -> None:
    index = EntityIndex([compose(service("db"), service("orders-db"))])
    assert said(index, "db is down") == [("compose:docker/shop/db", "db", "name")]
    index = EntityIndex(tree(), ADDRESSES)
    assert said(index, "the db is slow") == []


def test_a_part_of_a_workloads_name_names_the_workload_not_its_pods() -> None:
    index = EntityIndex(tree(), ADDRESSES)
    assert said(index, "payment is slow") == [
        ("kubernetes:k8s/shop/deployment/payment-worker", "payment", "part")
    ]


def test_a_group_is_named_only_by_its_name() -> None:
    index = EntityIndex(tree(), ADDRESSES)
    assert said(index, "both shops are down") == []


def test_a_name_shared_with_a_group_names_the_others_weakly() -> None:
    database = Node("postgres:shop", "postgres.server", "shop (10.0.0.5:5432)")
    index = EntityIndex([*tree(), database])
    assert said(index, "shop is down") == [
        ("postgres:shop", "shop", "part"),
        ("kubernetes:k8s/shop", "shop", "name"),
    ]
    twins = [
        Node("kubernetes:a", "k8s.deployment", "deployment/api"),
        Node("kubernetes:b", "k8s.deployment", "deployment/api"),
    ]
    assert said(EntityIndex(twins), "api is down") == [
        ("kubernetes:a", "api", "name"),
        ("kubernetes:b", "api", "name"),
    ]


def test_words_that_name_nothing_are_passed_over() -> None:
    index = EntityIndex(tree(), ADDRESSES)
    assert said(index, "zookeeper-0 lost quorum, connect ECONNREFUSED 10.9.9.9:2181") == []


def test_a_host_port_without_a_known_address_is_the_target_or_the_service_of_that_name() -> None:
    cache = Node("redis:cache", "redis.instance", "cache (unix socket)")
    web = Node("compose:docker/shop/cache", "compose.service", "cache")
    index = EntityIndex([compose(web, service("api")), cache])
    found = index.at_address("CACHE:6379")
    assert found is not None and found.node is cache  # the target before its namesake
    alone = EntityIndex([compose(service("queue", "shop-queue-1"))])
    found = alone.at_address("queue:5672")
    assert found is not None and found.node.id == "compose:docker/shop/queue"
    assert alone.at_address("shop:5672") is None  # a project is not a host
    assert alone.at_address("mail:25") is None
    assert index.at_address("[::1]:6379") is None
    known = EntityIndex(tree(), ADDRESSES).at_address("[::1]:6380")
    assert known is not None and known.node.id == "redis:cache"
    http = Node("http:api", "http.endpoint", "api (http://api.internal:8080/health)")
    probed = EntityIndex([http], {"http:api": "http://api.internal:8080/health"})
    found = probed.at_address("API.internal:8080")
    assert found is not None and found.node is http


def test_dependencies_are_the_other_targets_an_entity_reaches() -> None:
    api = service("api", "shop-api-1", depends_on=("cache:6379", "orders-db:5432", "10.9.9.9:25"))
    cache = Node("redis:cache", "redis.instance", "cache (10.0.0.7:6379)")
    database = Node("postgres:orders-db", "postgres.server", "orders-db (10.0.0.5:5432)")
    index = EntityIndex([compose(api), cache, database])
    entity = index.entity("compose:docker/shop/api/shop-api-1")
    assert entity is not None
    assert (entity.target, entity.target_kind) == ("docker", "compose")
    assert [e.node.id for e in index.dependencies(entity)] == ["redis:cache", "postgres:orders-db"]
    own = EntityIndex([compose(service("api", "shop-api-1", depends_on=("api:8000",)))])
    container = own.entity("compose:docker/shop/api/shop-api-1")
    assert container is not None and own.dependencies(container) == []  # itself


def test_a_store_whose_clients_give_a_service_name_is_what_that_service_uses() -> None:
    """PostgreSQL's sessions say who they are (application_name): the database that
    `storefront`, or a pod of `billing-worker`, holds sessions on is their dependency."""
    shop = Node(
        "postgres:orders-db/shop",
        "postgres.database",
        "shop",
        OK,
        clients=("storefront", "billing-worker-5d9c7b8f4-xk2lp", "reports@cron-1"),
    )
    database = Node("postgres:orders-db", "postgres.server", "orders-db", OK, (shop,))
    storefront = Node("http:storefront", "http.endpoint", "storefront (http://10.0.0.9/health)")
    billing = service("billing-worker", "shop-billing-worker-1")
    reports = service("reports", "shop-reports-1")
    other = service("checkout", "shop-checkout-1")
    index = EntityIndex([compose(billing, reports, other), storefront, database])

    def uses(node_id: str) -> list[str]:
        found = index.entity(node_id)
        assert found is not None
        return [e.node.id for e in index.dependencies(found)]

    assert uses("http:storefront") == ["postgres:orders-db/shop"]
    assert uses("compose:docker/shop/billing-worker") == ["postgres:orders-db/shop"]
    assert uses("compose:docker/shop/reports") == ["postgres:orders-db/shop"]  # before the @
    assert uses("compose:docker/shop/checkout") == []
    assert uses("compose:docker/shop") == []  # a project is no client
    assert uses("postgres:orders-db") == []  # nor is the server its own
    # A name too short to tell one service from another ("api", "web") ties nothing; a name
    # is read before a space as before an @.
    named = Node(
        "postgres:orders-db/shop",
        "postgres.database",
        "shop",
        OK,
        clients=("api", "checkout web-1"),
    )
    short = EntityIndex(
        [
            compose(service("api", "shop-api-1"), other),
            Node("postgres:orders-db", "postgres.server", "orders-db", OK, (named,)),
        ]
    )
    api, checkout = (short.entity(f"compose:docker/shop/{name}") for name in ("api", "checkout"))
    assert api is not None and short.dependencies(api) == []
    assert checkout is not None
    assert [e.node.id for e in short.dependencies(checkout)] == ["postgres:orders-db/shop"]


def test_every_node_is_an_entity() -> None:
    index = EntityIndex(tree(), ADDRESSES)
    ids = [entity.node.id for entity in index.entities()]
    assert ids == [node.id for root in tree() for node in root.walk()]


def test_a_pods_base_is_its_workloads_name() -> None:
    assert pod_base("web-5d9c7b8f4-xk2lp") == "web"
    assert pod_base("redis-0") == "redis"
    assert pod_base("etcd-xk2lp") == "etcd"
    assert pod_base("orders-mysql-0") == "orders-mysql"  # "mysql" reads as a hash, the 0 not
    assert pod_base("nightly-export-28999260-x2x9q") == "nightly-export"


def test_a_store_called_by_its_kind_is_named_weakly_when_it_is_the_only_one() -> None:
    cache = Node("redis:cache", "redis.instance", "cache (10.0.0.7:6379)")
    sessions = Node("redis:sessions", "redis.instance", "sessions (10.0.0.8:6379)")
    database = Node("postgres:orders-db", "postgres.server", "orders-db (10.0.0.5:5432)")
    one = EntityIndex([compose(service("api", "shop-api-1")), cache, database])
    said = [(m.entity.node.id, m.said, m.how) for m in one.mentions("the Redis lost keys")]
    assert said == [("redis:cache", "redis", "part")]
    assert [m.entity.node.id for m in one.mentions("is our Postgres down?")] == [
        "postgres:orders-db"
    ]
    two = EntityIndex([cache, sessions, database])
    assert two.mentions("the Redis lost keys") == []  # which one is not said


def test_a_queues_consumers_named_after_pods_are_their_workload() -> None:
    queue = Node(
        "rabbitmq:broker///payments",
        "rabbitmq.queue",
        "payments",
        OK,
        clients=("payment-worker-5d9c7b8f4-xk2lp", "payment-worker-5d9c7b8f4-9qzrt", "ghost"),
    )
    index = EntityIndex([*tree(), Node("rabbitmq:broker", "rabbitmq.node", "broker", OK, (queue,))])
    found = index.entity(queue.id)
    assert found is not None
    assert [e.node.id for e in index.clients_of(found)] == [
        "kubernetes:k8s/shop/deployment/payment-worker"
    ]
