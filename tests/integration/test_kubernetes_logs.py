"""The kubernetes provider's log streams against the fake API server: followed containers,
previous runs, a deployment's pods merged, and a pod watch told as lines."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from providers.contract import Health, LogLine
from providers.kubernetes_provider import KubernetesProvider
from tests.servers import kube_objects as k
from tests.servers.kube_api import FakeKubeApi, kube_target
from tests.waiting import until

pytestmark = pytest.mark.integration

NS = "prod"
ROOT = "kubernetes:eks"


@contextlib.asynccontextmanager
async def opened(config: Path) -> AsyncIterator[KubernetesProvider]:
    provider = KubernetesProvider(kube_target(config, 3.0))
    try:
        yield provider
    finally:
        await provider.close()


async def wait_for(
    stream: AsyncIterator[LogLine], wanted: Callable[[LogLine], bool], timeout: float = 10.0
) -> LogLine:
    """The first line of the stream that `wanted` accepts, within `timeout` seconds."""
    async with asyncio.timeout(timeout):
        async for line in stream:
            if wanted(line):
                return line
    raise AssertionError("the stream ended")


async def lines_of(
    stream: AsyncIterator[LogLine],
    wanted: Callable[[LogLine], bool],
    count: int,
    timeout: float = 10.0,
) -> list[LogLine]:
    """The first `count` lines of the stream that `wanted` accepts, within `timeout` seconds."""
    found: list[LogLine] = []
    async with asyncio.timeout(timeout):
        async for line in stream:
            if wanted(line):
                found.append(line)
                if len(found) == count:
                    return found
    raise AssertionError(f"the stream ended after {found}")


async def test_a_pod_is_followed_live_after_its_previous_run(
    kube_api: FakeKubeApi, kubeconfig: Path
) -> None:
    status = k.running(restarts=2, last=k.terminated("Error", 1))
    kube_api.put(k.namespace(NS), k.pod("api-1", NS, statuses=[status]))
    kube_api.add_log(NS, "api-1", "Traceback: KeyError 'DATABASE_URL'", previous=True)
    kube_api.add_log(NS, "api-1", "booting")
    async with opened(kubeconfig) as provider:
        stream = provider.logs(f"{ROOT}/{NS}/pod/api-1")
        try:
            previous = await wait_for(stream, lambda line: True)
            booting = await wait_for(stream, lambda line: True)
            kube_api.add_log(NS, "api-1", "ERROR connect ECONNREFUSED 127.0.0.1:5672")
            live = await wait_for(stream, lambda line: "ECONNREFUSED" in line.text)
        finally:
            await stream.aclose()
    assert (previous.source, previous.level) == ("api-1/app (previous)", "error")
    assert previous.text == "Traceback: KeyError 'DATABASE_URL'"
    assert (booting.source, booting.text) == ("api-1", "booting")
    assert live.level == "error"
    assert live.time.tzinfo is not None


async def test_a_deployment_merges_its_pods_and_follows_new_ones(
    kube_api: FakeKubeApi, kubeconfig: Path
) -> None:
    kube_api.put(*k.healthy_app(NS, "web"))
    pods = sorted(name for (_, name) in kube_api.objects[("", "pods")])
    async with opened(kubeconfig) as provider:
        stream = provider.logs(f"{ROOT}/{NS}/deployment/web")
        try:
            reading = asyncio.create_task(
                lines_of(stream, lambda line: "GET" in line.text, len(pods))
            )
            await until(
                lambda: all(kube_api.log_follows[(NS, pod, "app")] for pod in pods),
                what="both pods followed",
                seen=lambda: kube_api.log_follows,
            )
            for pod in pods:  # live lines, not the history a follow starts with
                kube_api.add_log(NS, pod, f"GET /health 200 from {pod}")
            seen = {line.source for line in await reading}
            labels = {"app": "web", "pod-template-hash": "5d9c7b8f4"}
            kube_api.put(k.pod("web-5d9c7b8f4-new", NS, labels=labels))
            await until(
                lambda: kube_api.log_follows[(NS, "web-5d9c7b8f4-new", "app")] > 0,
                what="the new pod followed",
                seen=lambda: kube_api.log_follows,
            )
            kube_api.add_log(NS, "web-5d9c7b8f4-new", "started")
            late = await wait_for(stream, lambda line: line.text == "started")
        finally:
            await stream.aclose()
    assert seen == set(pods)
    assert late.source == "web-5d9c7b8f4-new"


async def test_a_watch_tells_a_pod_entering_crash_loop(
    kube_api: FakeKubeApi, kubeconfig: Path
) -> None:
    kube_api.put(*k.healthy_app(NS, "web"))
    name = "web-5d9c7b8f4-aaaaa0"
    async with opened(kubeconfig) as provider:
        before = await provider.discover()
        stream = provider.logs(f"{ROOT}/{NS}")
        try:
            banner = await wait_for(stream, lambda line: True)
            crashing = k.waiting(
                "app", "CrashLoopBackOff", restarts=3, last=k.terminated("OOMKilled", 137)
            )
            broken = k.pod(
                name,
                NS,
                labels={"app": "web", "pod-template-hash": "5d9c7b8f4"},
                statuses=[crashing],
                owner=("ReplicaSet", "web-5d9c7b8f4"),
            )
            kube_api.put(broken)
            told = await wait_for(stream, lambda line: name in line.text)
            kube_api.remove("Pod", NS, name)
            gone = await wait_for(stream, lambda line: "deleted" in line.text)
        finally:
            await stream.aclose()
        kube_api.put(broken)
        after = await provider.discover()
    assert banner.text == "watching pods in namespace prod: 2 pods, 0 not ok"
    assert told.level == "error"
    assert told.text.startswith(f"pod/{name}: CrashLoopBackOff (last: OOMKilled, exit code 137)")
    assert gone.text == f"pod/{name} deleted"
    assert before.status.health is Health.OK
    assert after.status.health is Health.DEGRADED  # a deployment with a failing pod
    pod = next(n for n in after.walk() if n.id == f"{ROOT}/{NS}/pod/{name}")
    assert pod.status.health is Health.FAILING
    deployment = next(n for n in after.walk() if n.kind == "k8s.deployment")
    assert deployment.status.health is Health.DEGRADED
    assert "CrashLoopBackOff (last: OOMKilled" in deployment.status.reason


async def test_every_line_arrives_once_however_close_their_stamps(
    kube_api: FakeKubeApi, kubeconfig: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("providers.kubernetes_logs.RETRY_SECONDS", 0.1)
    kube_api.put(k.namespace(NS), k.pod("api-1", NS))
    # The kubelet drops a fraction's trailing zeros: as text, .5Z sorts after .500000001Z.
    kube_api.add_log(NS, "api-1", "half", stamp="2026-11-23T03:54:28.5Z")
    kube_api.add_log(NS, "api-1", "half and a nanosecond", stamp="2026-11-23T03:54:28.500000001Z")
    kube_api.add_log(NS, "api-1", "same nanosecond", stamp="2026-11-23T03:54:28.500000001Z")
    async with opened(kubeconfig) as provider:
        stream = provider.logs(f"{ROOT}/{NS}/pod/api-1")
        texts: list[str] = []
        try:
            for _ in range(3):
                texts.append((await wait_for(stream, lambda line: True)).text)
            for n in range(200):  # a burst: many lines within a microsecond
                kube_api.add_log(NS, "api-1", f"burst {n}")
            for _ in range(200):
                texts.append((await wait_for(stream, lambda line: True)).text)
            follows = kube_api.log_follows[(NS, "api-1", "app")]
            reading = asyncio.create_task(wait_for(stream, lambda line: True))
            kube_api.end_streams()  # the server ends the stream; it is opened again
            await until(
                lambda: kube_api.log_follows[(NS, "api-1", "app")] > follows,
                what="the log followed again",
            )
            kube_api.add_log(NS, "api-1", "after the reopening")
            texts.append((await reading).text)
        finally:
            await stream.aclose()
    assert texts == [
        "half",
        "half and a nanosecond",
        "same nanosecond",
        *(f"burst {n}" for n in range(200)),
        "after the reopening",
    ]
