"""The containers family's environment-wide, Kubernetes and HTTP runbooks on real fixtures.

env-health checks a whole environment at once: Redis, PostgreSQL, RabbitMQ, an HTTP health
endpoint, the Docker engine and a (fake) Kubernetes API, each an optional target.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from providers.inventory import Target
from runbooks.engine import Verdict
from tests.integration.compose_helpers import run_service
from tests.integration.test_library_containers_compose import (
    SERVING,
    assert_first_confirmed,
    assert_none_confirmed,
    engine_target,
    run_runbook,
)
from tests.servers import kube_objects as k
from tests.servers.docker_engine import DockerEngine
from tests.servers.http import Route, serve_http
from tests.servers.kube_api import FakeKubeApi, kube_target
from tests.servers.postgres import PostgresServer
from tests.servers.process import free_port
from tests.servers.rabbitmq import RabbitMQServer
from tests.servers.redis import RedisServer

pytestmark = pytest.mark.integration

NS = "prod"


@pytest.fixture
def vhost(rabbitmq_server: RabbitMQServer) -> Iterator[str]:
    name = f"containers-{uuid.uuid4().hex[:8]}"
    rabbitmq_server.create_vhost(name)
    try:
        yield name
    finally:
        rabbitmq_server.delete_vhost(name)


@pytest.fixture
def whole_environment(
    monkeypatch: pytest.MonkeyPatch,
    redis_server: RedisServer,
    postgres_server: PostgresServer,
    rabbitmq_server: RabbitMQServer,
    vhost: str,
    kube_api: FakeKubeApi,
    kubeconfig: Path,
    docker_engine: DockerEngine,
    docker_client: docker.DockerClient,
) -> Iterator[list[Target]]:
    """Every kind of target but ECS, all healthy: the test breaks one."""
    monkeypatch.setenv("CONTAINERS_PG_PASSWORD", postgres_server.password)
    monkeypatch.setenv("CONTAINERS_MQ_PASSWORD", rabbitmq_server.password)
    kube_api.put(*k.healthy_app(NS, "web"))
    run_service(docker_engine, "shop", "api", SERVING)
    mq = rabbitmq_server
    with serve_http({"/health": Route(200, '{"status": "ok"}')}) as http:
        yield [
            Target(kind="redis", name="cache", url=redis_server.url, timeout=3),
            Target(
                kind="postgres",
                name="db",
                url=postgres_server.dsn_without_password,
                password={"env": "CONTAINERS_PG_PASSWORD"},
                timeout=5,
            ),
            Target(
                kind="rabbitmq",
                name="mq",
                url=f"amqp://{mq.user}@{mq.host}:{mq.amqp_port}/{vhost}",
                password={"env": "CONTAINERS_MQ_PASSWORD"},
                timeout=5,
                options={"management_url": mq.management_url},
            ),
            Target(kind="http", name="api", url=http.url("/health"), timeout=3),
            engine_target(docker_engine),
            kube_target(kubeconfig),
        ]


ENV_PARAMS = {"project": "shop", "namespace": NS}


async def test_env_health_names_the_dead_redis_first(
    whole_environment: list[Target], redis_server: RedisServer
) -> None:
    redis_server.stop()
    diagnosis = await run_runbook("env-health", whole_environment, ENV_PARAMS)
    assert_first_confirmed(diagnosis, "redis-down")
    statuses = {key: result.status.value for key, result in diagnosis.results.items()}
    assert statuses["redis-ping"] in ("fail", "error")
    assert statuses["ecs-clusters"] == "skipped"  # no ECS target: optional, skipped
    for key in ("containers", "api-health", "db-ready", "broker-connect", "pods", "workloads"):
        assert statuses[key] == "pass", (key, diagnosis.results[key].summary)
    verdicts = {item.cause.id: item.verdict for item in diagnosis.causes}
    assert verdicts["ecs-cluster-inactive"] is Verdict.UNKNOWN
    assert [item.cause.id for item in diagnosis.confirmed] == ["redis-down"]


async def test_env_health_on_a_healthy_environment_confirms_nothing(
    whole_environment: list[Target],
) -> None:
    diagnosis = await run_runbook("env-health", whole_environment, ENV_PARAMS)
    assert_none_confirmed(diagnosis)
    checked = {key for key, result in diagnosis.results.items() if result.status.value == "pass"}
    assert {
        "redis-ping",
        "db-ready",
        "broker-connect",
        "api-health",
        "containers",
        "pods",
    } <= checked


async def test_env_health_with_crashing_pods(
    whole_environment: list[Target], kube_api: FakeKubeApi
) -> None:
    crashing = k.waiting("app", "CrashLoopBackOff", "back-off restarting", restarts=6)
    kube_api.put(k.pod("worker-0", NS, labels={"app": "worker"}, statuses=[crashing]))
    diagnosis = await run_runbook("env-health", whole_environment, ENV_PARAMS)
    assert_first_confirmed(diagnosis, "pods-failing")


# -- Kubernetes: application won't start -------------------------------------------------------


def missing_secret_pod() -> dict[str, Any]:
    env = [
        {"name": "SECRET_KEY", "valueFrom": {"secretKeyRef": {"name": "app-secrets", "key": "k"}}}
    ]
    spec = k.container_spec("app", env=env)
    status = k.waiting("app", "CreateContainerConfigError", 'secret "app-secrets" not found')
    return k.pod("planner-1", NS, labels={"app": "planner"}, statuses=[status], containers=[spec])


async def test_k8s_app_wont_start_on_a_missing_secret(
    kube_api: FakeKubeApi, kubeconfig: Path
) -> None:
    kube_api.put(*k.healthy_app(NS, "web"), missing_secret_pod())
    diagnosis = await run_runbook(
        "k8s-application-wont-start", [kube_target(kubeconfig)], {"namespace": NS}
    )
    assert_first_confirmed(diagnosis, "missing-environment")
    assert diagnosis.results["references"].facts["missing_secrets"] == ["app-secrets"]


async def test_k8s_app_wont_start_image_pull(kube_api: FakeKubeApi, kubeconfig: Path) -> None:
    message = 'Back-off pulling image "registry.example/app:2.0"'
    pulling = k.waiting("app", "ImagePullBackOff", message)
    kube_api.put(*k.healthy_app(NS, "web"), k.pod("api-1", NS, statuses=[pulling]))
    diagnosis = await run_runbook(
        "k8s-application-wont-start", [kube_target(kubeconfig)], {"namespace": NS}
    )
    assert_first_confirmed(diagnosis, "image-pull")


def looping_pods(app: str, exit_code: int, reason: str) -> list[dict[str, Any]]:
    """Two pods of `app` in CrashLoopBackOff, last terminated with `exit_code`."""
    last = k.terminated(reason, exit_code)
    looping = k.waiting("app", "CrashLoopBackOff", "back-off 5m0s", restarts=11, last=last)
    return [
        k.pod(f"{app}-58d7c6b9f4-{s}", NS, labels={"app": app}, statuses=[looping]) for s in "ab"
    ]


async def test_k8s_app_wont_start_when_liveness_kills_a_slow_start(
    kube_api: FakeKubeApi, kubeconfig: Path
) -> None:
    """The kubelet kills each container for failing its liveness probe before the app is up
    (SIGTERM, exit 143): the loop is the probe's doing, not an application crash."""
    pods = looping_pods("payments", 143, "Error")
    refused = (
        'Liveness probe failed: Get "http://10.1.1.7:8081/healthz": connect: connection refused'
    )
    events = [
        k.event(NS, "Pod", p["metadata"]["name"], "Unhealthy", refused, count=30) for p in pods
    ]
    kube_api.put(*k.healthy_app(NS, "web"), *pods, *events)
    diagnosis = await run_runbook(
        "k8s-application-wont-start",
        [kube_target(kubeconfig)],
        {"namespace": NS, "selector": "app=payments"},
    )
    assert_first_confirmed(diagnosis, "health-checks-failing")
    assert diagnosis.results["unready"].facts["probe"] == "Liveness"
    verdicts = {item.cause.id: item.verdict for item in diagnosis.causes}
    assert verdicts["crash-on-start"] is Verdict.LIKELY  # it loops, but the probe is the cause


