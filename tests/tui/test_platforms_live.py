"""The main screen against the real compose, kubernetes and ecs providers and their backends.

A private Docker engine, the fake Kubernetes API and the moto server, driven through Pilot as an
operator would: the tree's live status, a followed container log, a CloudWatch log tail.
"""

from __future__ import annotations

import time
from pathlib import Path

import docker
import pytest

import providers.ecs_logs as ecs_logs
from providers.contract import Health
from providers.inventory import Target
from tests.servers import kube_objects as k8s
from tests.servers.docker_engine import DockerEngine
from tests.servers.kube_api import FakeKubeApi, kube_target
from tests.servers.moto_server import CONTAINER, LOG_GROUP, MotoAws
from tests.tui.conftest import inventory_of, wait_for_group, wait_until
from tests.tui.record_platforms import CRASH_POD, HEALTHY_POD, ecs_incident, kubernetes_incident
from tui.app import TriageApp
from tui.screens.main_screen import MainScreen
from tui.widgets.log_tail import LogTail
from tui.widgets.service_tree import ServiceTree

pytestmark = pytest.mark.integration

TICKER = 'i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 0.2; done'


async def choose(pilot, node_id: str) -> None:  # type: ignore[no-untyped-def]
    """Wait for the node in the tree, then select it with the keyboard."""
    app = pilot.app
    await wait_until(pilot, lambda: isinstance(app.screen, MainScreen), timeout=10)
    tree = app.query_one(ServiceTree)
    await wait_until(pilot, lambda: tree.node_by_id(node_id) is not None, timeout=20)
    tree.focus()
    tree.point_at(node_id)
    await pilot.press("enter")
    await wait_until(pilot, lambda: app.screen.selected.id == node_id)


async def test_lines_the_container_writes_follow_live_in_the_pane(
    docker_engine: DockerEngine, docker_client: docker.DockerClient
) -> None:
    docker_engine.run(
        ["sh", "-c", TICKER],
        name="shop-api-1",
        labels={
            "com.docker.compose.project": "shop",
            "com.docker.compose.service": "api",
            "com.docker.compose.container-number": "1",
        },
    )
    target = Target(kind="compose", name="docker", url=docker_engine.base_url, timeout=10)
    app = TriageApp(inventory_of(target))
    async with app.run_test(size=(100, 30)) as pilot:
        await choose(pilot, "compose:docker/shop/api")
        tree = app.query_one(ServiceTree)
        assert tree.node_by_id("compose:docker/shop").status.health is Health.OK  # type: ignore[union-attr]
        view = app.query_one(LogTail).view
        selected_at = time.time()
        first_seen: dict[str, float] = {}
        written: dict[str, float] = {}

        def new_ticks() -> bool:
            now = time.time()
            for line in view.visible_lines():
                if line.text.startswith("tick ") and line.text not in first_seen:
                    first_seen[line.text] = now
                    written[line.text] = line.time.timestamp()  # the engine's stamp
            fresh = [text for text in written if written[text] > selected_at + 0.5]
            return len(fresh) >= 5

        await wait_until(pilot, new_ticks, timeout=10)
        fresh = [text for text in written if written[text] > selected_at + 0.5]
        delays = [first_seen[text] - written[text] for text in fresh]
        # How fast is measured, not asserted (benchmarks time; tests would flake under load):
        # about 0.13 s on a quiet machine. What must hold is that they keep coming, in order.
        print(f"container line -> pane delays: {[f'{delay:.3f}s' for delay in delays]}")
        assert all(delay >= 0 for delay in delays), delays
        assert sorted(fresh, key=lambda text: written[text]) == sorted(
            fresh, key=lambda text: first_seen[text]
        )
        assert all(source == "shop-api-1" for source in {ln.source for ln in view.visible_lines()})


async def test_a_killed_container_stops_the_pane_and_its_start_follows_again(
    docker_engine: DockerEngine, docker_client: docker.DockerClient
) -> None:
    api = docker_engine.run(
        ["sh", "-c", "echo api up; sleep 300"],
        name="shop-api-1",
        labels={
            "com.docker.compose.project": "shop",
            "com.docker.compose.service": "api",
            "com.docker.compose.container-number": "1",
        },
    )
    target = Target(kind="compose", name="docker", url=docker_engine.base_url, timeout=10)
    app = TriageApp(inventory_of(target))
    async with app.run_test(size=(100, 30)) as pilot:
        await choose(pilot, "compose:docker/shop/api/shop-api-1")
        tail = app.query_one(LogTail)
        await wait_until(pilot, lambda: "api up" in tail.view.visible_texts()[-1])
        assert tail.border_subtitle == "following"

        api.kill()  # as `docker kill` does
        await wait_until(
            pilot,
            lambda: tail.border_subtitle == "stopped: container killed by SIGKILL (137)",
            timeout=30,
            state=lambda: (tail.border_subtitle, tail.view.visible_texts()[-3:]),
        )
        assert tail.view.visible_texts()[-1].endswith(
            "ERROR shop-api-1 stopped: container killed by SIGKILL (137)"
        )

        api.start()
        await wait_until(
            pilot,
            lambda: tail.border_subtitle == "following",
            timeout=30,
            state=lambda: (tail.border_subtitle, tail.view.visible_texts()[-3:]),
        )
        # The new run's line, and the one saying it started (in the engine's time order, which
        # may put the start a moment after the run's first line).
        await wait_until(
            pilot,
            lambda: sum("api up" in text for text in tail.view.visible_texts()) == 2,
            state=lambda: tail.view.visible_texts()[-3:],
        )
        assert any(
            text.endswith("INFO  shop-api-1 started again: following its log")
            for text in tail.view.visible_texts()
        )


