"""The Kubernetes runbooks written from kubernetes.io's debugging pages, on the fake API server:
pods the scheduler cannot place (k8s-pods-pending), containers killed for memory
(k8s-container-oomkilled), a Service with no endpoints (k8s-service-no-endpoints). Each fault
ranks its cause first, confirmed; a healthy namespace confirms nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.integration.library_scenarios import assert_first, assert_healthy, run
from tests.servers import kube_objects as k
from tests.servers.kube_api import FakeKubeApi, kube_target

pytestmark = pytest.mark.integration

NS = "prod"
LABELS = {"app": "web", "pod-template-hash": "5d9c7b8f4"}


def pending(name: str, message: str) -> dict[str, Any]:
    """A pod of `web` the scheduler cannot place, with its message, as the API shows it."""
    spec = k.container_spec("app", limits={"cpu": "500m", "memory": "256Mi"})
    return k.unschedulable_pod(
        name,
        NS,
        message,
        labels=LABELS,
        containers=[spec],
        owner=("ReplicaSet", "web-5d9c7b8f4"),
    )


def scheduling_failed(name: str, message: str) -> dict[str, Any]:
    return k.event(
        NS, "Pod", name, "FailedScheduling", message, count=4, component="default-scheduler"
    )


# -- pods pending ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "cause", "said"),
    [
        (
            "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: "
            "3 No preemption victims found for incoming pod.",
            "insufficient-resources",
            "Insufficient cpu",
        ),
        (
            "0/3 nodes are available: 1 Insufficient memory, 2 Insufficient cpu. preemption: "
            "0/3 nodes are available: 3 No preemption victims found for incoming pod.",
            "insufficient-resources",
            "Insufficient memory",
        ),
        (
            "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. "
            "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
            "node-selector-mismatch",
            "node affinity/selector",
        ),
        (
            "0/3 nodes are available: 3 node(s) had untolerated taint {dedicated: gpu}. "
            "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
            "untolerated-taint",
            "untolerated taint",
        ),
    ],
)
async def test_pending_pods_name_what_the_scheduler_says(
    kube_api: FakeKubeApi, kubeconfig: Path, message: str, cause: str, said: str
) -> None:
    kube_api.put(
        *k.healthy_app(NS, "web"),
        pending("web-5d9c7b8f4-q2wnd", message),
        scheduling_failed("web-5d9c7b8f4-q2wnd", message),
    )
    diagnosis = await run("k8s-pods-pending", kube_target(kubeconfig), namespace=NS)
    assert_first(diagnosis, cause, said)
    assert diagnosis.results["pending"].facts["unschedulable"] == [f"{NS}/web-5d9c7b8f4-q2wnd"]


async def test_pending_pods_found_without_a_namespace(
    kube_api: FakeKubeApi, kubeconfig: Path
) -> None:
    message = "0/3 nodes are available: 3 Insufficient memory."
    kube_api.put(*k.healthy_app(NS, "web"), pending("web-5d9c7b8f4-x7k2p", message))
    diagnosis = await run("k8s-pods-pending", kube_target(kubeconfig))
    assert_first(diagnosis, "insufficient-resources", "Insufficient memory")


async def test_no_pod_pending_confirms_nothing(kube_api: FakeKubeApi, kubeconfig: Path) -> None:
    creating = k.pod(
        "web-6b7c9d8f5-p4n2x",
        NS,
        labels={"app": "web", "pod-template-hash": "6b7c9d8f5"},
        phase="Pending",
        statuses=[k.waiting("app", "ContainerCreating")],
    )  # a rollout's new pod, scheduled, its image being pulled: not a fault
    kube_api.put(*k.healthy_app(NS, "web"), creating)
    diagnosis = await run("k8s-pods-pending", kube_target(kubeconfig), namespace=NS)
    assert_healthy(diagnosis)


# -- OOMKilled -------------------------------------------------------------------------------


def oom_pod(name: str, *, crash_looping: bool) -> dict[str, Any]:
    last = k.terminated("OOMKilled", 137, seconds_ago=90)
    status = (
        k.waiting(
            "app", "CrashLoopBackOff", "back-off 2m40s restarting failed", restarts=6, last=last
        )
        if crash_looping
        else k.running("app", restarts=6, last=last)
    )
    spec = k.container_spec("app", limits={"cpu": "500m", "memory": "256Mi"})
    return k.pod(
        name,
        NS,
        labels=LABELS,
        statuses=[status],
        containers=[spec],
        owner=("ReplicaSet", "web-5d9c7b8f4"),
    )


@pytest.mark.parametrize("crash_looping", [True, False], ids=["crash-looping", "running-again"])
async def test_oom_killed_container(
    kube_api: FakeKubeApi, kubeconfig: Path, crash_looping: bool
) -> None:
    kube_api.put(
        *k.healthy_app(NS, "web"), oom_pod("web-5d9c7b8f4-m4hzt", crash_looping=crash_looping)
    )
    diagnosis = await run(
        "k8s-container-oomkilled", kube_target(kubeconfig), namespace=NS, selector="app=web"
    )
    assert_first(diagnosis, "oom-killed", "waiting: oom killed is true (= true)")
    assert diagnosis.results["waiting"].facts["oom_killed_pods"] == [f"{NS}/web-5d9c7b8f4-m4hzt"]


async def test_memory_at_the_limit_before_any_kill(kube_api: FakeKubeApi, kubeconfig: Path) -> None:
    kube_api.put(*k.healthy_app(NS, "web"))
    for name in ("web-5d9c7b8f4-aaaaa0", "web-5d9c7b8f4-bbbbb1"):
        kube_api.put(k.pod_metrics(name, NS, {"app": ("120m", "250Mi")}))
    diagnosis = await run("k8s-container-oomkilled", kube_target(kubeconfig), namespace=NS)
    assert_first(diagnosis, "near-memory-limit", "usage: max memory ratio is ")


async def test_a_crash_that_is_not_memory_confirms_nothing(
    kube_api: FakeKubeApi, kubeconfig: Path
) -> None:
    crashing = k.waiting(
        "app", "CrashLoopBackOff", "back-off", restarts=9, last=k.terminated("Error", 1)
    )
    kube_api.put(*k.healthy_app(NS, "web"), k.pod("worker-7f9c-abcde", NS, statuses=[crashing]))
    diagnosis = await run("k8s-container-oomkilled", kube_target(kubeconfig), namespace=NS)
    assert_healthy(diagnosis)


# -- a Service without endpoints -------------------------------------------------------------


async def test_service_selector_that_matches_no_pod(
    kube_api: FakeKubeApi, kubeconfig: Path
) -> None:
    kube_api.put(
        *k.healthy_app(NS, "web"),
        k.service("web", NS, {"app": "web", "tier": "frontend"}),  # the pods have no tier
        k.endpoints("web", NS, []),
    )
    diagnosis = await run(
        "k8s-service-no-endpoints", kube_target(kubeconfig), namespace=NS, service="web"
    )
    assert_first(diagnosis, "selector-matches-no-pods", "endpoints: not ready addresses is 0 (= 0)")
    assert diagnosis.results["endpoints"].facts["selector"] == "app=web,tier=frontend"


async def test_service_whose_pods_are_not_ready(kube_api: FakeKubeApi, kubeconfig: Path) -> None:
    unready = [
        k.pod(name, NS, labels=LABELS, statuses=[k.running("app", ready=False)])
        for name in ("web-5d9c7b8f4-aaaaa0", "web-5d9c7b8f4-bbbbb1")
    ]
    kube_api.put(
        *k.healthy_app(NS, "web"), *unready, k.endpoints("web", NS, [], ["10.1.0.10", "10.1.0.11"])
    )
    diagnosis = await run("k8s-service-no-endpoints", kube_target(kubeconfig), namespace=NS)
    assert_first(diagnosis, "pods-not-ready", "endpoints: not ready addresses is ")


async def test_services_with_endpoints_confirm_nothing(
    kube_api: FakeKubeApi, kubeconfig: Path
) -> None:
    kube_api.put(*k.healthy_app(NS, "web"), *k.healthy_app(NS, "api"))
    diagnosis = await run("k8s-service-no-endpoints", kube_target(kubeconfig), namespace=NS)
    assert_healthy(diagnosis)
