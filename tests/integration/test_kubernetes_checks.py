"""The kubernetes provider's checks and discovery against the fake API server, over HTTP through
the official client: a healthy namespace, then each failure k8sgpt and guide 004 look for."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from providers.contract import CheckCall, CheckResult, CheckStatus, Health
from providers.kubernetes_provider import KubernetesProvider
from tests.servers import kube_objects as k
from tests.servers.kube_api import FakeKubeApi, kube_target
from tests.servers.process import free_port

pytestmark = pytest.mark.integration

NS = "prod"
CHECKS = (
    "k8s.pod_waiting_reasons",
    "k8s.pending_pods",
    "k8s.restarts",
    "k8s.unready_pods",
    "k8s.missing_references",
    "k8s.deployment_replicas",
    "k8s.hpa_at_max",
    "k8s.service_endpoints",
    "k8s.warning_events",
    "k8s.resource_usage",
)


@contextlib.asynccontextmanager
async def opened(
    config: Path, timeout: float = 3.0, **options: Any
) -> AsyncIterator[KubernetesProvider]:
    provider = KubernetesProvider(kube_target(config, timeout, **options))
    try:
        yield provider
    finally:
        await provider.close()


async def run(provider: KubernetesProvider, check: str, **params: Any) -> CheckResult:
    result = await provider.run_check(CheckCall(check, {"namespace": NS, **params}))
    assert "hunter2" not in json.dumps(result.to_dict())  # no secret value, ever
    return result


async def test_healthy_namespace_passes_every_check(
    kube_api: FakeKubeApi, kubeconfig: Path
) -> None:
    kube_api.put(*k.healthy_app(NS, "web"))
    async with opened(kubeconfig) as provider:
        results = {name: await run(provider, name) for name in CHECKS}
        root = await provider.discover()

    for name, result in results.items():
        assert result.status is CheckStatus.PASS, (name, result.summary)
    assert results["k8s.pod_waiting_reasons"].facts["pods_checked"] == 2
    assert results["k8s.pod_waiting_reasons"].facts["reasons"] == []
    assert results["k8s.deployment_replicas"].facts["desired"] == 2
    assert results["k8s.deployment_replicas"].facts["ready"] == 2
    assert results["k8s.service_endpoints"].facts["services_checked"] == 1
    assert results["k8s.missing_references"].facts["missing_secrets"] == []
    assert results["k8s.hpa_at_max"].facts["at_max"] == []
    usage = results["k8s.resource_usage"].facts
    assert usage["metrics_available"] is True
    assert usage["max_memory_ratio"] == pytest.approx(100 / 256, abs=0.01)
    assert results["k8s.warning_events"].facts["count"] == 0

    assert root.kind == "k8s.cluster"
    assert root.status.health is Health.OK, root.status.reason
    assert root.name == f"eks (fake @ 127.0.0.1:{kube_api.port})"
    [namespace] = root.children
    assert (namespace.id, namespace.kind) == ("kubernetes:eks/prod", "k8s.namespace")
    [deployment] = namespace.children
    assert deployment.id == "kubernetes:eks/prod/deployment/web"
    assert deployment.status.reason == "2/2 ready"
    assert [pod.kind for pod in deployment.children] == ["k8s.pod", "k8s.pod"]
    assert deployment.children[0].id.startswith("kubernetes:eks/prod/pod/web-5d9c7b8f4-")
    assert deployment.children[0].status.reason == "Running, 1/1 ready"
    checks = {call.check: dict(call.params) for call in deployment.checks}
    assert checks["k8s.pod_waiting_reasons"] == {"namespace": NS, "selector": "app=web"}


async def test_crash_loop_reports_oomkilled_and_exit_code(
    kube_api: FakeKubeApi, kubeconfig: Path
) -> None:
    kube_api.put(*k.healthy_app(NS, "web"))
    crashing = k.waiting(
        "app",
        "CrashLoopBackOff",
        "back-off 5m0s restarting failed container=app pod=worker-0",
        restarts=6,
        last=k.terminated("OOMKilled", 137),
    )
    kube_api.put(k.pod("worker-0", NS, labels={"app": "worker"}, statuses=[crashing]))
    async with opened(kubeconfig) as provider:
        waiting = await run(provider, "k8s.pod_waiting_reasons")
        restarts = await run(provider, "k8s.restarts", threshold=3)
        one = await run(provider, "k8s.pod_waiting_reasons", pod="worker-0")
        root = await provider.discover()

    assert waiting.status is CheckStatus.FAIL
    assert waiting.facts["reasons"] == ["CrashLoopBackOff"]
    assert waiting.facts["last_termination_reason"] == "OOMKilled"
    assert waiting.facts["exit_code"] == 137
    assert waiting.facts["oom_killed"] is True
    assert waiting.facts["pods"] == ["prod/worker-0"]
    assert "OOMKilled" in waiting.summary
    assert waiting.evidence[0].startswith(
        "pod/worker-0 container app: CrashLoopBackOff (last: OOMKilled, exit code 137)"
    )
    assert one.status is CheckStatus.FAIL and one.facts["pods_checked"] == 1
    assert restarts.status is CheckStatus.WARN
    assert restarts.facts["restart_count"] == 6
    assert restarts.facts["over_threshold"] == ["prod/worker-0"]
    assert restarts.facts["last_termination_reason"] == "OOMKilled"
    pod = next(n for n in root.walk() if n.id == "kubernetes:eks/prod/pod/worker-0")
    assert pod.status.health is Health.FAILING
    assert pod.status.reason.startswith("CrashLoopBackOff (last: OOMKilled, exit code 137)")
    assert root.status.health is Health.FAILING


async def test_image_pull_backoff_gives_the_message(
    kube_api: FakeKubeApi, kubeconfig: Path
) -> None:
    message = (
        'Back-off pulling image "registry.example/app:9.9": ErrImagePull: manifest for '
        "registry.example/app:9.9 not found"
    )
    kube_api.put(k.namespace(NS))
    kube_api.put(k.pod("api-1", NS, statuses=[k.waiting("app", "ImagePullBackOff", message)]))
    async with opened(kubeconfig) as provider:
        result = await run(provider, "k8s.pod_waiting_reasons")
    assert result.status is CheckStatus.FAIL
    assert result.facts["reasons"] == ["ImagePullBackOff"]
    assert result.facts["message"] == message
    assert result.facts["image_pull"] is True
    assert result.facts["oom_killed"] is False
    assert message in result.evidence[0]


async def test_missing_secret_and_key_are_config_errors(
    kube_api: FakeKubeApi, kubeconfig: Path
) -> None:
    kube_api.put(*k.healthy_app(NS, "web"))
    env = [
        {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "planner-secrets", "key": "t"}}},
        {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "web-config", "key": "mode"}}},
    ]
    spec = k.container_spec("app", env=env)
    status = k.waiting("app", "CreateContainerConfigError", 'secret "planner-secrets" not found')
    kube_api.put(k.pod("planner-1", NS, statuses=[status], containers=[spec]))
    async with opened(kubeconfig) as provider:
        waiting = await run(provider, "k8s.pod_waiting_reasons")
        missing = await run(provider, "k8s.missing_references")
    assert waiting.status is CheckStatus.FAIL
    assert waiting.facts["reasons"] == ["CreateContainerConfigError"]
    assert waiting.facts["config_error"] is True
    assert waiting.facts["message"] == 'secret "planner-secrets" not found'
    assert missing.status is CheckStatus.FAIL
    assert missing.facts["missing_secrets"] == ["planner-secrets"]
    assert missing.facts["missing_configmaps"] == []
    assert missing.facts["missing_keys"] == ["configmap/web-config:mode"]
    assert missing.facts["pods"] == ["prod/planner-1"]
    assert (
        "pod/planner-1 needs secret prod/planner-secrets, which does not exist" in missing.evidence
    )
    assert any("it has log-level" in line for line in missing.evidence)


async def test_unschedulable_pod_gives_the_scheduler_message(
    kube_api: FakeKubeApi, kubeconfig: Path
) -> None:
    message = "0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available"
    kube_api.put(k.namespace(NS), k.unschedulable_pod("big-0", NS, message))
    async with opened(kubeconfig) as provider:
        result = await run(provider, "k8s.pending_pods")
        root = await provider.discover()
    assert result.status is CheckStatus.FAIL
    assert result.facts["unschedulable"] == ["prod/big-0"]
    assert result.facts["reasons"] == ["Unschedulable"]
    assert result.facts["message"] == message
    assert result.facts["pending"] == 1
    assert f"PodScheduled=False Unschedulable: {message}" in result.evidence[0]
    pod = next(n for n in root.walk() if n.kind == "k8s.pod")
    assert pod.status.health is Health.FAILING
    assert "Unschedulable" in pod.status.reason


async def test_running_but_unready_shows_the_latest_unhealthy_event(
    kube_api: FakeKubeApi, kubeconfig: Path
) -> None:
    kube_api.put(*k.healthy_app(NS, "web"))
    kube_api.put(k.pod("web-x", NS, labels={"app": "web"}, statuses=[k.running(ready=False)]))
    old = "Readiness probe failed: Get http://10.1.0.7:8000/health: connection refused"
    new = "Readiness probe failed: HTTP probe failed with statuscode: 503"
    kube_api.put(k.event(NS, "Pod", "web-x", "Unhealthy", old, seconds_ago=200))
    kube_api.put(k.event(NS, "Pod", "web-x", "Unhealthy", new, seconds_ago=5, count=12))
    async with opened(kubeconfig) as provider:
        result = await run(provider, "k8s.unready_pods", selector="app=web")
    assert result.status is CheckStatus.FAIL
    assert result.facts["unready"] == ["prod/web-x"]
    assert result.facts["running"] == 3 and result.facts["ready"] == 2
    assert result.facts["unhealthy_message"] == new
    assert result.facts["probe"] == "Readiness"
    assert result.evidence == (f"pod/web-x: Running, 0/1 containers ready; Unhealthy: {new} (x12)",)


async def test_deployment_short_of_replicas(kube_api: FakeKubeApi, kubeconfig: Path) -> None:
    kube_api.put(k.namespace(NS), k.deployment("web", NS, replicas=3, ready=1))
    kube_api.put(k.deployment("worker", NS, replicas=2, ready=0))
    async with opened(kubeconfig) as provider:
        one = await run(provider, "k8s.deployment_replicas", name="web")
        every = await run(provider, "k8s.deployment_replicas")
    assert one.status is CheckStatus.WARN
    assert (one.facts["desired"], one.facts["ready"]) == (3, 1)
    assert one.facts["reasons"] == ["MinimumReplicasUnavailable"]
    assert one.summary == "deployment/prod/web: 1/3 ready"
    assert every.status is CheckStatus.FAIL  # worker has none ready
    assert every.facts["short"] == ["prod/web", "prod/worker"]
    assert every.facts["unavailable"] == 4


async def test_hpa_at_its_maximum(kube_api: FakeKubeApi, kubeconfig: Path) -> None:
    kube_api.put(k.namespace(NS), k.hpa("web", NS, "web", current=4, maximum=4, cpu_now=180))
    async with opened(kubeconfig) as provider:
        result = await run(provider, "k8s.hpa_at_max")
    assert result.status is CheckStatus.WARN
    assert result.facts["at_max"] == ["prod/web"]
    assert result.facts["targets_at_max"] == ["deployment/web"]
    assert (result.facts["current_replicas"], result.facts["max_replicas"]) == (4, 4)
    assert result.facts["metrics"] == ["cpu 180%"]
    assert "target cpu 70%" in result.evidence[0]


async def test_service_without_ready_endpoints(kube_api: FakeKubeApi, kubeconfig: Path) -> None:
    kube_api.put(k.namespace(NS), k.service("api", NS, {"app": "api"}))
    kube_api.put(k.endpoints("api", NS, [], not_ready=["10.1.0.9"]))
    kube_api.put(k.service("external", NS, None))  # no selector: not ours to judge
    async with opened(kubeconfig) as provider:
        result = await run(provider, "k8s.service_endpoints")
    assert result.status is CheckStatus.FAIL
    assert result.facts["without_endpoints"] == ["prod/api"]
    assert result.facts["services_checked"] == 1
    assert result.facts["not_ready_addresses"] == 1
    assert result.facts["selector"] == "app=api"


async def test_warning_events_of_one_object(kube_api: FakeKubeApi, kubeconfig: Path) -> None:
    kube_api.put(k.namespace(NS))
    kube_api.put(
        k.event(NS, "Pod", "web-1", "BackOff", "Back-off restarting failed container", count=5)
    )
    kube_api.put(k.event(NS, "Pod", "web-1", "Pulled", "Container image pulled", type_="Normal"))
    kube_api.put(k.event(NS, "Pod", "other", "FailedMount", "MountVolume.SetUp failed"))
    async with opened(kubeconfig) as provider:
        one = await run(provider, "k8s.warning_events", name="web-1")
        every = await run(provider, "k8s.warning_events")
    assert one.status is CheckStatus.WARN
    assert one.facts["reasons"] == {"BackOff": 5}
    assert one.facts["objects"] == ["pod/web-1"]
    assert one.facts["latest_message"] == "Back-off restarting failed container"
    assert "Warning BackOff pod/web-1: Back-off restarting failed container (x5)" in one.evidence[0]
    assert every.facts["reasons"] == {"BackOff": 5, "FailedMount": 1}


async def test_usage_near_the_memory_limit_and_metrics_unavailable(
    kube_api: FakeKubeApi, kubeconfig: Path
) -> None:
    kube_api.put(*k.healthy_app(NS, "web", replicas=1))
    [pod] = [o for o in k.healthy_app(NS, "web", replicas=1) if o["kind"] == "Pod"]
    kube_api.put(k.pod_metrics(pod["metadata"]["name"], NS, {"app": ("480m", "250Mi")}))
    async with opened(kubeconfig) as provider:
        hot = await run(provider, "k8s.resource_usage")
        kube_api.metrics_available = False
        gone = await run(provider, "k8s.resource_usage")
    assert hot.status is CheckStatus.WARN
    assert hot.facts["max_memory_ratio"] == pytest.approx(250 / 256, abs=0.001)
    assert hot.facts["max_cpu_ratio"] == pytest.approx(0.96)
    assert hot.facts["over_ratio"] == [f"prod/{pod['metadata']['name']}/app"]
    assert "memory 250.0 MiB of 256.0 MiB" in hot.evidence[0]
    assert gone.status is CheckStatus.SKIPPED
    assert gone.summary.startswith("metrics unavailable")
    assert gone.facts["metrics_available"] is False


async def test_unreachable_api_server_is_an_error_naming_the_address(tmp_path: Path) -> None:
    port = free_port()
    server = FakeKubeApi()  # only for its kubeconfig writer; never started
    config = server.write_kubeconfig(tmp_path / "kubeconfig")
    server.close()
    text = config.read_text().replace(f"127.0.0.1:{server.port}", f"127.0.0.1:{port}")
    config.write_text(text)
    async with opened(config, timeout=2.0) as provider:
        started = time.monotonic()
        result = await provider.run_check(CheckCall("k8s.pod_waiting_reasons"))
        root = await provider.discover()
        elapsed = time.monotonic() - started
    assert result.status is CheckStatus.ERROR
    assert result.summary == f"127.0.0.1:{port}: connection refused"
    assert result.facts["address"] == f"127.0.0.1:{port}"
    assert root.status.health is Health.FAILING
    assert root.status.reason == f"127.0.0.1:{port}: connection refused"
    assert elapsed < 4.0  # two calls, each within its 2 s timeout


async def test_configured_namespaces_and_an_unknown_context(
    kube_api: FakeKubeApi, kubeconfig: Path
) -> None:
    kube_api.put(*k.healthy_app("prod", "web"), *k.healthy_app("staging", "web"))
    kube_api.put(k.pod("crash", "staging", statuses=[k.waiting("app", "CrashLoopBackOff")]))
    async with opened(kubeconfig, namespaces=["prod"]) as provider:
        root = await provider.discover()
        result = await provider.run_check(CheckCall("k8s.pod_waiting_reasons"))
    assert [child.name for child in root.children] == ["prod"]
    assert result.status is CheckStatus.PASS and result.facts["pods_checked"] == 2
    async with opened(kubeconfig, context="nope") as provider:
        broken = await provider.run_check(CheckCall("k8s.restarts"))
    assert broken.status is CheckStatus.ERROR
    assert "nope" in broken.summary
