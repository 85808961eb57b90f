"""Small live scenes built by hand for the candidate tests: a compose project of services with
their containers, a Redis, a PostgreSQL server and a broker with a queue, each healthy or
failing, the environment that holds them (creating its providers opens no connection), and
runbooks read by the loader from YAML text."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from providers.contract import CheckResult, CheckStatus, Health, Node, Status
from providers.environment import LiveEnvironment
from providers.inventory import Environment, Inventory, Target
from runbooks.candidates import Candidate, candidates_for, focus_of, related_to
from runbooks.entities import Entity, EntityIndex
from runbooks.loader import load_runbook
from runbooks.model import Runbook
from runbooks.scene import results_by_node

OK = Status(Health.OK, "running")

# Where each target listens, as the inventory writes it; services' configurations name these.
CACHE_ADDRESS = "127.0.0.1:6390"
SESSIONS_ADDRESS = "127.0.0.1:6391"
ORDERS_DB_ADDRESS = "127.0.0.1:5499"
BROKER_ADDRESS = "127.0.0.1:15699"


def failing(reason: str) -> Status:
    return Status(Health.FAILING, reason)


def service(
    name: str,
    status: Status = OK,
    *,
    depends_on: tuple[str, ...] = (),
    engine: str = "docker",
    project: str = "shop",
) -> Node:
    """A compose service with one container, both in `status`, both configured with
    `depends_on`, as the compose provider shows them."""
    service_id = f"compose:{engine}/{project}/{name}"
    container_name = f"{project}-{name}-1"
    container = Node(
        f"{service_id}/{container_name}",
        "compose.container",
        container_name,
        status,
        params=(("project", project), ("service", name), ("container", container_name)),
        depends_on=depends_on,
    )
    return Node(
        service_id,
        "compose.service",
        name,
        status,
        (container,),
        params=(("project", project), ("service", name)),
        depends_on=depends_on,
    )


def compose(*services: Node, engine: str = "docker", project: str = "shop") -> Node:
    group = Node(
        f"compose:{engine}/{project}",
        "compose.project",
        project,
        OK,
        services,
        params=(("project", project),),
    )
    return Node(f"compose:{engine}", "compose.engine", engine, OK, (group,))


def redis(name: str = "cache", status: Status = OK, *, databases: int = 1) -> Node:
    dbs = tuple(
        Node(f"redis:{name}/db{n}", "redis.database", f"db{n}", OK, params=(("db", str(n)),))
        for n in range(databases)
    )
    return Node(f"redis:{name}", "redis.instance", name, status, dbs)


def postgres(
    name: str = "orders-db", status: Status = OK, *, clients: tuple[str, ...] = ()
) -> Node:
    """A server with its database `shop`, which the applications `clients` hold sessions on."""
    database = Node(
        f"postgres:{name}/shop",
        "postgres.database",
        "shop",
        OK,
        params=(("database", "shop"),),
        clients=clients,
    )
    return Node(f"postgres:{name}", "postgres.server", name, status, (database,))


def broker(*queues: str, name: str = "broker", status: Status = OK) -> Node:
    children = tuple(
        Node(
            f"rabbitmq:{name}///{queue}",
            "rabbitmq.queue",
            queue,
            OK,
            params=(("vhost", "/"), ("queue", queue)),
        )
        for queue in queues
    )
    return Node(f"rabbitmq:{name}", "rabbitmq.node", name, status, children)


def environment(
    *,
    compose_engines: Sequence[str] = ("docker",),
    redis_names: Sequence[str] = ("cache",),
    postgres_names: Sequence[str] = ("orders-db",),
    brokers: Sequence[str] = ("broker",),
    params: Mapping[str, str] | None = None,
) -> LiveEnvironment:
    """The inventory of the scenes: its targets' providers are made without connecting."""
    redis_ports = {"cache": CACHE_ADDRESS, "sessions": SESSIONS_ADDRESS}
    targets = [
        Target(kind="compose", name=name, url=f"tcp://127.0.0.1:{2390 + n}")
        for n, name in enumerate(compose_engines)
    ]
    targets += [
        Target(kind="redis", name=name, url=f"redis://{redis_ports[name]}/0")
        for name in redis_names
    ]
    targets += [
        Target(kind="postgres", name=name, url=f"postgresql://app@{ORDERS_DB_ADDRESS}/shop")
        for name in postgres_names
    ]
    targets += [
        Target(kind="rabbitmq", name=name, url=f"http://{BROKER_ADDRESS}") for name in brokers
    ]
    return LiveEnvironment(
        Inventory(environments={"prod": Environment(targets=targets, params=dict(params or {}))})
    )


def index_of(trees: Sequence[Node], live: LiveEnvironment) -> EntityIndex:
    """The trees looked up by name and by the targets' addresses, as a diagnosis builds it."""
    return EntityIndex(trees, {provider.root_id: provider.address for provider in live.providers})


def book(runbook_id: str, title: str, **fields: Any) -> Runbook:
    """A runbook read by the loader from its YAML text (JSON is YAML)."""
    text = json.dumps({"id": runbook_id, "title": title, **fields})
    return load_runbook(Path(f"{runbook_id}.yaml"), text=text)


def check(node: Node, status: CheckStatus, summary: str, *evidence: str) -> CheckResult:
    """A check result on `node`, as a sweep reports it."""
    return CheckResult(
        check="compose.logs",
        target=node.id.split("/", 1)[0].split(":", 1)[1],
        status=status,
        summary=summary,
        evidence=evidence,
        node_id=node.id,
    )


def ranked(
    symptom: str,
    library: Sequence[Runbook],
    trees: Sequence[Node],
    live: LiveEnvironment,
    *,
    results: Sequence[CheckResult] = (),
    selected: str | None = None,
) -> list[Candidate]:
    """The candidates as a diagnosis ranks them: what the symptom names, the focus, what it
    depends on, then every runbook weighed."""
    index = index_of(trees, live)
    by_node = results_by_node(results)
    picked = index.entity(selected) if selected else None
    focus = focus_of(index.mentions(symptom), picked, index, by_node)
    related = related_to(focus, index, by_node, symptom)
    return candidates_for(symptom, library, index, focus, related, by_node, live)


def about(candidates: Sequence[Candidate]) -> list[tuple[str, str, str]]:
    """Each candidate as (runbook, entity id, role), best first."""
    return [(c.runbook.id, c.about, c.role) for c in candidates]


def entity(index: EntityIndex, node_id: str) -> Entity:
    found = index.entity(node_id)
    assert found is not None, node_id
    return found


# Node ids and runbooks the candidate tests share.

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
