"""What Kubernetes objects say, read from the API's JSON: pure functions, no client, no I/O.

Objects are the dicts the API server returns (camelCase keys), so the rules here read exactly
like `kubectl get -o yaml`. A pod's trouble is a list of `ContainerProblem`s; a pod's and a
workload's health follow from them and from the workload's replica counts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from providers.contract import Health

Obj = Mapping[str, Any]

# Waiting reasons that are a normal step of starting, not a fault.
STARTING_REASONS = frozenset({"ContainerCreating", "PodInitializing"})
PULL_REASONS = frozenset({"ImagePullBackOff", "ErrImagePull", "InvalidImageName"})
CONFIG_REASONS = frozenset({"CreateContainerConfigError", "CreateContainerError"})


def name_of(obj: Obj) -> str:
    return str(obj.get("metadata", {}).get("name", ""))


def namespace_of(obj: Obj) -> str:
    return str(obj.get("metadata", {}).get("namespace", ""))


def labels_of(obj: Obj) -> dict[str, str]:
    return dict(obj.get("metadata", {}).get("labels") or {})


def parse_time(text: str | None) -> datetime | None:
    """An RFC 3339 time of the API (`2024-05-01T10:00:00Z`), or None."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None


def age_seconds(text: str | None) -> float:
    when = parse_time(text)
    return (datetime.now(UTC) - when).total_seconds() if when else 0.0


def condition(obj: Obj, kind: str) -> Obj | None:
    for item in obj.get("status", {}).get("conditions") or []:
        if item.get("type") == kind:
            return dict(item)
    return None


def selector_string(selector: Obj | None) -> str:
    """A label selector (matchLabels, matchExpressions In/NotIn/Exists) as `a=b,c=d` text."""
    if not selector:
        return ""
    terms = [f"{key}={value}" for key, value in sorted((selector.get("matchLabels") or {}).items())]
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression["key"], expression["operator"]
        values = ",".join(expression.get("values") or [])
        terms.append(
            {"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})"}.get(
                operator, key if operator == "Exists" else f"!{key}"
            )
        )
    return ",".join(terms)


def selects(selector: Obj | None, labels: Mapping[str, str]) -> bool:
    """Whether a workload's matchLabels select a pod's labels (expressions are not evaluated)."""
    wanted = (selector or {}).get("matchLabels") or {}
    return bool(wanted) and all(labels.get(key) == value for key, value in wanted.items())


@dataclass(frozen=True, slots=True)
class ContainerProblem:
    """One container in trouble: why it waits or was last killed, as the kubelet reports it."""

    pod: str
    namespace: str
    container: str
    reason: str
    message: str
    restart_count: int
    last_termination_reason: str = ""
    exit_code: int | None = None
    init: bool = False

    def describe(self) -> str:
        text = f"pod/{self.pod} container {self.container}: {self.reason}"
        if self.last_termination_reason or self.exit_code is not None:
            last = self.last_termination_reason or "terminated"
            text += f" (last: {last}, exit code {self.exit_code})"
        if self.message:
            text += f": {self.message}"
        if self.restart_count:
            text += f"; {self.restart_count} restarts"
        return text

    def as_fact(self) -> dict[str, Any]:
        return {
            "pod": self.pod,
            "namespace": self.namespace,
            "container": self.container,
            "reason": self.reason,
            "message": self.message,
            "restart_count": self.restart_count,
            "last_termination_reason": self.last_termination_reason,
            "exit_code": self.exit_code,
        }


def container_statuses(pod: Obj) -> list[tuple[Obj, bool]]:
    status = pod.get("status", {})
    init = [(item, True) for item in status.get("initContainerStatuses") or []]
    return init + [(item, False) for item in status.get("containerStatuses") or []]


