"""What an ECS service's numbers and a stopped task's reasons mean; pure functions, no SDK.

The guides read `stopCode`, `stoppedReason`, and the container's `reason` and `exitCode` by hand
(`aws ecs describe-tasks --query 'tasks[0].[stopCode,stoppedReason,containers[0].reason,...]'`)
and name the causes: an image that cannot be pulled, secrets that cannot be read, memory, an
essential container that exited, failed load balancer health checks, no capacity. Each becomes a
class here; anything else is kept verbatim as `unknown`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from providers.contract import Health
from providers.units import counted

# (class, what it means) in the order they are tried; the first that matches wins.
STOP_CLASSES: dict[str, str] = {
    "image_pull": "the image could not be pulled (CannotPullContainerError)",
    "secrets": "secrets could not be read at start (ResourceInitializationError)",
    "registry_auth": "registry authentication failed (ResourceInitializationError)",
    "resource_init": "the task's resources could not be set up (ResourceInitializationError)",
    "out_of_memory": "a container ran out of memory (OutOfMemoryError / exit 137)",
    "elb_health": "the task failed the load balancer's health checks",
    "container_health": "the task failed its container health check",
    "no_capacity": "no capacity to place the task",
    "essential_exit": "an essential container exited",
    "spot_interruption": "the Spot capacity was reclaimed",
    "scaled_in": "stopped by a deployment or scaling, as intended",
    "user_stopped": "stopped by a user or an API call",
    "unknown": "not a reason triage knows; kept verbatim",
}
# Classes that are not a fault: a rolling deployment replaces tasks, an operator stops one.
BENIGN_CLASSES = frozenset({"scaled_in", "user_stopped"})


@dataclass(frozen=True, slots=True)
class StopReason:
    """Why one task stopped, read from its stopCode, stoppedReason and containers."""

    task_id: str
    cls: str
    stop_code: str
    stopped_reason: str
    container: str
    container_reason: str
    exit_code: int | None
    stopped_at: str

    def line(self) -> str:
        """The evidence line, as `describe-tasks` would show it."""
        exit_text = "" if self.exit_code is None else f" exit {self.exit_code}"
        container = f"; {self.container}:{exit_text} {self.container_reason}".rstrip()
        if not self.container:
            container = ""
        return (
            f"task {self.task_id} [{self.cls}] {self.stop_code or '-'}: "
            f"{self.stopped_reason or '-'}{container}"
        )

    def to_fact(self) -> dict[str, Any]:
        return asdict(self)


def _match(pattern: str, *texts: str) -> bool:
    return any(re.search(pattern, text, re.IGNORECASE) for text in texts if text)


def _culprit(containers: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The container that explains the stop: one with a reason, else a non-zero exit."""
    for container in containers:
        if container.get("reason"):
            return container
    for container in containers:
        if container.get("exitCode") not in (None, 0):
            return container
    return containers[0] if containers else {}


def classify(task: Mapping[str, Any]) -> StopReason:
    """The class of a stopped task (see STOP_CLASSES), with the facts that decided it."""
    containers = task.get("containers") or []
    culprit = _culprit(containers)
    code = str(task.get("stopCode") or "")
    reason = str(task.get("stoppedReason") or "")
    creason = str(culprit.get("reason") or "")
    exit_code = culprit.get("exitCode")
    exit_code = int(exit_code) if isinstance(exit_code, int) else None
    texts = (reason, creason)
    if _match(r"CannotPullContainerError|pull image manifest|ImagePull", *texts):
        cls = "image_pull"
    elif _match(r"ResourceInitializationError", *texts):
        if _match(
            r"retrieve secret|\basm\b|\bssm\b|secretsmanager|GetSecretValue|parameter|kms", *texts
        ):
            cls = "secrets"
        elif _match(r"ecr|pull command|authorization token|registry auth", *texts):
            cls = "registry_auth"
        else:
            cls = "resource_init"
    elif _match(r"OutOfMemory|\bOOM", *texts) or exit_code == 137:
        cls = "out_of_memory"
    elif _match(r"ELB health check|load balancer health", *texts):
        cls = "elb_health"
    elif _match(r"container health check", *texts):
        cls = "container_health"
    elif _match(r"no container instances|unable to place|insufficient (cpu|memory)", *texts):
        cls = "no_capacity"
    elif code == "EssentialContainerExited" or _match(r"Essential container .* exited", reason):
        cls = "essential_exit"
    elif code == "SpotInterruption" or _match(r"spot interruption", reason):
        cls = "spot_interruption"
    elif _match(r"Scaling activity initiated|deployment ecs-svc", reason) or (
        code == "ServiceSchedulerInitiated" and not reason
    ):
        cls = "scaled_in"
    elif code == "UserInitiated":
        cls = "user_stopped"
    else:
        cls = "unknown"
    stopped_at = task.get("stoppedAt")
    return StopReason(
        task_id=str(task.get("taskArn", "")).rsplit("/", 1)[-1],
        cls=cls,
        stop_code=code,
        stopped_reason=reason,
        container=str(culprit.get("name") or ""),
        container_reason=creason,
        exit_code=exit_code,
        stopped_at=stopped_at.isoformat() if isinstance(stopped_at, datetime) else "",
    )


