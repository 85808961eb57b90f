"""Builders of Kubernetes workload objects: pods, their containers and container states, and
the controllers that own pods (deployments, statefulsets, daemonsets).

Shaped exactly as the API server returns them (camelCase keys, RFC 3339 times); re-exported by
``tests.servers.kube_objects``, which is where tests import them from.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

Obj = dict[str, Any]


def ts(seconds_ago: float = 0.0) -> str:
    """An RFC 3339 time `seconds_ago` before now, as the API writes it."""
    return (datetime.now(UTC) - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def meta(
    name: str, namespace: str | None, labels: dict[str, str] | None = None, **extra: Any
) -> Obj:
    data: Obj = {"name": name, "labels": dict(labels or {})}
    if namespace is not None:
        data["namespace"] = namespace
    data.update(extra)
    return data


# -- container states -------------------------------------------------------------------------


def running(
    name: str = "app",
    *,
    ready: bool = True,
    restarts: int = 0,
    last: Obj | None = None,
    image: str = "registry.example/app:1.0",
) -> Obj:
    return {
        "name": name,
        "state": {"running": {"startedAt": ts(120)}},
        "lastState": last or {},
        "ready": ready,
        "restartCount": restarts,
        "image": image,
        "imageID": f"{image}@sha256:{'ab' * 32}",
        "containerID": f"containerd://{'cd' * 32}",
        "started": True,
    }


def waiting(
    name: str,
    reason: str,
    message: str = "",
    *,
    restarts: int = 0,
    last: Obj | None = None,
    image: str = "registry.example/app:1.0",
) -> Obj:
    state: Obj = {"reason": reason}
    if message:
        state["message"] = message
    return {
        "name": name,
        "state": {"waiting": state},
        "lastState": last or {},
        "ready": False,
        "restartCount": restarts,
        "image": image,
        "imageID": "",
        "started": False,
    }


def terminated(reason: str, exit_code: int, *, message: str = "", seconds_ago: float = 30) -> Obj:
    """A `lastState` (or `state`) holding a terminated container."""
    data: Obj = {
        "exitCode": exit_code,
        "reason": reason,
        "startedAt": ts(seconds_ago + 10),
        "finishedAt": ts(seconds_ago),
        "containerID": f"containerd://{'ef' * 32}",
    }
    if message:
        data["message"] = message
    return {"terminated": data}


# -- workloads ---------------------------------------------------------------------------------


def container_spec(
    name: str = "app",
    *,
    env: list[Obj] | None = None,
    env_from: list[Obj] | None = None,
    limits: Obj | None = None,
) -> Obj:
    spec: Obj = {
        "name": name,
        "image": "registry.example/app:1.0",
        "ports": [{"containerPort": 8000, "protocol": "TCP"}],
        "resources": {"limits": limits} if limits else {},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "imagePullPolicy": "IfNotPresent",
    }
    if env:
        spec["env"] = env
    if env_from:
        spec["envFrom"] = env_from
    return spec


def pod(
    name: str,
    ns: str = "default",
    *,
    labels: dict[str, str] | None = None,
    phase: str = "Running",
    statuses: list[Obj] | None = None,
    containers: list[Obj] | None = None,
    owner: tuple[str, str] | None = None,
    conditions: list[Obj] | None = None,
    volumes: list[Obj] | None = None,
    node: str | None = "node-1",
) -> Obj:
    """A pod; `ready` conditions follow the container statuses unless given."""
    statuses = statuses if statuses is not None else [running()]
    containers = containers or [container_spec(s["name"]) for s in statuses] or [container_spec()]
    all_ready = bool(statuses) and all(s.get("ready") for s in statuses)
    if conditions is None:
        flag = "True" if all_ready else "False"
        conditions = [
            {"type": "Initialized", "status": "True", "lastTransitionTime": ts(300)},
            {"type": "Ready", "status": flag, "lastTransitionTime": ts(60)},
            {"type": "ContainersReady", "status": flag, "lastTransitionTime": ts(60)},
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": ts(300)},
        ]
        if not all_ready:
            names = ", ".join(s["name"] for s in statuses if not s.get("ready"))
            for condition in conditions[1:3]:
                condition["reason"] = "ContainersNotReady"
                condition["message"] = f"containers with unready status: [{names}]"
    metadata = meta(name, ns, labels)
    if owner:
        kind, owner_name = owner
        metadata["ownerReferences"] = [
            {
                "apiVersion": "apps/v1",
                "kind": kind,
                "name": owner_name,
                "uid": f"uid-{owner_name}",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
    spec: Obj = {
        "containers": containers,
        "restartPolicy": "Always",
        "serviceAccountName": "default",
        "volumes": volumes or [],
    }
    if node:
        spec["nodeName"] = node
    status: Obj = {"phase": phase, "conditions": conditions, "qosClass": "BestEffort"}
    if (statuses and phase != "Pending") or any("running" in s["state"] for s in statuses):
        status.update(hostIP="10.0.0.1", podIP="10.1.0.7", startTime=ts(300))
    if statuses:
        status["containerStatuses"] = statuses
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec, "status": status}


def unschedulable_pod(name: str, ns: str, message: str, **kwargs: Any) -> Obj:
    conditions = [
        {
            "type": "PodScheduled",
            "status": "False",
            "reason": "Unschedulable",
            "message": message,
            "lastTransitionTime": ts(200),
            "lastProbeTime": None,
        }
    ]
    data = pod(name, ns, phase="Pending", statuses=[], conditions=conditions, node=None, **kwargs)
    return data


def deployment(
    name: str,
    ns: str = "default",
    *,
    replicas: int = 2,
    ready: int | None = None,
    labels: dict[str, str] | None = None,
    containers: list[Obj] | None = None,
    conditions: list[Obj] | None = None,
) -> Obj:
    labels = labels or {"app": name}
    ready = replicas if ready is None else ready
    if conditions is None:
        available = "True" if ready >= replicas else "False"
        conditions = [
            {
                "type": "Available",
                "status": available,
                "reason": "MinimumReplicasAvailable"
                if available == "True"
                else "MinimumReplicasUnavailable",
                "message": "Deployment has minimum availability."
                if available == "True"
                else "Deployment does not have minimum availability.",
                "lastUpdateTime": ts(100),
                "lastTransitionTime": ts(100),
            },
            {
                "type": "Progressing",
                "status": "True",
                "reason": "NewReplicaSetAvailable",
                "message": f'ReplicaSet "{name}-5d9c7b8f4" has successfully progressed.',
                "lastUpdateTime": ts(100),
                "lastTransitionTime": ts(500),
            },
        ]
    status: Obj = {
        "observedGeneration": 1,
        "replicas": replicas,
        "updatedReplicas": replicas,
        "readyReplicas": ready,
        "availableReplicas": ready,
        "conditions": conditions,
    }
    if ready < replicas:
        status["unavailableReplicas"] = replicas - ready
    if not ready:
        del status["readyReplicas"], status["availableReplicas"]  # the API omits zeros
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta(name, ns, labels, generation=1, annotations={}),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels, "annotations": {}},
                "spec": {"containers": containers or [container_spec()]},
            },
            "strategy": {"type": "RollingUpdate"},
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
        },
        "status": status,
    }


def statefulset(
    name: str,
    ns: str = "default",
    *,
    replicas: int = 1,
    ready: int | None = None,
    labels: dict[str, str] | None = None,
) -> Obj:
    labels = labels or {"app": name}
    ready = replicas if ready is None else ready
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": meta(name, ns, labels, generation=1),
        "spec": {
            "replicas": replicas,
            "serviceName": name,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [container_spec()]},
            },
        },
        "status": {
            "observedGeneration": 1,
            "replicas": replicas,
            "readyReplicas": ready,
            "availableReplicas": ready,
            "currentReplicas": replicas,
            "updatedReplicas": replicas,
        },
    }


def daemonset(
    name: str,
    ns: str = "default",
    *,
    desired: int = 3,
    ready: int | None = None,
    labels: dict[str, str] | None = None,
) -> Obj:
    labels = labels or {"app": name}
    ready = desired if ready is None else ready
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": meta(name, ns, labels, generation=1),
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [container_spec()]},
            },
        },
        "status": {
            "currentNumberScheduled": desired,
            "desiredNumberScheduled": desired,
            "numberMisscheduled": 0,
            "numberReady": ready,
            "numberAvailable": ready,
            "updatedNumberScheduled": desired,
            "observedGeneration": 1,
        },
    }
