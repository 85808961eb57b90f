"""Builders of Kubernetes objects shaped exactly as the API server returns them.

Each builder returns a plain dict (camelCase keys, RFC 3339 times), ready for ``FakeKubeApi.put``;
the server fills in uid, resourceVersion and creationTimestamp when missing. The container-state
helpers (``running``, ``waiting``, ``terminated``) build ``containerStatuses`` entries.
"""

from __future__ import annotations

import base64
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


def namespace(name: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": meta(name, None, {"kubernetes.io/metadata.name": name}),
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


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


def hpa(
    name: str,
    ns: str,
    target: str,
    *,
    current: int,
    minimum: int = 1,
    maximum: int = 4,
    cpu_now: int = 50,
    cpu_target: int = 70,
) -> Obj:
    conditions = [
        {
            "type": "AbleToScale",
            "status": "True",
            "reason": "ReadyForNewScale",
            "message": "recommended size matches current size",
            "lastTransitionTime": ts(60),
        },
        {
            "type": "ScalingActive",
            "status": "True",
            "reason": "ValidMetricFound",
            "message": "the HPA was able to successfully calculate a replica count from cpu "
            "resource utilization (percentage of request)",
            "lastTransitionTime": ts(60),
        },
    ]
    if current >= maximum:
        conditions.append(
            {
                "type": "ScalingLimited",
                "status": "True",
                "reason": "TooManyReplicas",
                "message": "the desired replica count is more than the maximum replica count",
                "lastTransitionTime": ts(60),
            }
        )
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": meta(name, ns),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
            "minReplicas": minimum,
            "maxReplicas": maximum,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": cpu_target},
                    },
                }
            ],
        },
        "status": {
            "currentReplicas": current,
            "desiredReplicas": current,
            "currentMetrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "current": {"averageUtilization": cpu_now, "averageValue": "350m"},
                    },
                }
            ],
            "conditions": conditions,
        },
    }


def service(name: str, ns: str, selector: dict[str, str] | None, port: int = 80) -> Obj:
    spec: Obj = {
        "type": "ClusterIP",
        "clusterIP": "10.96.0.12",
        "ports": [{"name": "http", "port": port, "targetPort": 8000, "protocol": "TCP"}],
    }
    if selector is not None:
        spec["selector"] = selector
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(name, ns),
        "spec": spec,
        "status": {"loadBalancer": {}},
    }


def endpoints(name: str, ns: str, ready: list[str], not_ready: list[str] | None = None) -> Obj:
    subset: Obj = {"ports": [{"name": "http", "port": 8000, "protocol": "TCP"}]}
    if ready:
        subset["addresses"] = [{"ip": ip, "nodeName": "node-1"} for ip in ready]
    if not_ready:
        subset["notReadyAddresses"] = [{"ip": ip, "nodeName": "node-1"} for ip in not_ready]
    subsets = [subset] if ready or not_ready else []
    data: Obj = {"apiVersion": "v1", "kind": "Endpoints", "metadata": meta(name, ns)}
    if subsets:
        data["subsets"] = subsets
    return data


def secret(name: str, ns: str, data: dict[str, str]) -> Obj:
    encoded = {key: base64.b64encode(value.encode()).decode() for key, value in data.items()}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta(name, ns),
        "type": "Opaque",
        "data": encoded,
    }


def configmap(name: str, ns: str, data: dict[str, str]) -> Obj:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(name, ns), "data": data}


def event(
    ns: str,
    kind: str,
    name: str,
    reason: str,
    message: str,
    *,
    type_: str = "Warning",
    count: int = 1,
    seconds_ago: float = 10,
    component: str = "kubelet",
) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": meta(f"{name}.{abs(hash((reason, message))) % 10**12:x}", ns),
        "involvedObject": {
            "apiVersion": "apps/v1" if kind != "Pod" else "v1",
            "kind": kind,
            "name": name,
            "namespace": ns,
            "uid": f"uid-{name}",
        },
        "reason": reason,
        "message": message,
        "source": {"component": component, "host": "node-1"},
        "firstTimestamp": ts(seconds_ago + 300),
        "lastTimestamp": ts(seconds_ago),
        "count": count,
        "type": type_,
        "eventTime": None,
        "reportingComponent": component,
        "reportingInstance": "node-1",
    }


def pod_metrics(name: str, ns: str, usage: dict[str, tuple[str, str]]) -> Obj:
    """metrics.k8s.io PodMetrics; usage maps container -> (cpu, memory), e.g. ("250m", "200Mi")."""
    return {
        "apiVersion": "metrics.k8s.io/v1beta1",
        "kind": "PodMetrics",
        "metadata": meta(name, ns),
        "timestamp": ts(5),
        "window": "15s",
        "containers": [
            {"name": container, "usage": {"cpu": cpu, "memory": memory}}
            for container, (cpu, memory) in usage.items()
        ],
    }


def healthy_app(ns: str = "prod", name: str = "web", replicas: int = 2) -> list[Obj]:
    """A namespace with a healthy deployment: its pods (owned through a ReplicaSet), a service
    with ready endpoints, the secret and configmap the pods read, an HPA below its maximum and
    pod metrics well within the limits."""
    labels = {"app": name}
    env = [
        {
            "name": "DATABASE_PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": f"{name}-secrets", "key": "db-password"}},
        },
        {
            "name": "LOG_LEVEL",
            "valueFrom": {"configMapKeyRef": {"name": f"{name}-config", "key": "log-level"}},
        },
    ]
    spec = container_spec("app", env=env, limits={"cpu": "500m", "memory": "256Mi"})
    objs = [
        namespace(ns),
        deployment(name, ns, replicas=replicas, labels=labels, containers=[spec]),
        service(name, ns, labels),
        endpoints(name, ns, [f"10.1.0.{i + 10}" for i in range(replicas)]),
        secret(f"{name}-secrets", ns, {"db-password": "hunter2-supersecret"}),
        configmap(f"{name}-config", ns, {"log-level": "info"}),
        hpa(name, ns, name, current=replicas, minimum=replicas, maximum=replicas + 2),
    ]
    for i in range(replicas):
        pod_name = f"{name}-5d9c7b8f4-{'abcde'[i % 5] * 5}{i}"
        objs.append(
            pod(
                pod_name,
                ns,
                labels={**labels, "pod-template-hash": "5d9c7b8f4"},
                containers=[spec],
                owner=("ReplicaSet", f"{name}-5d9c7b8f4"),
            )
        )
        objs.append(pod_metrics(pod_name, ns, {"app": ("120m", "100Mi")}))
    return objs
