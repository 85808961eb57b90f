"""Faults the fourth set of held-out scenarios (`scenarios/heldout4_*`) needs and the other
helpers do not make, each undone after its scenario: a PostgreSQL that is a streaming replica
(read-only) where the application writes, a client's TLS handshake with a port that speaks plain
HTTP, a compose service created and never started behind a dependency, an application pool's
idle sessions, cache keys written without an expiry, a DaemonSet holding a host port on every
node, and ECS tasks stopped for failing their container health check.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.diagnosis.world import COMPOSE_PROJECT, ScenarioEnv, compose_labels


def until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Wait for a state (polling), or fail naming it."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not reached in {timeout:.0f} s: {what}")
        time.sleep(0.1)


# -- PostgreSQL -----------------------------------------------------------------------------------


def shop_schema(server: Any) -> None:
    """The shop's database on `server`, as the baseline's orders-db holds it."""
    server.execute("CREATE DATABASE shop")
    with server.connect(dbname="shop") as conn:
        conn.execute(
            "CREATE TABLE customers (id serial PRIMARY KEY, email text NOT NULL);"
            "CREATE TABLE orders (id serial PRIMARY KEY, customer_id int REFERENCES "
            "customers, total numeric NOT NULL, created_at timestamptz DEFAULT now());"
            "INSERT INTO customers (email) SELECT 'c' || n || '@shop.test' "
            "FROM generate_series(1, 200) n;"
            "INSERT INTO orders (customer_id, total) SELECT 1 + n % 200, n % 300 "
            "FROM generate_series(1, 5000) n;"
        )


def streaming_replica(env: ScenarioEnv, primary: Any) -> Any:
    """A hot standby of `primary` made as a failover leaves the old primary (pg_basebackup -R:
    standby.signal and primary_conninfo), started, its WAL receiver streaming. It accepts
    connections and reads, and refuses every write. Removed after the scenario."""
    from tests.servers.postgres import (
        PostgresServer,
        _as_postgres,
        _make_owned_dir,
        postgres_bindir,
    )
    from tests.servers.process import free_port

    root = _make_owned_dir("triage-pg-")
    options = _as_postgres()
    options["env"] = {**options["env"], "PGPASSWORD": primary.password}
    done = subprocess.run(
        [
            str(postgres_bindir() / "pg_basebackup"),
            "--host", primary.host,
            "--port", str(primary.port),
            "--username", primary.user,
            "--pgdata", str(root / "data"),
            "--write-recovery-conf",
            "--wal-method", "stream",
            "--checkpoint", "fast",
            "--no-sync",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        **options,
    )  # fmt: skip
    if done.returncode != 0:
        import shutil

        shutil.rmtree(root, ignore_errors=True)
        raise AssertionError(f"pg_basebackup failed: {done.stderr.strip()}")
    standby = PostgresServer(host="127.0.0.1", port=free_port(), root=root, max_connections=20)
    env.later(standby.remove)
    standby.start()

    def streaming() -> bool:
        rows = standby.execute(
            "SELECT pg_is_in_recovery(), (SELECT status FROM pg_stat_wal_receiver)"
        )
        return bool(rows) and rows[0][0] is True and rows[0][1] == "streaming"

    until(streaming, 30, f"standby {standby.address} streaming from {primary.address}")
    return standby


def pool_sessions(env: ScenarioEnv, server: Any, *, count: int, app: str) -> None:
    """`count` sessions an application's connection pool keeps open on `server`'s shop
    database: each ran its query and went back to idle (autocommit, no transaction left open);
    closed after the scenario."""
    import psycopg

    held: list[Any] = []

    def close() -> None:
        for conn in held:
            with contextlib.suppress(Exception):
                conn.close()

    env.later(close)
    for index in range(count):
        conn = psycopg.connect(
            server.dsn_with_password(server.password, dbname="shop"),
            autocommit=True,
            application_name=app,
            connect_timeout=5,
        )
        held.append(conn)
        conn.execute("SELECT id, total FROM orders WHERE customer_id = %s", (index + 1,)).fetchall()

    def all_idle() -> bool:
        rows = server.execute(
            "SELECT state, count(*) FROM pg_stat_activity WHERE application_name = %s "
            "GROUP BY state",
            (app,),
        )
        return dict(rows) == {"idle": count}

    until(all_idle, 10, f"{count} idle sessions of {app}")


# -- HTTP -----------------------------------------------------------------------------------------


def https_to_plain_port(port: int, path: str) -> str:
    """What Python's requests says when it speaks TLS to `port` and a plain HTTP server
    answers (the server's listener lost its `ssl`): the exception as the client logs it."""
    import requests

    try:
        requests.get(f"https://127.0.0.1:{port}{path}", timeout=5)
    except requests.exceptions.SSLError as error:
        return f"requests.exceptions.SSLError: {error}"
    raise AssertionError(f"port {port} completed a TLS handshake")


def fetch(url: str) -> tuple[int, str]:
    """An HTTP GET as curl makes it: the status and the body."""
    import httpx

    response = httpx.get(url, timeout=5)
    return response.status_code, response.text


# -- Redis ----------------------------------------------------------------------------------------


def cached_without_expiry(server: Any, prefix: str, values: dict[str, str]) -> None:
    """`values` written under `prefix` with a plain SET (no EX), as a writer that lost its
    expiry writes them; checked to have no TTL."""
    client = server.client()
    with client.pipeline(transaction=False) as pipe:
        for key, value in values.items():
            pipe.set(f"{prefix}{key}", value)
        pipe.execute()
    sample = [f"{prefix}{key}" for key in list(values)[:20]]
    if any(client.ttl(key) != -1 for key in sample):
        raise AssertionError(f"keys {prefix}* expire")
    client.close()


# -- Compose --------------------------------------------------------------------------------------


def created_not_started(
    env: ScenarioEnv,
    service: str,
    script: str,
    *,
    depends_on: str,
    environment: dict[str, str] | None = None,
    project: str = COMPOSE_PROJECT,
) -> Any:
    """A compose service's container as `docker compose up` leaves it when a dependency it
    waits for never became healthy: created, never started (`depends_on`: the label compose
    writes, e.g. `db:service_healthy:false`). Removed after the scenario."""
    from tests.servers.docker_engine import TEST_IMAGE_LABEL

    engine = env.world.docker()
    name = f"{project}-{service}-1"
    client = engine.client()
    labels = {
        **compose_labels(project, service),
        "com.docker.compose.depends_on": depends_on,
        TEST_IMAGE_LABEL: "1",
    }
    container = client.containers.create(
        engine.image,
        ["sh", "-c", script],
        name=name,
        labels=labels,
        environment=environment or {},
        network_mode="host",
    )

    def remove() -> None:
        with contextlib.suppress(Exception):
            engine.client().containers.get(name).remove(force=True)

    env.later(remove)
    container.reload()
    if container.attrs["State"]["Status"] != "created":
        raise AssertionError(f"{name} is {container.attrs['State']['Status']}")
    return container


# -- Kubernetes -----------------------------------------------------------------------------------


def host_port_daemonset(
    env: ScenarioEnv, name: str, namespace: str, port: int, nodes: tuple[str, ...]
) -> None:
    """A DaemonSet whose pod on every node binds `port` on the node (hostPort), running and
    ready, as a node exporter does."""
    from tests.servers.kube_objects import namespace as namespace_obj
    from tests.servers.kube_workloads import container_spec, daemonset, pod, running, ts

    labels = {"app.kubernetes.io/name": name}
    spec = container_spec(name)
    spec["image"] = "quay.io/prometheus/node-exporter:v1.8.2"
    spec["ports"] = [
        {"name": "metrics", "containerPort": port, "hostPort": port, "protocol": "TCP"}
    ]
    spec["resources"] = {"limits": {"cpu": "200m", "memory": "64Mi"}}
    made = daemonset(name, namespace, desired=len(nodes), labels=labels)
    made["spec"]["template"]["spec"] = {"containers": [spec], "hostNetwork": False}
    objs: list[dict[str, Any]] = [namespace_obj(namespace), made]
    for index, node in enumerate(nodes):
        status = running(name, ready=True, image=spec["image"])
        status["state"]["running"]["startedAt"] = ts(86400 * 12)
        made_pod = pod(
            f"{name}-{('k7x2q', 'm4r8d', 'p9w3z')[index % 3]}",
            namespace,
            labels={**labels, "controller-revision-hash": "6d5f8c9b7"},
            statuses=[status],
            containers=[spec],
            owner=("DaemonSet", name),
            node=node,
        )
        made_pod["metadata"]["creationTimestamp"] = ts(86400 * 12)
        made_pod["status"]["podIP"] = f"10.1.{index + 1}.{200 + index}"
        made_pod["status"]["hostIP"] = f"10.0.{index + 1}.{20 + index}"
        objs.append(made_pod)
    env.kube_put(*objs)


# -- ECS ------------------------------------------------------------------------------------------


def failed_container_health(stack: Any, arns: list[str], *, minutes_apart: float) -> None:
    """Tasks ECS stopped because their essential container's health check kept failing: the
    scheduler's stop (ServiceSchedulerInitiated, "Task failed container health checks"), the
    container UNHEALTHY, and the application's clean exit on SIGTERM (0)."""
    from bench.diagnosis.world import CLUSTER

    now = datetime.now(UTC)
    for index, arn in enumerate(arns):
        stack.aws.stop_task(
            CLUSTER,
            arn,
            stop_code="ServiceSchedulerInitiated",
            reason="Task failed container health checks",
            exit_code=0,
        )
        task = stack.aws._task(CLUSTER, arn)
        task.stopped_at = now - timedelta(minutes=index * minutes_apart)
        for container in task.containers:
            container.health_status = "UNHEALTHY"
        if arn in stack.running:
            stack.running.remove(arn)
    described = stack.ecs.describe_tasks(cluster=CLUSTER, tasks=arns)["tasks"]
    if len(described) != len(arns) or any(
        task["lastStatus"] != "STOPPED"
        or task.get("stoppedReason") != "Task failed container health checks"
        for task in described
    ):
        raise AssertionError("the tasks are not stopped for their container health check")
