"""Faults on the shop's Kubernetes cluster (the fake API), each undone after its scenario: the
helpers of the `kube_*` scenarios, every one taking the `ScenarioEnv`.

A fault is told the way the API server tells it: a new ReplicaSet's pods replacing the
baseline's, container states (waiting reasons, the last termination), the deployment's status
and conditions, the events the scheduler and the kubelet write, the containers' log lines (the
previous run's too), pod metrics. Objects come from the builders of tests/servers/kube_objects.py
and are put with `env.kube_put` / `env.kube_remove`, so the baseline comes back after the
scenario; log lines added here are taken away again.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

from bench.diagnosis.world import KUBE_NS, ScenarioEnv
from tests.servers.kube_objects import (
    container_spec,
    deployment,
    endpoints,
    event,
    hpa,
    pod,
    pod_metrics,
    running,
    terminated,
    ts,
    waiting,
)

Obj = dict[str, Any]
NS = KUBE_NS
BASELINE_HASH = "5d9c7b8f4"  # healthy_app's ReplicaSet
NODES = ("ip-10-0-1-23.ec2.internal", "ip-10-0-2-41.ec2.internal", "ip-10-0-3-17.ec2.internal")
LIMITS = {"cpu": "500m", "memory": "256Mi"}  # healthy_app's
_ips = itertools.count(40)


def baseline_pods(app: str, replicas: int = 2) -> list[str]:
    """The names healthy_app gives an app's pods."""
    return [f"{app}-{BASELINE_HASH}-{'abcde'[i % 5] * 5}{i}" for i in range(replicas)]


def baseline_deployment(env: ScenarioEnv, app: str) -> Obj:
    """The baseline's deployment of `app`, as the fake API holds it (a copy to change)."""
    found = env.world.kube().get("Deployment", NS, app, "apps/v1")
    if found is None:
        raise LookupError(f"no deployment {NS}/{app} in the baseline")
    return dict(found)


def baseline_container(env: ScenarioEnv, app: str) -> Obj:
    """The container of the baseline's pods of `app` (healthy_app's)."""
    return dict(baseline_deployment(env, app)["spec"]["template"]["spec"]["containers"][0])


# -- specs ----------------------------------------------------------------------------------------


def plain(name: str, value: str) -> Obj:
    return {"name": name, "value": value}


def from_secret(variable: str, secret: str, key: str, *, optional: bool = False) -> Obj:
    ref: Obj = {"name": secret, "key": key}
    if optional:
        ref["optional"] = True
    return {"name": variable, "valueFrom": {"secretKeyRef": ref}}


def app_container(
    app: str,
    version: str,
    *,
    extra_env: Iterable[Obj] = (),
    limits: Obj | None = None,
    requests: Obj | None = None,
    probe_path: str | None = "/health/ready",
) -> Obj:
    """The `app` container of one of the shop's apps: the baseline's environment (its database
    password from `{app}-secrets`, its log level from `{app}-config`) and `extra_env`, an image
    of that version, limits and requests, an HTTP readiness probe."""
    env = [
        from_secret("DATABASE_PASSWORD", f"{app}-secrets", "db-password"),
        {
            "name": "LOG_LEVEL",
            "valueFrom": {"configMapKeyRef": {"name": f"{app}-config", "key": "log-level"}},
        },
        *extra_env,
    ]
    spec = container_spec("app", env=env, limits=limits or LIMITS)
    spec["image"] = f"registry.example/shop/{app}:{version}"
    spec["resources"] = {
        "limits": dict(limits or LIMITS),
        "requests": dict(requests or limits or LIMITS),
    }
    if probe_path:
        spec["readinessProbe"] = {
            "httpGet": {"path": probe_path, "port": 8000, "scheme": "HTTP"},
            "timeoutSeconds": 1,
            "periodSeconds": 10,
            "successThreshold": 1,
            "failureThreshold": 3,
        }
    return spec


def app_pod(
    app: str,
    rs_hash: str,
    suffix: str,
    container: Obj,
    statuses: list[Obj],
    *,
    node: int | None = 0,
    phase: str = "Running",
    age_seconds: float = 1800,
    conditions: list[Obj] | None = None,
) -> Obj:
    """A pod of `app`'s ReplicaSet `rs_hash`, with its own IP, on one of the nodes (None: not
    scheduled), created `age_seconds` ago, QoS class from its resources."""
    made = pod(
        f"{app}-{rs_hash}-{suffix}",
        NS,
        labels={"app": app, "pod-template-hash": rs_hash},
        phase=phase,
        statuses=statuses,
        containers=[container],
        owner=("ReplicaSet", f"{app}-{rs_hash}"),
        conditions=conditions,
        node=NODES[node] if node is not None else None,
    )
    made["metadata"]["creationTimestamp"] = ts(age_seconds)
    resources = container.get("resources") or {}
    made["status"]["qosClass"] = (
        "Guaranteed"
        if resources.get("limits") and resources.get("limits") == resources.get("requests")
        else "Burstable"
        if resources
        else "BestEffort"
    )
    if "podIP" in made["status"] and node is not None:
        made["status"]["podIP"] = f"10.1.{node + 1}.{next(_ips)}"
        made["status"]["hostIP"] = f"10.0.{node + 1}.{20 + node}"
        made["status"]["podIPs"] = [{"ip": made["status"]["podIP"]}]
        made["status"]["hostIPs"] = [{"ip": made["status"]["hostIP"]}]
    return made