async def test_k8s_app_wont_start_on_an_app_crash_with_a_probe_failing_too(
    kube_api: FakeKubeApi, kubeconfig: Path
) -> None:
    """An application that exits 1 on start, whose liveness probe also fails while it is down:
    the crash is the cause, the probe only a consequence."""
    pods = looping_pods("payments", 1, "Error")
    refused = "Liveness probe failed: dial tcp 10.1.1.7:8081: connect: connection refused"
    events = [k.event(NS, "Pod", p["metadata"]["name"], "Unhealthy", refused) for p in pods]
    kube_api.put(*pods, *events)
    diagnosis = await run_runbook(
        "k8s-application-wont-start",
        [kube_target(kubeconfig)],
        {"namespace": NS, "selector": "app=payments"},
    )
    assert_first_confirmed(diagnosis, "crash-on-start")


async def test_k8s_app_wont_start_on_a_readiness_probe_failing(
    kube_api: FakeKubeApi, kubeconfig: Path
) -> None:
    ready_no = k.running("app", ready=False)
    pods = [k.pod(f"api-{s}", NS, labels={"app": "api"}, statuses=[ready_no]) for s in "ab"]
    failed = "Readiness probe failed: HTTP probe failed with statuscode: 503"
    events = [k.event(NS, "Pod", p["metadata"]["name"], "Unhealthy", failed) for p in pods]
    kube_api.put(*pods, *events)
    diagnosis = await run_runbook(
        "k8s-application-wont-start",
        [kube_target(kubeconfig)],
        {"namespace": NS, "selector": "app=api"},
    )
    assert_first_confirmed(diagnosis, "health-checks-failing")
    verdicts = {item.cause.id: item.verdict for item in diagnosis.causes}
    assert verdicts["crash-on-start"] is Verdict.RULED_OUT