def container_problems(pod: Obj) -> list[ContainerProblem]:
    """Containers waiting for a reason other than starting, or terminated in failure."""
    problems = []
    for item, init in container_statuses(pod):
        state = item.get("state") or {}
        last = (item.get("lastState") or {}).get("terminated") or {}
        waiting = state.get("waiting")
        now_terminated = state.get("terminated") or {}
        reason, message = "", ""
        if waiting and waiting.get("reason") not in STARTING_REASONS:
            reason, message = str(waiting.get("reason", "Waiting")), str(waiting.get("message", ""))
        elif now_terminated and now_terminated.get("exitCode", 0) != 0 and not init:
            reason = str(now_terminated.get("reason") or "Error")
            message = str(now_terminated.get("message", ""))
            last = now_terminated
        if not reason:
            continue
        problems.append(
            ContainerProblem(
                pod=name_of(pod),
                namespace=namespace_of(pod),
                container=str(item.get("name", "")),
                reason=reason,
                message=message.strip(),
                restart_count=int(item.get("restartCount", 0)),
                last_termination_reason=str(last.get("reason", "")),
                exit_code=last.get("exitCode"),
                init=init,
            )
        )
    return problems


def restarts(pod: Obj) -> int:
    return sum(int(item.get("restartCount", 0)) for item, _ in container_statuses(pod))


def last_termination(pod: Obj) -> tuple[str, int | None]:
    """The most recent (reason, exit code) of any container's previous run."""
    latest: tuple[str, str, int | None] = ("", "", None)
    for item, _ in container_statuses(pod):
        last = (item.get("lastState") or {}).get("terminated") or {}
        if last and str(last.get("finishedAt", "")) >= latest[0]:
            latest = (
                str(last.get("finishedAt", "")),
                str(last.get("reason", "")),
                last.get("exitCode"),
            )
    return latest[1], latest[2]


def unschedulable(pod: Obj) -> Obj | None:
    scheduled = condition(pod, "PodScheduled")
    if scheduled and scheduled.get("status") == "False":
        return scheduled
    return None


def is_ready(pod: Obj) -> bool:
    ready = condition(pod, "Ready")
    return bool(ready and ready.get("status") == "True")


def ready_counts(pod: Obj) -> tuple[int, int]:
    items = pod.get("status", {}).get("containerStatuses") or []
    total = len(items) or len(pod.get("spec", {}).get("containers") or [])
    return sum(1 for item in items if item.get("ready")), total


def pod_status(pod: Obj) -> tuple[Health, str]:
    """A pod's health and a one-line reason, like the STATUS column of `kubectl get pods`."""
    phase = str(pod.get("status", {}).get("phase", "Unknown"))
    ready, total = ready_counts(pod)
    count = restarts(pod)
    tail = f", {count} restarts" if count else ""
    if pod.get("metadata", {}).get("deletionTimestamp"):
        return Health.DEGRADED, "Terminating"
    problems = container_problems(pod)
    if problems:
        first = problems[0]
        text = first.reason
        if first.last_termination_reason:
            text += f" (last: {first.last_termination_reason}, exit code {first.exit_code})"
        elif first.message:
            text += f": {first.message}"
        return Health.FAILING, f"{text}, {ready}/{total} ready{tail}"
    if phase == "Pending":
        blocked = unschedulable(pod)
        if blocked:
            reason = blocked.get("reason", "Unschedulable")
            return Health.FAILING, f"Pending, {reason}: {blocked.get('message', '')}".strip()
        return Health.DEGRADED, f"Pending, {ready}/{total} ready"
    if phase == "Succeeded":
        return Health.OK, "Completed"
    if phase == "Failed":
        return Health.FAILING, f"Failed: {pod.get('status', {}).get('reason', 'Error')}"
    if phase == "Running" and not is_ready(pod):
        return Health.DEGRADED, f"Running, not ready ({ready}/{total} ready){tail}"
    return (
        Health.OK if phase == "Running" else Health.UNKNOWN
    ), f"{phase}, {ready}/{total} ready{tail}"


def workload_counts(obj: Obj) -> tuple[int, int]:
    """(desired, ready) replicas of a Deployment, StatefulSet or DaemonSet."""
    spec, status = obj.get("spec", {}), obj.get("status", {})
    if obj.get("kind") == "DaemonSet" or "desiredNumberScheduled" in status:
        return int(status.get("desiredNumberScheduled", 0)), int(status.get("numberReady", 0))
    desired = spec.get("replicas")
    return int(1 if desired is None else desired), int(status.get("readyReplicas", 0))