async def test_the_namespace_and_a_failing_pod_show_in_the_tree_and_follow_the_api(
    kube_api: FakeKubeApi, kubeconfig: Path
) -> None:
    kubernetes_incident(kube_api)
    crash = k8s.waiting("job", "CrashLoopBackOff", "back-off 40s", restarts=4)
    kube_api.put(k8s.namespace("jobs"), k8s.pod("reindex", "jobs", statuses=[crash]))
    app = TriageApp(inventory_of(kube_target(kubeconfig, name="eks")))
    async with app.run_test(size=(100, 30)) as pilot:
        await choose(pilot, f"kubernetes:eks/prod/pod/{CRASH_POD}")
        tree = app.query_one(ServiceTree)
        await wait_for_group(app, "checks")

        def health(node_id: str) -> Health:
            return tree.node_by_id(f"kubernetes:eks{node_id}").status.health  # type: ignore[union-attr]

        pod = tree.node_by_id(f"kubernetes:eks/prod/pod/{CRASH_POD}")
        assert pod is not None and pod.status.health is Health.FAILING
        assert pod.status.reason.startswith("CrashLoopBackOff (last: OOMKilled, exit code 137)")
        assert health("/jobs") is Health.FAILING  # a bare pod crash-looping fails its namespace
        assert health("/jobs/pod/reindex") is Health.FAILING
        assert health("/prod") is Health.DEGRADED  # one of two replicas still serves
        assert "CrashLoopBackOff" in tree.node_by_id("kubernetes:eks/prod").status.reason  # type: ignore[union-attr]
        assert health(f"/prod/pod/{HEALTHY_POD}") is Health.OK
        assert "failing" in str(tree.root.children[0].children[0].label)  # jobs sorts first
        view = app.query_one(LogTail).view
        await wait_until(pilot, lambda: any("97% loaded" in t for t in view.visible_texts()))

        # The pod recovers: the next refresh shows it, with no restart of the app.
        labels = {"app": "checkout", "pod-template-hash": "7c9f8d6b5"}
        owner = ("ReplicaSet", "checkout-7c9f8d6b5")
        kube_api.put(k8s.pod(CRASH_POD, "prod", labels=labels, owner=owner))
        kube_api.put(k8s.deployment("checkout", "prod", replicas=2, labels={"app": "checkout"}))
        await pilot.press("u")
        await wait_until(pilot, lambda: health("/prod") is Health.OK, timeout=10)
        assert health(f"/prod/pod/{CRASH_POD}") is Health.OK


async def test_the_ecs_service_shows_its_status_and_tails_cloudwatch(
    aws: MotoAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ecs_logs, "POLL_SECONDS", 0.2)
    ecs_incident(aws)
    app = TriageApp(inventory_of(aws.target(live_tail=False)))
    service_id = "ecs:prod/shop-prod/shop-prod-api"
    async with app.run_test(size=(100, 30)) as pilot:
        await choose(pilot, service_id)
        tree = app.query_one(ServiceTree)
        cluster = tree.node_by_id("ecs:prod/shop-prod")
        service = tree.node_by_id(service_id)
        assert cluster is not None and cluster.status.health is Health.FAILING
        assert service is not None and service.status.health is Health.FAILING
        assert service.status.reason.startswith("0/2 running")
        assert [task.status.health for task in service.children] == [Health.FAILING] * 2
        assert all("CannotPullContainerError" in t.status.reason for t in service.children)
        view = app.query_one(LogTail).view
        await wait_until(pilot, lambda: any("shutdown complete" in t for t in view.visible_texts()))
        assert any(
            "following CloudWatch Logs /ecs/shop-prod/api" in t for t in view.visible_texts()
        )

        aws.put_logs(LOG_GROUP, f"ecs/{CONTAINER}/abc123", ["ERROR pull failed, retrying 1.4.3"])
        put_at = time.monotonic()
        await wait_until(
            pilot, lambda: any("pull failed, retrying" in t for t in view.visible_texts())
        )
        print(f"CloudWatch event -> pane: {time.monotonic() - put_at:.2f}s")
        line = next(ln for ln in view.visible_lines() if "pull failed" in ln.text)
        assert line.level == "error" and line.source == f"ecs/{CONTAINER}/abc123"