async def test_k8s_app_healthy_confirms_nothing(kube_api: FakeKubeApi, kubeconfig: Path) -> None:
    kube_api.put(*k.healthy_app(NS, "web"))
    diagnosis = await run_runbook(
        "k8s-application-wont-start", [kube_target(kubeconfig)], {"namespace": NS}
    )
    assert_none_confirmed(diagnosis)


# -- HTTP: cannot access the application, permission denied -------------------------------------


async def test_cannot_access_app_when_nothing_listens() -> None:
    target = Target(
        kind="http", name="app", url=f"http://127.0.0.1:{free_port()}/health", timeout=2
    )
    diagnosis = await run_runbook("compose-cannot-access-app", [target])
    assert_first_confirmed(diagnosis, "nothing-listening")
    assert diagnosis.results["tcp"].facts["reason"] == "refused"


async def test_cannot_access_app_healthy() -> None:
    with serve_http({"/health": Route(200, "ok")}) as server:
        target = Target(kind="http", name="app", url=server.url("/health"), timeout=2)
        diagnosis = await run_runbook("compose-cannot-access-app", [target])
    assert_none_confirmed(diagnosis)


@pytest.mark.parametrize(("status", "cause"), [(403, "missing-role-or-scope"), (200, None)])
async def test_permission_denied(
    status: int, cause: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTAINERS_USER_TOKEN", "user-token-123")
    routes = {"/api/v1/programs": Route(status, '{"detail": "Insufficient permissions"}')}
    with serve_http(routes) as server:
        target = Target(
            kind="http",
            name="api",
            url=server.url("/api/v1/programs"),
            timeout=2,
            options={
                "headers": {"Authorization": {"env": "CONTAINERS_USER_TOKEN", "prefix": "Bearer "}}
            },
        )
        diagnosis = await run_runbook("env-permission-denied", [target])
        assert server.requests[-1]["authorization"] == "Bearer user-token-123"
    if cause is None:
        assert_none_confirmed(diagnosis)
    else:
        assert_first_confirmed(diagnosis, cause)
        assert "user-token-123" not in str(diagnosis.results["request"].to_dict())
