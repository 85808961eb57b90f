"""The Kubernetes tree from listed objects: namespaces, their workloads and pods. Pure, no I/O.

`namespace_node` turns one namespace's pods and workloads (the API's JSON) into its `Node`; the
provider lists the objects and calls it in a worker thread, since 2,000 pods take a while. Each
pod's status is worked out once, and pods find their workloads through an index of who owns
them, not by asking every workload about every pod; `owned` is the rule that index follows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from providers.addresses import addresses_in, merged
from providers.contract import CheckCall, Health, Node, Status
from providers.kubernetes_client import owner
from providers.kubernetes_state import (
    name_of,
    pod_status,
    selector_string,
    selects,
    workload_status,
    worst,
)
from providers.units import counted

Obj = Mapping[str, Any]

# (resource, kind) of the workloads, in the order a namespace lists them.
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


def owned(resource: str, workload: Obj, pod: Obj) -> bool:
    """Whether the workload (`deployment`, `statefulset`, `daemonset`) owns the pod.

    By the pod's controller: a StatefulSet or DaemonSet by name; a ReplicaSet named
    `<deployment>-<pod-template-hash>` (else `<deployment>-<anything>`) for a deployment. A pod
    without a controller belongs to each deployment whose matchLabels select it.
    """
    controller = owner(pod)
    if controller is None:
        return resource == "deployment" and selects(
            workload.get("spec", {}).get("selector"), pod["metadata"].get("labels") or {}
        )
    return owner_key(controller, pod) == (resource, name_of(workload))


def owner_key(controller: tuple[str, str], pod: Obj) -> tuple[str, str] | None:
    """(resource, name) of the workload that a pod's controller reference points to, if any."""
    kind, name = controller
    if kind != "ReplicaSet":
        return kind.lower(), name
    template_hash = (pod.get("metadata", {}).get("labels") or {}).get("pod-template-hash")
    if not template_hash:
        return "deployment", name.rsplit("-", 1)[0]
    suffix = f"-{template_hash}"
    return ("deployment", name[: -len(suffix)]) if name.endswith(suffix) else None


def assign(workloads: Sequence[tuple[str, Obj]], pods: Sequence[Obj]) -> list[list[int]]:
    """For each (resource, workload), the indices of the pods it owns (by `owned`), in order."""
    index: dict[tuple[str, str], list[int]] = {}
    deployments: list[int] = []
    for number, (resource, workload) in enumerate(workloads):
        index.setdefault((resource, name_of(workload)), []).append(number)
        if resource == "deployment":
            deployments.append(number)
    mine: list[list[int]] = [[] for _ in workloads]
    for position, pod in enumerate(pods):
        controller = owner(pod)
        if controller is None:
            labels = pod["metadata"].get("labels") or {}
            owners = [
                number
                for number in deployments
                if selects(workloads[number][1].get("spec", {}).get("selector"), labels)
            ]
        else:
            key = owner_key(controller, pod)
            owners = index.get(key, []) if key is not None else []
        for number in owners:
            mine[number].append(position)
    return mine


def namespace_node(
    root_id: str, namespace: str, pods: Sequence[Obj], workloads: Sequence[tuple[str, Obj]]
) -> Node:
    """One namespace: its workloads with the pods they own, then the pods nobody owns."""
    statuses = [pod_status(pod) for pod in pods]
    pod_nodes = [
        pod_node(root_id, namespace, pod, status)
        for pod, status in zip(pods, statuses, strict=True)
    ]
    claimed: set[str] = set()
    children = []
    for (resource, workload), mine in zip(workloads, assign(workloads, pods), strict=True):
        claimed.update(name_of(pods[position]) for position in mine)
        children.append(
            workload_node(
                root_id,
                namespace,
                resource,
                workload,
                [pod_nodes[position] for position in mine],
                [statuses[position] for position in mine],
            )
        )
    children.extend(
        node for pod, node in zip(pods, pod_nodes, strict=True) if name_of(pod) not in claimed
    )
    health = worst(child.status.health for child in children)
    bad = [child for child in children if child.status.health is not Health.OK]
    if bad:
        reason = f"{len(bad)} of {len(children)} not ok: {bad[0].name}: {bad[0].status.reason}"
    else:
        reason = f"{counted(len(workloads), 'workload')}, {counted(len(pods), 'pod')}, all ok"
    params = {"namespace": namespace}
    return Node(
        id=f"{root_id}/{namespace}",
        kind="k8s.namespace",
        name=namespace,
        status=Status(health, reason),
        children=tuple(children),
        checks=tuple(CheckCall(check, params) for check in NAMESPACE_CHECKS),
        has_logs=True,
        detail=counted(len(pods), "pod"),
        params=tuple(params.items()),
    )


def workload_node(
    root_id: str,
    namespace: str,
    resource: str,
    workload: Obj,
    pods: list[Node],
    statuses: list[tuple[Health, str]],
) -> Node:
    """A deployment, statefulset or daemonset over its pods' nodes and their statuses."""
    name = name_of(workload)
    health, reason = workload_status(workload, statuses=statuses)
    selector = selector_string(workload.get("spec", {}).get("selector"))
    scope = {"namespace": namespace, "selector": selector}
    named = {"namespace": namespace, "name": name}
    checks = [CheckCall("k8s.deployment_replicas", {**named, "kind": resource})]
    checks += [CheckCall(check, scope) for check in POD_CHECKS]
    checks.append(CheckCall("k8s.warning_events", named))
    if resource == "deployment":
        checks.append(CheckCall("k8s.hpa_at_max", {"namespace": namespace, "name": ""}))
    template = workload.get("spec", {}).get("template", {}).get("spec", {})
    return Node(
        id=f"{root_id}/{namespace}/{resource}/{name}",
        kind=f"k8s.{resource}",
        name=f"{resource}/{name}",
        status=Status(health, reason),
        children=tuple(pods),
        checks=tuple(checks),
        has_logs=True,
        detail=reason.split(";", 1)[0],
        params=(("namespace", namespace), (resource, name), ("selector", selector)),
        depends_on=merged([env_addresses(template), *(pod.depends_on for pod in pods)]),
    )


def pod_node(root_id: str, namespace: str, pod: Obj, status: tuple[Health, str]) -> Node:
    name = name_of(pod)
    scope = {"namespace": namespace, "pod": name}
    checks = [CheckCall(check, scope) for check in POD_CHECKS]
    checks.append(CheckCall("k8s.warning_events", {"namespace": namespace, "name": name}))
    labels = dict(pod.get("metadata", {}).get("labels") or {})
    labels.pop("pod-template-hash", None)
    labels.pop("controller-revision-hash", None)
    selector = ",".join(f"{key}={value}" for key, value in sorted(labels.items()))
    return Node(
        id=f"{root_id}/{namespace}/pod/{name}",
        kind="k8s.pod",
        name=name,
        status=Status(*status),
        checks=tuple(checks),
        has_logs=True,
        detail=str(pod.get("status", {}).get("phase", "")),
        params=(("namespace", namespace), ("pod", name), ("selector", selector)),
        depends_on=env_addresses(pod.get("spec", {})),
    )


def env_addresses(spec: Mapping[str, Any]) -> tuple[str, ...]:
    """host:port named by the literal environment of a pod spec's containers (values from
    secrets and config maps are not read: they would take a read of each)."""
    environment = {
        str(entry.get("name")): str(entry["value"])
        for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
        for entry in container.get("env") or []
        if "value" in entry
    }
    return addresses_in(environment)
