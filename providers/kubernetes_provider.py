"""Kubernetes through the official client: namespaces, their workloads and pods, checks, logs.

One target is one cluster context (`options: {context, kubeconfig, namespaces}`). This module
holds discovery; the connection is `kubernetes_client`, the checks `kubernetes_pod_checks` and
`kubernetes_workload_checks`, the fixes `kubernetes_actions`, the streams `kubernetes_logs`, and
what an object's JSON means `kubernetes_state`. Importing it does not import `kubernetes`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from providers.base import Provider
from providers.contract import CheckCall, Health, Node, Status
from providers.kubernetes_actions import KubernetesActions
from providers.kubernetes_client import KubernetesBase, owner
from providers.kubernetes_event_checks import KubernetesEventChecks
from providers.kubernetes_log_checks import KubernetesLogChecks
from providers.kubernetes_logs import KubernetesLogs
from providers.kubernetes_pod_checks import KubernetesPodChecks
from providers.kubernetes_state import (
    name_of,
    pod_status,
    selector_string,
    selects,
    workload_status,
    worst,
)
from providers.kubernetes_workload_checks import KubernetesWorkloadChecks

WORKLOADS = (
    ("deployment", "Deployment"),
    ("statefulset", "StatefulSet"),
    ("daemonset", "DaemonSet"),
)
NAMESPACE_CHECKS = (
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
POD_CHECKS = (
    "k8s.pod_waiting_reasons",
    "k8s.pending_pods",
    "k8s.restarts",
    "k8s.unready_pods",
    "k8s.missing_references",
    "k8s.resource_usage",
)


# The catalogue lists checks and actions in the order of these mixins.
class KubernetesProvider(
    KubernetesPodChecks,
    KubernetesWorkloadChecks,
    KubernetesEventChecks,
    KubernetesLogChecks,
    KubernetesActions,
    KubernetesLogs,
    KubernetesBase,
    Provider,
):
    """One cluster context; its namespaces, their workloads and their pods are the tree."""

    kind = "kubernetes"
    root_logs_are_changes = True  # engine events / pod watches

    def root_checks(self) -> tuple[CheckCall, ...]:
        return tuple(CheckCall(name) for name in NAMESPACE_CHECKS)

    async def discover(self) -> Node:
        name = f"{self.target.name} ({self.context or '?'} @ {self.address})"
        try:
            async with asyncio.timeout(self.timeout):
                version = await self._request("GET", "/version/")
                namespaces = await self.namespaces()
                children = await asyncio.gather(*(self._namespace(ns) for ns in namespaces))
        except TimeoutError:
            status = Status(Health.FAILING, f"{self.address}: no answer within {self.timeout:g}s")
            return self._root(name, status, ())
        except Exception as error:  # the tree shows why, instead of failing discovery
            return self._root(name, Status(Health.FAILING, self.describe_error(error)), ())
        health = worst(child.status.health for child in children)
        troubled = [child for child in children if child.status.health is not Health.OK]
        reason = f"Kubernetes {version.get('gitVersion', '?')}, {len(children)} namespaces"
        if troubled:
            reason = "; ".join(f"{child.name}: {child.status.reason}" for child in troubled[:2])
        return self._root(name, Status(health, reason), tuple(children))

    def _root(self, name: str, status: Status, children: tuple[Node, ...]) -> Node:
        return Node(
            id=self.root_id,
            kind="k8s.cluster",
            name=name,
            status=status,
            children=children,
            checks=self.root_checks(),
            has_logs=True,
            detail=self.context,
        )

    async def _namespace(self, namespace: str) -> Node:
        lists = await asyncio.gather(
            self._items("pods", namespace),
            *(self._items(f"{r}s", namespace) for r, _ in WORKLOADS),
        )
        pods, workloads = lists[0], [item for found in lists[1:] for item in found]
        kinds = [kind for (kind, _), found in zip(WORKLOADS, lists[1:], strict=True) for _ in found]
        claimed: set[str] = set()
        children = []
        for resource, workload in zip(kinds, workloads, strict=True):
            mine = [pod for pod in pods if self._owned(resource, workload, pod)]
            claimed.update(name_of(pod) for pod in mine)
            children.append(self._workload(namespace, resource, workload, mine))
        children.extend(self._pod(namespace, pod) for pod in pods if name_of(pod) not in claimed)
        health = worst(child.status.health for child in children)
        bad = [child for child in children if child.status.health is not Health.OK]
        if bad:
            reason = f"{len(bad)} of {len(children)} not ok: {bad[0].name}: {bad[0].status.reason}"
        else:
            reason = f"{len(workloads)} workloads, {len(pods)} pods, all ok"
        params = {"namespace": namespace}
        return Node(
            id=f"{self.root_id}/{namespace}",
            kind="k8s.namespace",
            name=namespace,
            status=Status(health, reason),
            children=tuple(children),
            checks=tuple(CheckCall(check, params) for check in NAMESPACE_CHECKS),
            has_logs=True,
            detail=f"{len(pods)} pods",
        )

    @staticmethod
    def _owned(resource: str, workload: Mapping[str, Any], pod: Mapping[str, Any]) -> bool:
        controller = owner(pod)
        name = name_of(workload)
        if controller and controller[0] != "ReplicaSet":
            return controller[0].lower() == resource and controller[1] == name
        if resource != "deployment":
            return False
        if controller:  # ReplicaSet <deployment>-<pod-template-hash>
            template_hash = pod.get("metadata", {}).get("labels", {}).get("pod-template-hash")
            if template_hash:
                return controller[1] == f"{name}-{template_hash}"
            return controller[1].rsplit("-", 1)[0] == name
        return selects(workload.get("spec", {}).get("selector"), pod["metadata"].get("labels", {}))

    def _workload(
        self, namespace: str, resource: str, workload: Mapping[str, Any], pods: list[Any]
    ) -> Node:
        name = name_of(workload)
        health, reason = workload_status(workload, pods)
        selector = selector_string(workload.get("spec", {}).get("selector"))
        scope = {"namespace": namespace, "selector": selector}
        named = {"namespace": namespace, "name": name}
        checks = [CheckCall("k8s.deployment_replicas", {**named, "kind": resource})]
        checks += [CheckCall(check, scope) for check in POD_CHECKS]
        checks.append(CheckCall("k8s.warning_events", named))
        if resource == "deployment":
            checks.append(CheckCall("k8s.hpa_at_max", {"namespace": namespace, "name": ""}))
        return Node(
            id=f"{self.root_id}/{namespace}/{resource}/{name}",
            kind=f"k8s.{resource}",
            name=f"{resource}/{name}",
            status=Status(health, reason),
            children=tuple(self._pod(namespace, pod) for pod in pods),
            checks=tuple(checks),
            has_logs=True,
            detail=reason.split(";", 1)[0],
        )

    def _pod(self, namespace: str, pod: Mapping[str, Any]) -> Node:
        name = name_of(pod)
        health, reason = pod_status(pod)
        scope = {"namespace": namespace, "pod": name}
        checks = [CheckCall(check, scope) for check in POD_CHECKS]
        checks.append(CheckCall("k8s.warning_events", {"namespace": namespace, "name": name}))
        return Node(
            id=f"{self.root_id}/{namespace}/pod/{name}",
            kind="k8s.pod",
            name=name,
            status=Status(health, reason),
            checks=tuple(checks),
            has_logs=True,
            detail=str(pod.get("status", {}).get("phase", "")),
        )