@dataclass(frozen=True, slots=True)
class ServiceState:
    """A service's counts and rollout, and what they mean."""

    health: Health
    reason: str
    running: int
    desired: int
    pending: int
    rollout_state: str
    rollout_reason: str
    deployments: int
    failed_tasks: int
    latest_event: str


def service_state(service: Mapping[str, Any]) -> ServiceState:
    """Health from running vs desired vs pending, the rollout, and the latest event."""
    running = int(service.get("runningCount", 0))
    desired = int(service.get("desiredCount", 0))
    pending = int(service.get("pendingCount", 0))
    deployments = service.get("deployments") or []
    primary: Mapping[str, Any] = next((d for d in deployments if d.get("status") == "PRIMARY"), {})
    rollout = str(primary.get("rolloutState") or "")
    rollout_reason = str(primary.get("rolloutStateReason") or "")
    failed = int(primary.get("failedTasks") or 0)
    events = service.get("events") or []
    latest = str(events[0].get("message", "")) if events else ""
    counts = f"{running}/{desired} running"
    if pending:
        counts = f"{counts}, {pending} pending"
    if service.get("status") not in (None, "ACTIVE"):
        health, why = Health.FAILING, f"service {service.get('status')}"
    elif rollout == "FAILED":
        health, why = Health.FAILING, f"{counts}; rollout failed: {rollout_reason}"
    elif desired and not running:
        health, why = Health.FAILING, f"{counts}"
    elif running < desired:
        health, why = Health.DEGRADED, counts
    elif len(deployments) > 1 or rollout == "IN_PROGRESS":
        health, why = (
            Health.DEGRADED,
            f"{counts}; rolling out ({counted(len(deployments), 'deployment')})",
        )
    else:
        health, why = Health.OK, counts
    if failed and health is not Health.OK:
        why = f"{why}; {failed} tasks failed to start"
    if latest and health is not Health.OK:
        why = f"{why}; latest event: {latest}"
    return ServiceState(
        health,
        why,
        running,
        desired,
        pending,
        rollout,
        rollout_reason,
        len(deployments),
        failed,
        latest,
    )


# Service event messages that name a problem, with the fact name they set.
EVENT_PROBLEMS: dict[str, str] = {
    "unable_to_place": r"unable to place a task|no container instances",
    "failed_to_launch": r"failed to launch|failed to start",
    "unhealthy_targets": r"is unhealthy in \(?target-group|failed (ELB|container) health",
    "deployment_failed": r"deployment failed|circuit breaker|rolling back",
    "throttled": r"throttl|rate exceeded",
    "cannot_pull": r"CannotPullContainerError",
}
STEADY = re.compile(r"has reached a steady state", re.IGNORECASE)


def event_problems(messages: Sequence[str]) -> dict[str, int]:
    """How many events name each problem."""
    found: dict[str, int] = {}
    for name, pattern in EVENT_PROBLEMS.items():
        count = sum(1 for message in messages if re.search(pattern, message, re.IGNORECASE))
        if count:
            found[name] = count
    return found
