"""ECS checks: service counts and rollout, events, stopped tasks and why, the task definition."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from providers.base import Finding, check
from providers.contract import CheckStatus, Health, ParamSpec
from providers.ecs_api import EcsApi, definition_facts
from providers.ecs_classify import BENIGN_CLASSES, STOP_CLASSES, classify, event_problems
from providers.ecs_classify import service_state as read_service_state

SERVICE_PARAMS = {
    "cluster": ParamSpec("ECS cluster name or ARN", str, required=True),
    "service": ParamSpec("ECS service name or ARN", str, required=True),
}
_STATUS = {Health.OK: CheckStatus.PASS, Health.DEGRADED: CheckStatus.WARN}


class EcsChecks(EcsApi):
    """Mixed into the ecs provider."""

    @check(
        "ecs.clusters",
        "ECS clusters and their task counts",
        "Every cluster (or those in options.clusters): status, services, running and pending "
        "tasks (aws ecs describe-clusters).",
        applies_to=("aws.account",),
    )
    async def check_clusters(self, params: Mapping[str, Any]) -> Finding:
        clusters = await self.clusters()
        facts_list = [
            {
                "name": c.get("clusterName"),
                "status": c.get("status"),
                "services": c.get("activeServicesCount", 0),
                "running": c.get("runningTasksCount", 0),
                "pending": c.get("pendingTasksCount", 0),
            }
            for c in clusters
        ]
        missing = [c["name"] for c in facts_list if c["status"] != "ACTIVE"]
        facts = {"clusters": facts_list, "count": len(clusters), "not_active": missing}
        evidence = tuple(
            f"{c['name']}: {c['status']}, {c['services']} services, {c['running']} running, "
            f"{c['pending']} pending tasks"
            for c in facts_list
        )
        if missing:
            return Finding(
                CheckStatus.FAIL, f"not active: {', '.join(map(str, missing))}", facts, evidence
            )
        if not clusters:
            return Finding(CheckStatus.WARN, f"no ECS clusters in {self.region}", facts)
        return Finding(CheckStatus.PASS, f"{len(clusters)} clusters active", facts, evidence)

    @check(
        "ecs.service_counts",
        "ECS service: running vs desired tasks and the rollout",
        "Running, desired and pending task counts, the deployments and their rollout state "
        "(aws ecs describe-services).",
        applies_to=("ecs.service",),
        params=SERVICE_PARAMS,
    )
    async def service_counts(self, params: Mapping[str, Any]) -> Finding:
        service = await self.service(params["cluster"], params["service"])
        state = read_service_state(service)
        deployments = [
            {
                "id": d.get("id"),
                "status": d.get("status"),
                "task_definition": str(d.get("taskDefinition", "")).rsplit("/", 1)[-1],
                "running": d.get("runningCount"),
                "desired": d.get("desiredCount"),
                "pending": d.get("pendingCount"),
                "failed_tasks": d.get("failedTasks", 0),
                "rollout_state": d.get("rolloutState"),
            }
            for d in service.get("deployments", [])
        ]
        facts = {
            "running": state.running,
            "desired": state.desired,
            "pending": state.pending,
            "rollout_state": state.rollout_state,
            "rollout_reason": state.rollout_reason,
            "deployments": deployments,
            "deployment_count": state.deployments,
            "failed_tasks": state.failed_tasks,
            "latest_event": state.latest_event,
            "task_definition": str(service.get("taskDefinition", "")).rsplit("/", 1)[-1],
            "status": service.get("status"),
        }
        evidence = tuple(
            f"{d['status']} {d['id']} {d['task_definition']}: {d['running']}/{d['desired']} "
            f"running, {d['pending']} pending, {d['failed_tasks']} failed, "
            f"rollout {d['rollout_state']}"
            for d in deployments
        ) + ((f"latest event: {state.latest_event}",) if state.latest_event else ())
        return Finding(_STATUS.get(state.health, CheckStatus.FAIL), state.reason, facts, evidence)

    @check(
        "ecs.service_events",
        "ECS service events",
        "The latest service events (aws ecs describe-services --query services[0].events), and "
        "the problems they name: placement, launch failures, unhealthy targets.",
        applies_to=("ecs.service",),
        params={**SERVICE_PARAMS, "limit": ParamSpec("How many events to read", int, 10)},
    )
    async def service_events(self, params: Mapping[str, Any]) -> Finding:
        service = await self.service(params["cluster"], params["service"])
        events = (service.get("events") or [])[: int(params["limit"])]
        messages = [str(event.get("message", "")) for event in events]
        problems = event_problems(messages)
        steady = bool(messages) and "steady state" in messages[0]
        facts = {
            "messages": messages,
            "latest": messages[0] if messages else "",
            "problems": problems,
            "steady": steady,
        }
        evidence = tuple(
            f"{event['createdAt']:%Y-%m-%d %H:%M:%S} {event.get('message', '')}"
            if hasattr(event.get("createdAt"), "strftime")
            else str(event.get("message", ""))
            for event in events
        )
        if problems and not steady:
            named = ", ".join(f"{name} ({count})" for name, count in problems.items())
            return Finding(CheckStatus.FAIL, f"events name problems: {named}", facts, evidence)
        if not messages:
            return Finding(CheckStatus.PASS, "no service events", facts)
        return Finding(CheckStatus.PASS, f"latest event: {messages[0]}", facts, evidence)

    @check(
        "ecs.stopped_tasks",
        "ECS stopped tasks and why they stopped",
        "Recently stopped tasks of a service, classified from stopCode, stoppedReason and the "
        "container's reason and exit code: image pull, secrets, registry auth, out of memory, "
        "essential container exit, ELB health checks, no capacity; others kept verbatim.",
        applies_to=("ecs.service",),
        params={**SERVICE_PARAMS, "limit": ParamSpec("How many stopped tasks to read", int, 20)},
    )
    async def stopped_tasks(self, params: Mapping[str, Any]) -> Finding:
        tasks = await self.tasks(
            params["cluster"], service=params["service"], desired_status="STOPPED"
        )
        tasks.sort(key=lambda t: str(t.get("stoppedAt") or t.get("createdAt") or ""), reverse=True)
        reasons = [classify(task) for task in tasks[: int(params["limit"])]]
        classes = Counter(reason.cls for reason in reasons)
        faults = [reason for reason in reasons if reason.cls not in BENIGN_CLASSES]
        latest = faults[0] if faults else (reasons[0] if reasons else None)
        texts = sorted(
            {text for r in reasons for text in (r.stopped_reason, r.container_reason) if text}
        )
        facts = {
            "count": len(reasons),
            "faults": len(faults),
            "classes": dict(classes),
            "class": latest.cls if latest else None,
            "reasons": texts,
            "stop_codes": sorted({r.stop_code for r in reasons if r.stop_code}),
            "exit_codes": sorted({r.exit_code for r in reasons if r.exit_code is not None}),
            "latest": latest.to_fact() if latest else None,
            "tasks": [r.to_fact() for r in reasons],
        }
        evidence = tuple(reason.line() for reason in reasons)
        if not reasons:
            return Finding(CheckStatus.PASS, "no recently stopped tasks", facts)
        if not faults:
            return Finding(
                CheckStatus.PASS,
                f"{len(reasons)} tasks stopped by deployments or users, none failed",
                facts,
                evidence,
            )
        assert latest is not None
        meaning = STOP_CLASSES[latest.cls]
        if latest.cls == "essential_exit" and latest.exit_code is not None:
            meaning = f"{meaning} with code {latest.exit_code}"
        if latest.cls == "unknown":
            meaning = f"{latest.stop_code or 'stopped'}: {latest.stopped_reason}"
        summary = f"{len(faults)} of {len(reasons)} stopped tasks failed; latest: {meaning}"
        return Finding(CheckStatus.FAIL, summary, facts, evidence)

    @check(
        "ecs.task_definition",
        "ECS task definition: resources, health check, secrets, logs",
        "The service's task definition (or the one named): cpu and memory, container health "
        "checks, secrets referenced (names and ARNs, never values), log configuration, roles.",
        applies_to=("ecs.service", "ecs.task"),
        params={
            "cluster": ParamSpec("ECS cluster name or ARN", str, None),
            "service": ParamSpec("ECS service name; its current task definition is read", str),
            "task_definition": ParamSpec("family:revision or ARN, instead of a service", str),
        },
    )
    async def task_definition_check(self, params: Mapping[str, Any]) -> Finding:
        name = params.get("task_definition")
        if not name:
            if not (params.get("cluster") and params.get("service")):
                raise ValueError("give task_definition, or cluster and service")
            service = await self.service(params["cluster"], params["service"])
            name = service["taskDefinition"]
        facts = definition_facts(await self.task_definition(str(name)))
        evidence = [
            f"{facts['family']}:{facts['revision']} cpu {facts['cpu']} memory {facts['memory']} "
            f"network {facts['network_mode']}",
            f"execution role {facts['execution_role']}; task role {facts['task_role']}",
        ]
        problems = []
        for container in facts["containers"]:
            evidence.append(
                f"{container['name']}: {container['image']} cpu {container['cpu']} memory "
                f"{container['memory']} health check {container['health_check'] or 'none'} "
                f"log {container['log_driver'] or 'none'} secrets "
                f"{', '.join(container['secrets']) or 'none'}"
            )
            if not container["log_driver"]:
                problems.append(f"{container['name']} has no log configuration")
        facts["problems"] = problems
        summary = (
            f"{facts['family']}:{facts['revision']}: cpu {facts['cpu']}, memory {facts['memory']}, "
            f"{len(facts['containers'])} containers, {len(facts['secrets'])} secrets"
        )
        if problems:
            return Finding(
                CheckStatus.WARN, f"{summary}; {'; '.join(problems)}", facts, tuple(evidence)
            )
        return Finding(CheckStatus.PASS, summary, facts, tuple(evidence))
