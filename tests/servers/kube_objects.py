"""Builders of Kubernetes objects shaped exactly as the API server returns them.

Each builder returns a plain dict (camelCase keys, RFC 3339 times), ready for ``FakeKubeApi.put``;
the server fills in uid, resourceVersion and creationTimestamp when missing. The container-state
helpers (``running``, ``waiting``, ``terminated``) build ``containerStatuses`` entries.
Those and the pod and controller builders live in ``kube_workloads`` and are re-exported here.
"""

from __future__ import annotations

import base64

from .kube_workloads import (
    Obj,
    container_spec,
    daemonset,
    deployment,
    meta,
    pod,
    running,
    statefulset,
    terminated,
    ts,
    unschedulable_pod,
    waiting,
)

__all__ = [
    "Obj",
    "configmap",
    "container_spec",
    "daemonset",
    "deployment",
    "endpoints",
    "event",
    "healthy_app",
    "hpa",
    "meta",
    "namespace",
    "pod",
    "pod_metrics",
    "running",
    "secret",
    "service",
    "statefulset",
    "terminated",
    "ts",
    "unschedulable_pod",
    "waiting",
]


def namespace(name: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": meta(name, None, {"kubernetes.io/metadata.name": name}),
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
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
