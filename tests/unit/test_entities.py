"""What a symptom names in the live tree: by name, by a pod's hashed name, by address (with
localhost, 127.0.0.1 and ::1 the same host), by a part of a name; and what an entity depends on,
read from its configuration's addresses."""

from __future__ import annotations

import pytest

from providers.addresses import addresses_in, addresses_in_text
from providers.contract import Health, Node, Status
from runbooks.entities import EntityIndex, pod_base


def tree() -> list[Node]:
    ok = Status(Health.OK, "ok")
    pods = tuple(
        Node(
            f"kubernetes:k8s/shop/pod/payment-worker-5d9c7b8f4-{suffix}",
            "k8s.pod",
            f"payment-worker-5d9c7b8f4-{suffix}",
            ok,
            params=(("namespace", "shop"), ("pod", f"payment-worker-5d9c7b8f4-{suffix}")),
            depends_on=("127.0.0.1:5433",),
        )
        for suffix in ("xk2lp", "9qzrt")
    )
    deployment = Node(
        "kubernetes:k8s/shop/deployment/payment-worker",
        "k8s.deployment",
        "deployment/payment-worker",
        ok,
        pods,
        params=(("namespace", "shop"), ("deployment", "payment-worker")),
    )
    checkout = Node(
        "kubernetes:k8s/shop/deployment/checkout-api", "k8s.deployment", "deployment/checkout-api"
    )
    namespace = Node(
        "kubernetes:k8s/shop",
        "k8s.namespace",
        "shop",
        ok,
        (deployment, checkout),
        params=(("namespace", "shop"),),
    )
    queue = Node(
        "rabbitmq:broker///invoices",
        "rabbitmq.queue",
        "invoices",
        params=(("vhost", "/"), ("queue", "invoices")),
    )
    return [
        Node("redis:cache", "redis.instance", "cache (127.0.0.1:6380)"),
        Node("postgres:orders-db", "postgres.server", "orders-db (127.0.0.1:5433/shop)"),
        Node("rabbitmq:broker", "rabbitmq.node", "broker (127.0.0.1:5672)", ok, (queue,)),
        Node("kubernetes:k8s", "k8s.cluster", "k8s (prod @ 127.0.0.1:6443)", ok, (namespace,)),
    ]


ADDRESSES = {
    "redis:cache": "127.0.0.1:6380",
    "postgres:orders-db": "127.0.0.1:5433/shop",
    "rabbitmq:broker": "127.0.0.1:5672",
    "kubernetes:k8s": "127.0.0.1:6443",
}


def named(text: str) -> list[tuple[str, str]]:
    return [(m.entity.node.id, m.how) for m in EntityIndex(tree(), ADDRESSES).mentions(text)]


@pytest.mark.parametrize(
    "text",
    [
        "Error: connect ECONNREFUSED 127.0.0.1:6380",
        "Redis connection to localhost:6380 failed - connect ECONNREFUSED",
        "dial tcp [::1]:6380: connect: connection refused",
        "redis://:secret@127.0.0.1:6380/0 refused",
    ],
)
def test_an_address_names_the_target_listening_there(text: str) -> None:
    assert named(text)[0] == ("redis:cache", "address")


def test_a_pod_named_by_its_hashed_name_even_one_gone_names_its_deployment() -> None:
    found = named("why does payment-worker-5d9c7b8f4-zz9x1 keep restarting?")
    assert found[0] == ("kubernetes:k8s/shop/deployment/payment-worker", "hashed")
    still_there = named("payment-worker-5d9c7b8f4-xk2lp is in CrashLoopBackOff")
    assert still_there[0] == ("kubernetes:k8s/shop/pod/payment-worker-5d9c7b8f4-xk2lp", "name")


def test_names_are_whole_words_and_groups_come_last() -> None:
    assert named("why is the invoices queue growing in shop?") == [
        ("rabbitmq:broker///invoices", "name"),
        ("kubernetes:k8s/shop", "name"),
    ]
    assert named("invoices-archive is fine") == []  # another name, not invoices


def test_a_part_of_a_name_is_the_weakest_mention() -> None:
    assert named("checkout is slow since 14:00") == [
        ("kubernetes:k8s/shop/deployment/checkout-api", "part")
    ]


def test_a_short_part_names_only_the_one_thing_that_has_it() -> None:
    """ "the sso thing" names sso-gateway when nothing else here has "sso" in its name; "api"
    shared by two services names neither of them."""
    services = [
        Node("compose:docker/shop/sso-gateway", "compose.service", "sso-gateway"),
        Node("compose:docker/shop/api", "compose.service", "api"),
        Node("compose:docker/shop/orders-api", "compose.service", "orders-api"),
        Node("compose:docker/shop/search-api", "compose.service", "search-api"),
    ]
    container = Node(
        "compose:docker/shop/sso-gateway/shop-sso-gateway-1",
        "compose.container",
        "shop-sso-gateway-1",
    )
    services[0] = Node(services[0].id, services[0].kind, services[0].name, children=(container,))
    project = Node("compose:docker/shop", "compose.project", "shop", children=tuple(services))
    index = EntityIndex([Node("compose:docker", "compose.engine", "docker", children=(project,))])

    found = [(m.entity.node.id, m.how) for m in index.mentions("logins via the sso thing crawl")]
    assert found[0] == ("compose:docker/shop/sso-gateway", "part")
    assert {node for node, _ in found} <= {services[0].id, container.id}
    both = {m.entity.node.id for m in index.mentions("is the search api slow?")}
    assert "compose:docker/shop/orders-api" not in both  # "api": a name of its own, and shared
    assert "compose:docker/shop/search-api" in both  # "search" is its alone


def test_what_an_entity_depends_on_is_read_from_its_pods_configuration() -> None:
    index = EntityIndex(tree(), ADDRESSES)
    deployment = index.entity("kubernetes:k8s/shop/deployment/payment-worker")
    assert deployment is not None
    assert [e.node.id for e in index.dependencies(deployment)] == ["postgres:orders-db"]
    assert deployment.params == {"namespace": "shop", "deployment": "payment-worker"}


@pytest.mark.parametrize(
    ("name", "base"),
    [
        ("payment-worker-5d9c7b8f4-xk2lp", "payment-worker"),
        ("nightly-export-6f7d9c-x2x9q", "nightly-export"),
        ("node-exporter-7xk2p", "node-exporter"),
        ("orders-db-0", "orders-db"),
        ("web", None),
    ],
)
def test_pod_base(name: str, base: str | None) -> None:
    assert pod_base(name) == base


def test_addresses_keep_host_and_port_only() -> None:
    environment = {
        "DATABASE_URL": "postgresql://app:s3cret@orders-db:5432/shop",
        "REDIS_HOST": "localhost",
        "REDIS_PORT": "6380",
        "AMQP_URL": "amqp://guest:guest@[::1]/%2F",
        "PGHOST": "db.internal",
        "LOG_LEVEL": "info",
        "LEGACY_DSN": "host=10.0.0.5 port=6432 dbname=x password=y",
    }
    found = addresses_in(environment)
    assert found == (
        "10.0.0.5:6432",
        "127.0.0.1:5672",
        "127.0.0.1:6380",
        "db.internal:5432",
        "orders-db:5432",
    )
    assert not any("s3cret" in item or "guest" in item for item in found)


def test_addresses_in_text_leave_times_of_day_alone() -> None:
    text = "14:05:33 ERROR Redis connection to cache:6379 failed (2026-12-07T14:05:33Z)"
    assert addresses_in_text(text) == ("cache:6379",)
