"""Kubernetes discovery against the fake API server: which lists it asks for, what it does when a
cluster-wide list is forbidden, and which workload each pod is shown under."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from providers.contract import Health, Node
from providers.kubernetes_provider import KubernetesProvider
from providers.kubernetes_tree import assign, owned
from tests.servers import kube_objects as k
from tests.servers.kube_api import FakeKubeApi, kube_target

pytestmark = pytest.mark.integration

LISTS = {
    "pods": "/api/v1",
    "deployments": "/apis/apps/v1",
    "statefulsets": "/apis/apps/v1",
    "daemonsets": "/apis/apps/v1",
}
CLUSTER_WIDE = {f"{prefix}/{resource}" for resource, prefix in LISTS.items()}


def per_namespace(namespaces: list[str]) -> set[str]:
    return {
        f"{prefix}/namespaces/{ns}/{resource}"
        for ns in namespaces
        for resource, prefix in LISTS.items()
    }


async def discover(config: Path, **options: Any) -> Node:
    provider = KubernetesProvider(kube_target(config, **options))
    try:
        return await provider.discover()
    finally:
        await provider.close()


def listed(kube: FakeKubeApi) -> list[str]:
    """The paths of the lists discovery asked for (no /version, no namespaces)."""
    paths = [urlsplit(path).path for method, path in kube.requests if method == "GET"]
    return [path for path in paths if path.rsplit("/", 1)[-1] in LISTS]


def shape(node: Node) -> dict[str, Any]:
    """Everything a node shows but the time it was observed."""
    return {
        "id": node.id,
        "kind": node.kind,
        "name": node.name,
        "status": (node.status.health, node.status.reason),
        "detail": node.detail,
        "checks": [(call.check, dict(call.params)) for call in node.checks],
        "children": [shape(child) for child in node.children],
    }


def three_namespaces(kube: FakeKubeApi) -> None:
    kube.put(*k.healthy_app("prod", "web"), *k.healthy_app("staging", "api", replicas=3))
    kube.put(k.namespace("empty"))
    kube.put(k.statefulset("db", "prod"), k.pod("db-0", "prod", owner=("StatefulSet", "db")))
    kube.put(k.daemonset("agent", "staging", desired=1))
    kube.put(k.pod("agent-x1", "staging", owner=("DaemonSet", "agent")))
    crashing = k.waiting("app", "CrashLoopBackOff", restarts=4)
    kube.put(k.pod("debug", "staging", statuses=[crashing]))


async def test_all_namespaces_are_discovered_with_one_list_per_kind(
    kube_api: FakeKubeApi, kubeconfig: Path
) -> None:
    three_namespaces(kube_api)
    root = await discover(kubeconfig)

    assert sorted(listed(kube_api)) == sorted(CLUSTER_WIDE)  # 4 lists, none per namespace
    assert [child.name for child in root.children] == ["empty", "prod", "staging"]
    empty, prod, staging = root.children
    assert (empty.children, empty.status.reason) == ((), "0 workloads, 0 pods, all ok")
    assert [child.name for child in prod.children] == ["deployment/web", "statefulset/db"]
    assert [pod.name for pod in prod.children[1].children] == ["db-0"]
    assert [child.name for child in staging.children] == [
        "deployment/api",
        "daemonset/agent",
        "debug",
    ]
    assert len(staging.children[0].children) == 3
    assert staging.status.health is Health.FAILING
    assert root.status.reason.startswith("staging: 1 of 3 not ok: debug: CrashLoopBackOff")


async def test_configured_namespaces_are_listed_one_by_one(
    kube_api: FakeKubeApi, kubeconfig: Path
) -> None:
    three_namespaces(kube_api)
    root = await discover(kubeconfig, namespaces=["staging", "prod"])

    assert sorted(listed(kube_api)) == sorted(per_namespace(["staging", "prod"]))
    assert [child.name for child in root.children] == ["staging", "prod"]


async def test_a_forbidden_cluster_wide_pod_list_falls_back_to_each_namespace(
    kube_api: FakeKubeApi, kubeconfig: Path
) -> None:
    three_namespaces(kube_api)
    allowed = await discover(kubeconfig)
    kube_api.requests.clear()
    kube_api.forbidden.add("/api/v1/pods")

    fallback = await discover(kubeconfig)

    assert shape(fallback) == shape(allowed)
    pod_lists = {"/api/v1/pods", *(f"/api/v1/namespaces/{ns}/pods" for ns in ("empty", "prod"))}
    pod_lists.add("/api/v1/namespaces/staging/pods")
    assert sorted(listed(kube_api)) == sorted((CLUSTER_WIDE - {"/api/v1/pods"}) | pod_lists)
    assert listed(kube_api).count("/api/v1/pods") == 1


async def test_every_list_forbidden_cluster_wide_still_gives_the_same_tree(
    kube_api: FakeKubeApi, kubeconfig: Path
) -> None:
    three_namespaces(kube_api)
    allowed = await discover(kubeconfig)
    kube_api.requests.clear()
    kube_api.forbidden.update(CLUSTER_WIDE)

    fallback = await discover(kubeconfig)

    assert shape(fallback) == shape(allowed)
    namespaces = ["empty", "prod", "staging"]
    assert sorted(listed(kube_api)) == sorted(CLUSTER_WIDE | per_namespace(namespaces))


async def test_a_forbidden_namespace_list_is_reported_as_before(
    kube_api: FakeKubeApi, kubeconfig: Path
) -> None:
    three_namespaces(kube_api)
    kube_api.forbidden.add("/api/v1/namespaces")
    root = await discover(kubeconfig)
    assert root.status.health is Health.FAILING
    assert root.children == ()
    assert root.status.reason.startswith(f"127.0.0.1:{kube_api.port}: 403 Forbidden: namespaces")
    assert "at the cluster scope" in root.status.reason


# -- which workload shows which pod ------------------------------------------------------------

NS = "shop"
HASH = "7f9c6d5b8"


def owners_case(kube: FakeKubeApi) -> None:
    """Pods owned in every way `_owned` knew, and some that nobody owns."""
    kube.put(k.namespace(NS))
    kube.put(k.deployment("web", NS, labels={"app": "web"}))
    kube.put(k.deployment("web-canary", NS, labels={"app": "web", "track": "canary"}))
    kube.put(k.deployment("api", NS, replicas=1, labels={"app": "api"}))
    kube.put(k.statefulset("db", NS, labels={"app": "db"}))
    kube.put(k.statefulset("web", NS, labels={"app": "web-db"}))  # a deployment's name
    kube.put(k.daemonset("agent", NS, desired=2, labels={"app": "agent"}))
    hashed = {"app": "web", "pod-template-hash": HASH}
    pods = [
        # ReplicaSet <deployment>-<pod-template-hash>
        k.pod(f"web-{HASH}-aaaaa", NS, labels=hashed, owner=("ReplicaSet", f"web-{HASH}")),
        k.pod(
            f"web-canary-{HASH}-bbbbb",
            NS,
            labels={**hashed, "track": "canary"},
            owner=("ReplicaSet", f"web-canary-{HASH}"),
        ),
        # a ReplicaSet whose name does not end in the pod's hash: no deployment's
        k.pod("stray-ccccc", NS, labels=hashed, owner=("ReplicaSet", "web-0000000")),
        # no pod-template-hash label: the ReplicaSet's name less its last part
        k.pod("api-x-ddddd", NS, labels={"app": "api"}, owner=("ReplicaSet", "api-5b4c")),
        k.pod("db-0", NS, labels={"app": "db"}, owner=("StatefulSet", "db")),
        k.pod("db-1", NS, labels={"app": "db"}, owner=("StatefulSet", "db")),
        k.pod("web-0", NS, labels={"app": "web-db"}, owner=("StatefulSet", "web")),
        k.pod("agent-n1", NS, labels={"app": "agent"}, owner=("DaemonSet", "agent")),
        k.pod("agent-n2", NS, labels={"app": "agent"}, owner=("DaemonSet", "gone")),
        k.pod("migrate-1", NS, labels={"app": "web"}, owner=("Job", "migrate")),
        # no controller: each deployment whose matchLabels select it
        k.pod("web-manual", NS, labels={"app": "web"}),
        k.pod("both", NS, labels={"app": "web", "track": "canary"}),
        k.pod("db-manual", NS, labels={"app": "db"}),  # statefulsets never select
        k.pod("loner", NS, labels={}),
    ]
    kube.put(*pods)


async def test_pods_are_shown_under_the_workloads_that_own_them(
    kube_api: FakeKubeApi, kubeconfig: Path
) -> None:
    owners_case(kube_api)
    root = await discover(kubeconfig)
    [shop] = root.children
    shown = {child.name: [pod.name for pod in child.children] for child in shop.children}
    assert shown == {
        "deployment/api": ["api-x-ddddd"],
        "deployment/web": ["both", f"web-{HASH}-aaaaa", "web-manual"],
        "deployment/web-canary": ["both", f"web-canary-{HASH}-bbbbb"],
        "statefulset/db": ["db-0", "db-1"],
        "statefulset/web": ["web-0"],
        "daemonset/agent": ["agent-n1"],
        # owned by nobody, in the order they were listed
        "agent-n2": [],
        "db-manual": [],
        "loner": [],
        "migrate-1": [],
        "stray-ccccc": [],
    }
    assert [child.name for child in shop.children] == [
        "deployment/api",
        "deployment/web",
        "deployment/web-canary",
        "statefulset/db",
        "statefulset/web",
        "daemonset/agent",
        *("agent-n2", "db-manual", "loner", "migrate-1", "stray-ccccc"),
    ]
    assert shop.detail == "14 pods"


def test_the_owner_index_agrees_with_asking_each_workload_about_each_pod(
    kube_api: FakeKubeApi,
) -> None:
    owners_case(kube_api)
    resources = ("deployment", "statefulset", "daemonset")
    pods = kube_api.list_objects(("", "pods"), NS, {})
    workloads = [
        (resource, item)
        for resource in resources
        for item in kube_api.list_objects(("apps", f"{resource}s"), NS, {})
    ]
    by_pairs = [
        [position for position, pod in enumerate(pods) if owned(resource, workload, pod)]
        for resource, workload in workloads
    ]
    assert assign(workloads, pods) == by_pairs
    assert sum(map(len, by_pairs)) == 10  # "both" twice; five pods nobody owns