def workload_status(
    obj: Obj,
    pods: Iterable[Obj] = (),
    *,
    statuses: Iterable[tuple[Health, str]] | None = None,
) -> tuple[Health, str]:
    """A workload's health and reason, from its replica counts and its pods.

    `statuses` are the pods' `pod_status`, when the caller has worked them out already (then
    `pods` is not read); else each pod's status is worked out here, once.
    """
    desired, ready = workload_counts(obj)
    text = f"{ready}/{desired} ready"
    if statuses is None:
        statuses = (pod_status(pod) for pod in pods)
    failing = [reason for health, reason in statuses if health is Health.FAILING]
    progressing = condition(obj, "Progressing")
    if progressing and progressing.get("reason") == "ProgressDeadlineExceeded":
        text += ", ProgressDeadlineExceeded"
    if failing:
        text += f"; {failing[0]}"
    if desired and not ready:
        return Health.FAILING, text
    if ready < desired or failing:
        return Health.DEGRADED, text
    return Health.OK, text if desired else "scaled to 0"


def worst(healths: Iterable[Health]) -> Health:
    order = [Health.FAILING, Health.DEGRADED, Health.UNKNOWN, Health.OK]
    found = set(healths)
    return next((health for health in order if health in found), Health.OK)


# -- references to secrets and configmaps ------------------------------------------------------


def optional_env(pod: Obj) -> dict[tuple[str, str], list[str]]:
    """(kind, name) of each optional secret or configmap key the pod's environment reads ->
    the variables it would fill."""
    found: dict[tuple[str, str], list[str]] = {}
    for container in pod.get("spec", {}).get("containers") or []:
        for env in container.get("env") or []:
            value_from = env.get("valueFrom") or {}
            for kind, field in (("secret", "secretKeyRef"), ("configmap", "configMapKeyRef")):
                ref = value_from.get(field) or {}
                if ref.get("optional") and ref.get("name"):
                    found.setdefault((kind, str(ref["name"])), []).append(str(env.get("name")))
    return found


def crash_looping(pod: Obj) -> bool:
    """A container of the pod is waiting in CrashLoopBackOff, or last ended with an error."""
    for status in pod.get("status", {}).get("containerStatuses") or []:
        waiting = (status.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") == "CrashLoopBackOff":
            return True
        last = (status.get("lastState") or {}).get("terminated") or {}
        if last.get("exitCode") not in (None, 0) and status.get("restartCount", 0):
            return True
    return False


def references(pod: Obj, *, optional: bool = False) -> list[tuple[str, str, str | None]]:
    """(kind `secret`|`configmap`, name, key or None) that the pod needs (with `optional`: the
    ones it reads only if they exist, instead)."""
    found: list[tuple[str, str, str | None]] = []
    spec = pod.get("spec", {})

    def add(kind: str, ref: Obj | None, key: str | None = None) -> None:
        if ref and bool(ref.get("optional")) is optional:
            name = ref.get("name") or ref.get("secretName")
            if name:
                found.append((kind, str(name), key))

    for volume in spec.get("volumes") or []:
        add("secret", volume.get("secret"))
        add("configmap", volume.get("configMap"))
        for source in (volume.get("projected") or {}).get("sources") or []:
            add("secret", source.get("secret"))
            add("configmap", source.get("configMap"))
    for container in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        for source in container.get("envFrom") or []:
            add("secret", source.get("secretRef"))
            add("configmap", source.get("configMapRef"))
        for env in container.get("env") or []:
            value_from = env.get("valueFrom") or {}
            for kind, field in (("secret", "secretKeyRef"), ("configmap", "configMapKeyRef")):
                ref = value_from.get(field)
                if ref:
                    add(kind, ref, ref.get("key"))
    for pull in spec.get("imagePullSecrets") or []:
        add("secret", pull)
    return list(dict.fromkeys(found))


# -- quantities ----------------------------------------------------------------------------------

_SUFFIXES = {
    "n": 1e-9,
    "u": 1e-6,
    "m": 1e-3,
    "": 1.0,
    "k": 1e3,
    "K": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}


def quantity(text: str | int | float | None) -> float:
    """A Kubernetes quantity ("250m", "128Mi", "1.5", "2e3") as a number of base units."""
    if text is None or text == "":
        return 0.0
    if isinstance(text, int | float):
        return float(text)
    match = re.fullmatch(r"([+-]?[0-9.]+(?:[eE][+-]?\d+)?)([a-zA-Z]*)", text.strip())
    if not match or match.group(2) not in _SUFFIXES:
        raise ValueError(f"not a quantity: {text!r}")
    return float(match.group(1)) * _SUFFIXES[match.group(2)]