def app_deployment(
    app: str,
    container: Obj,
    *,
    replicas: int,
    ready: int,
    status: Obj | None = None,
    conditions: list[Obj] | None = None,
    generation: int = 7,
) -> Obj:
    """`app`'s deployment running `container`; `status` overrides fields of the status (a
    rollout's replicas, updatedReplicas), zero counts left out as the API leaves them out."""
    made = deployment(
        app, NS, replicas=replicas, ready=ready, labels={"app": app}, containers=[container]
    )
    made["metadata"]["generation"] = generation
    made["spec"]["strategy"] = {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
    }
    body = made["status"]
    body["observedGeneration"] = generation
    if conditions is not None:
        body["conditions"] = conditions
    body.update(status or {})
    for key in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas"):
        if body.get(key) == 0:
            del body[key]
    if body.get("unavailableReplicas") == 0:
        del body["unavailableReplicas"]
    return made


def condition(kind: str, status: str, reason: str, message: str, seconds_ago: float = 600) -> Obj:
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "lastUpdateTime": ts(seconds_ago),
        "lastTransitionTime": ts(seconds_ago),
    }


def pod_condition(kind: str, status: str, seconds_ago: float = 600, **extra: Any) -> Obj:
    return {"type": kind, "status": status, "lastTransitionTime": ts(seconds_ago), **extra}


def backoff_message(pod_name: str, container: str = "app") -> str:
    """The kubelet's CrashLoopBackOff waiting message."""
    return (
        f"back-off 5m0s restarting failed container={container} pod={pod_name}_{NS}(uid-{pod_name})"
    )


# -- container states -----------------------------------------------------------------------------


def up(
    container: Obj,
    *,
    ready: bool = True,
    restarts: int = 0,
    last: Obj | None = None,
    since: float = 7200,
) -> Obj:
    """The `app` container running `container`'s image since `since` seconds."""
    status = running("app", ready=ready, restarts=restarts, last=last, image=container["image"])
    status["state"]["running"]["startedAt"] = ts(since)
    return status


def stuck(container: Obj, reason: str, message: str = "", *, restarts: int = 0) -> Obj:
    """The `app` container waiting for `reason` (ImagePullBackOff, CreateContainerConfigError,
    ContainerCreating), never started."""
    return waiting("app", reason, message, restarts=restarts, image=container["image"])


def crash_looping(
    container: Obj, pod_name: str, *, restarts: int, reason: str, exit_code: int, ago: float = 45
) -> Obj:
    """The `app` container in CrashLoopBackOff, its last run terminated with `reason`."""
    return waiting(
        "app",
        "CrashLoopBackOff",
        backoff_message(pod_name),
        restarts=restarts,
        last=terminated(reason, exit_code, seconds_ago=ago),
        image=container["image"],
    )


def ended(reason: str, exit_code: int, ago: float = 240) -> Obj:
    """A `lastState`: the previous run terminated with `reason` and `exit_code`."""
    return terminated(reason, exit_code, seconds_ago=ago)


# -- the fake API, with undo ----------------------------------------------------------------------


def replace_pods(env: ScenarioEnv, app: str, *pods: Obj, replicas: int = 2) -> None:
    """The baseline's pods of `app` (and their metrics) go; `pods` come in their place."""
    for name in baseline_pods(app, replicas):
        env.kube_remove("Pod", NS, name)
        env.kube_remove("PodMetrics", NS, name, "metrics.k8s.io/v1beta1")
    env.kube_put(*pods)


def put_events(env: ScenarioEnv, *events: Obj) -> None:
    env.kube_put(*events)


def pod_event(
    pod_name: str,
    reason: str,
    message: str,
    *,
    warning: bool = True,
    count: int = 1,
    seconds_ago: float = 20,
    component: str = "kubelet",
) -> Obj:
    return event(
        NS,
        "Pod",
        pod_name,
        reason,
        message,
        type_="Warning" if warning else "Normal",
        count=count,
        seconds_ago=seconds_ago,
        component=component,
    )


def add_log(
    env: ScenarioEnv, pod_name: str, lines: str, *, previous: bool = False, ns: str = NS
) -> None:
    """Log lines of a pod's `app` container (its previous run's with `previous`), taken away
    after the scenario."""
    kube = env.world.kube()
    key = (ns, pod_name, "app", previous)
    before = len(kube.logs.get(key, []))
    for line in lines.strip("\n").splitlines():
        kube.add_log(ns, pod_name, line, previous=previous)
    env.later(_drop_log_lines, kube, key, before)


def _drop_log_lines(kube: Any, key: tuple[str, str, str, bool], keep: int) -> None:
    with kube._lock:
        if key in kube.logs:
            del kube.logs[key][keep:]
            if not kube.logs[key]:
                del kube.logs[key]


def metrics(env: ScenarioEnv, pod_name: str, cpu: str, memory: str) -> None:
    env.kube_put(pod_metrics(pod_name, NS, {"app": (cpu, memory)}))


def service_endpoints(
    env: ScenarioEnv, app: str, ready: list[str], not_ready: list[str] | None = None
) -> None:
    env.kube_put(endpoints(app, NS, ready, not_ready))


def autoscaler(
    env: ScenarioEnv,
    app: str,
    *,
    current: int,
    minimum: int,
    maximum: int,
    cpu_now: int,
    average_value: str,
) -> Obj:
    made = hpa(app, NS, app, current=current, minimum=minimum, maximum=maximum, cpu_now=cpu_now)
    made["status"]["currentMetrics"][0]["resource"]["current"]["averageValue"] = average_value
    made["status"]["lastScaleTime"] = ts(1500)
    env.kube_put(made)
    return made


def ips_of(*pods: Obj) -> list[str]:
    return [p["status"]["podIP"] for p in pods if "podIP" in p["status"]]
