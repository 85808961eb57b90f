"""Every threshold of the pure state models, below, at and above it, and the states the platforms
really show, written from what each server documents:

- Redis refuses a new connection once `connected_clients` reaches `maxclients` ("ERR max number
  of clients reached"): at the limit it is full, not near it.
- Redis at `maxmemory` with an evicting policy (`allkeys-lru` ...) keeps accepting writes by
  dropping keys: working as configured, worth a look, not a failure; with `noeviction` it
  refuses writes (OOM), a failure.
- Docker's RestartCount counts the engine's restarts of a container; triage's threshold is "at
  least N restarts".
- Kubernetes: `ContainerCreating` and `PodInitializing` are a container starting, not a fault;
  a Deployment scaled to 0 replicas has nothing to run and is healthy.
"""

from __future__ import annotations

from typing import Any

import pytest

from providers.compose_model import DEFAULT_RESTART_THRESHOLD, ContainerView, container_status
from providers.contract import Health
from providers.kubernetes_state import pod_status, workload_status
from providers.redis_provider import clients_health, memory_health
from tests.servers import kube_workloads as k
from tests.unit.test_compose_states import inspected


@pytest.mark.parametrize(
    ("connected", "health"),
    [(79, Health.OK), (80, Health.DEGRADED), (99, Health.DEGRADED), (100, Health.FAILING)],
)
def test_redis_clients_against_maxclients(connected: int, health: Health) -> None:
    info = {"connected_clients": connected, "maxclients": 100, "blocked_clients": 0}
    assert clients_health(info)[0] is health


MIB = 1024 * 1024


@pytest.mark.parametrize(
    ("used_mib", "policy", "health"),
    [
        (7.9, "noeviction", Health.OK),
        (8.0, "noeviction", Health.DEGRADED),
        (10.0, "noeviction", Health.FAILING),
        (10.0, "allkeys-lru", Health.DEGRADED),
        (10.0, "volatile-ttl", Health.DEGRADED),
        (11.0, "allkeys-lfu", Health.DEGRADED),
    ],
)
def test_redis_memory_against_maxmemory(used_mib: float, policy: str, health: Health) -> None:
    info = {
        "used_memory": int(used_mib * MIB),
        "maxmemory": 10 * MIB,
        "maxmemory_policy": policy,
    }
    shown, reason = memory_health(info)
    assert shown is health, reason
    if policy != "noeviction" and used_mib >= 10:
        assert "evicting" in reason


def running_with(restarts: int) -> ContainerView:
    attrs: dict[str, Any] = inspected("running", 0, "unless-stopped")
    attrs["RestartCount"] = restarts
    return ContainerView.from_inspect(attrs)


@pytest.mark.parametrize(
    ("restarts", "health"),
    [
        (DEFAULT_RESTART_THRESHOLD - 1, Health.OK),
        (DEFAULT_RESTART_THRESHOLD, Health.FAILING),
        (DEFAULT_RESTART_THRESHOLD + 1, Health.FAILING),
    ],
)
def test_compose_restart_count_against_its_threshold(restarts: int, health: Health) -> None:
    assert container_status(running_with(restarts)).health is health


@pytest.mark.parametrize("reason", ["ContainerCreating", "PodInitializing"])
def test_a_pod_whose_container_is_starting_is_not_a_fault(reason: str) -> None:
    starting = k.waiting("app", reason)
    pod = k.pod("api-7d9f8c6b5-x2x9q", "shop", phase="Pending", statuses=[starting])
    health, text = pod_status(pod)
    assert health is not Health.FAILING, text


def test_a_pod_in_crash_loop_is_a_fault() -> None:
    looping = k.waiting("app", "CrashLoopBackOff", "back-off 5m0s", restarts=7)
    assert pod_status(k.pod("api-7d9f8c6b5-x2x9q", "shop", statuses=[looping]))[0] is (
        Health.FAILING
    )


def test_a_deployment_scaled_to_zero_is_healthy() -> None:
    scaled = k.deployment("promo-mailer", "shop", replicas=0, ready=0)
    health, text = workload_status(scaled, [])
    assert (health, text) == (Health.OK, "scaled to 0")


@pytest.mark.parametrize(
    ("ready", "health"), [(0, Health.FAILING), (1, Health.DEGRADED), (2, Health.OK)]
)
def test_a_deployment_against_its_desired_replicas(ready: int, health: Health) -> None:
    deployment = k.deployment("catalog", "shop", replicas=2, ready=ready)
    assert workload_status(deployment, [])[0] is health
