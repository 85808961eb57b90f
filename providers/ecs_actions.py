"""ECS actions: force a new deployment, set the desired count, stop a task (destructive)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers.aws_session import arn_name
from providers.base import ActionPlan, action
from providers.contract import ActionOutcome, ActionPreview, ParamSpec
from providers.ecs_api import EcsApi

SERVICE_PARAMS = {
    "cluster": ParamSpec("ECS cluster name or ARN", str, required=True),
    "service": ParamSpec("ECS service name or ARN", str, required=True),
}


class EcsActions(EcsApi):
    """Mixed into the ecs provider."""

    @action(
        "ecs.force_new_deployment",
        "Force a new deployment of an ECS service (replace every task)",
        destructive=False,
        params=SERVICE_PARAMS,
    )
    async def force_new_deployment(self, params: Mapping[str, Any]) -> ActionPlan:
        cluster, name = str(params["cluster"]), str(params["service"])
        service = await self.service(cluster, name)
        running, desired = service.get("runningCount", 0), service.get("desiredCount", 0)
        definition = arn_name(str(service.get("taskDefinition", "")))
        preview = ActionPreview(
            action="ecs.force_new_deployment",
            target=name,
            summary=f"replace the {running} running tasks of {cluster}/{name} with new tasks "
            f"of {definition} (desired {desired})",
            destructive=False,
            touches=(str(service.get("serviceArn", name)),),
            counts={"running": int(running), "desired": int(desired)},
        )

        async def apply() -> ActionOutcome:
            answer = await self.aws(
                "ecs", "update_service", cluster=cluster, service=name, forceNewDeployment=True
            )
            deployments = answer["service"].get("deployments", [])
            primary: dict[str, Any] = next(
                (d for d in deployments if d.get("status") == "PRIMARY"), {}
            )
            return ActionOutcome(
                "ecs.force_new_deployment",
                name,
                True,
                f"new deployment {primary.get('id', '?')} of {cluster}/{name} started",
                tuple(
                    f"{d.get('status')} {d.get('id')} {d.get('rolloutState')}" for d in deployments
                ),
            )

        return ActionPlan(preview, apply)

    @action(
        "ecs.set_desired_count",
        "Set the desired task count of an ECS service",
        destructive=False,
        params={**SERVICE_PARAMS, "count": ParamSpec("New desired count", int, required=True)},
    )
    async def set_desired_count(self, params: Mapping[str, Any]) -> ActionPlan:
        cluster, name = str(params["cluster"]), str(params["service"])
        count = int(params["count"])
        if count < 0:
            raise ValueError("count must be 0 or more")
        service = await self.service(cluster, name)
        current = int(service.get("desiredCount", 0))
        preview = ActionPreview(
            action="ecs.set_desired_count",
            target=name,
            summary=f"set desired count of {cluster}/{name}: {current} -> {count} "
            f"({service.get('runningCount', 0)} running now)",
            destructive=False,
            touches=(str(service.get("serviceArn", name)),),
            counts={"current": current, "new": count},
        )

        async def apply() -> ActionOutcome:
            answer = await self.aws(
                "ecs", "update_service", cluster=cluster, service=name, desiredCount=count
            )
            now = answer["service"].get("desiredCount")
            return ActionOutcome(
                "ecs.set_desired_count",
                name,
                now == count,
                f"desired count of {cluster}/{name} is now {now} (was {current})",
            )

        return ActionPlan(preview, apply)

    @action(
        "ecs.stop_task",
        "Stop one ECS task",
        destructive=True,
        params={
            "cluster": ParamSpec("ECS cluster name or ARN", str, required=True),
            "task": ParamSpec("Task ID or ARN", str, required=True),
            "reason": ParamSpec("Reason recorded on the task", str, "stopped with triage"),
        },
    )
    async def stop_task(self, params: Mapping[str, Any]) -> ActionPlan:
        cluster, task_ref = str(params["cluster"]), str(params["task"])
        tasks = await self.describe_tasks(cluster, [task_ref])
        if not tasks:
            raise LookupError(f"task {task_ref} not found in cluster {cluster}")
        task = tasks[0]
        task_id = arn_name(str(task["taskArn"]))
        group = task.get("group") or "no group"
        containers = [str(c.get("name")) for c in task.get("containers", [])]
        preview = ActionPreview(
            action="ecs.stop_task",
            target=task_id,
            summary=f"stop task {task_id} of {cluster} ({group}, {task.get('lastStatus')}, "
            f"containers {', '.join(containers)}); a service starts a replacement",
            destructive=True,
            touches=(str(task["taskArn"]),),
            counts={"tasks": 1, "containers": len(containers)},
        )

        async def apply() -> ActionOutcome:
            answer = await self.aws(
                "ecs", "stop_task", cluster=cluster, task=task["taskArn"], reason=params["reason"]
            )
            stopped = answer.get("task", {})
            return ActionOutcome(
                "ecs.stop_task",
                task_id,
                True,
                f"task {task_id} is {stopped.get('lastStatus', '?')} "
                f"(desired {stopped.get('desiredStatus', '?')})",
            )

        return ActionPlan(preview, apply)
