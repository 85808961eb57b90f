"""ECS reads shared by discovery, checks and actions: batched as the API demands.

describe_services takes at most 10 services a call and describe_tasks at most 100 tasks; the
lists are paginated. `list_tasks(serviceName=...)` filters on the service, and the tasks are
filtered again on their group (`service:NAME`) so a task started by hand never counts as the
service's.

Within a sweep (providers/sweep.py) the clusters, each cluster's services and its task lists
are read once: the `ecs.clusters` check shares discovery's reads, and a service's checks find
the service (and its stopped tasks) that discovery read a moment before.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Mapping
from typing import Any

from providers.aws_session import AwsSession, arn_name, chunks
from providers.sweep import known, remember, reuse, shared

SERVICES_PER_CALL = 10
TASKS_PER_CALL = 100
CLUSTERS_PER_CALL = 100
REVISIONS_KEPT = 1_000  # task definition revisions remembered per provider
# arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY:REVISION (a family alone means "latest")
REVISION_ARN = re.compile(r"arn:[^:]+:ecs:[^:]*:[^:]*:task-definition/[^:/]+:\d+")
BATCHES_AT_ONCE = 5  # describe calls in flight per listing (adaptive retries absorb throttling)


class EcsApi(AwsSession):
    """Mixed into the ecs provider."""

    _revisions: dict[str, dict[str, Any]]

    async def clusters(self) -> list[dict[str, Any]]:
        """The clusters named in options.clusters, or every cluster of the region."""
        return await shared((self, "clusters"), self._read_clusters)

    async def _read_clusters(self) -> list[dict[str, Any]]:
        names = list(self.aws_options.get("clusters") or [])
        if not names:
            names = await self.aws_pages("ecs", "list_clusters", "clusterArns")
        found: list[dict[str, Any]] = []
        for batch in chunks(names, CLUSTERS_PER_CALL):
            answer = await self.aws("ecs", "describe_clusters", clusters=batch)
            found.extend(answer.get("clusters", []))
            for failure in answer.get("failures", []):
                found.append(
                    {
                        "clusterName": arn_name(str(failure.get("arn", ""))),
                        "clusterArn": failure.get("arn", ""),
                        "status": str(failure.get("reason", "MISSING")),
                    }
                )
        return found

    async def services(self, cluster: str, names: list[str] | None = None) -> list[dict[str, Any]]:
        """Services of a cluster, described 10 at a time."""
        if names is None:
            names = await self.aws_pages("ecs", "list_services", "serviceArns", cluster=cluster)
        answers = await self._batched(
            "describe_services", chunks(names, SERVICES_PER_CALL), cluster=cluster, key="services"
        )
        found = [service for answer in answers for service in answer.get("services", [])]
        for service in found:
            remember((self, "service", cluster, service.get("serviceName")), service)
        return found

    async def _batched(
        self, operation: str, batches: Iterable[list[str]], *, cluster: str, key: str
    ) -> list[dict[str, Any]]:
        """One ECS describe call per batch, BATCHES_AT_ONCE at a time, answers in order: 300
        services are 30 calls, and one after the other they cost 30 round trips."""
        gate = asyncio.Semaphore(BATCHES_AT_ONCE)

        async def one(batch: list[str]) -> dict[str, Any]:
            async with gate:
                answer: dict[str, Any] = await self.aws(
                    "ecs", operation, cluster=cluster, **{key: batch}
                )
                return answer

        return list(await asyncio.gather(*(one(batch) for batch in batches)))

    async def service(self, cluster: str, service: str) -> dict[str, Any]:
        async def read() -> dict[str, Any]:
            found = await self.services(cluster, [service])
            if not found:
                raise LookupError(f"service {service} not found in cluster {cluster}")
            return found[0]

        return await shared((self, "service", cluster, service), read)

    async def tasks(
        self, cluster: str, *, service: str | None = None, desired_status: str = "RUNNING"
    ) -> list[dict[str, Any]]:
        """Tasks of a cluster (or of one service), described 100 at a time."""
        whole = known((self, "tasks", cluster, desired_status))
        if service and whole is not None:  # the sweep read the cluster's: the service's are in it
            group = f"service:{service}"
            return [task for task in await reuse(whole) if task.get("group") == group]

        async def read() -> list[dict[str, Any]]:
            params: dict[str, Any] = {"cluster": cluster, "desiredStatus": desired_status}
            if service:
                params["serviceName"] = service
            arns = await self.aws_pages("ecs", "list_tasks", "taskArns", **params)
            return await self.describe_tasks(cluster, arns, service=service)

        key = (self, "tasks", cluster, desired_status) + ((service,) if service else ())
        return list(await shared(key, read))

    async def describe_tasks(
        self, cluster: str, arns: list[str], *, service: str | None = None
    ) -> list[dict[str, Any]]:
        answers = await self._batched(
            "describe_tasks", chunks(arns, TASKS_PER_CALL), cluster=cluster, key="tasks"
        )
        found = [task for answer in answers for task in answer.get("tasks", [])]
        if service:
            found = [task for task in found if task.get("group") == f"service:{service}"]
        return found

    async def task_definition(self, arn: str) -> dict[str, Any]:
        """One task definition; a revision named by its full ARN never changes (ECS registers
        a new revision instead), so it is asked for once, not at every sweep."""
        known = self._revisions
        if (definition := known.get(arn)) is not None:
            return definition
        answer = await self.aws("ecs", "describe_task_definition", taskDefinition=arn)
        definition = answer["taskDefinition"]
        if REVISION_ARN.fullmatch(arn) and len(known) < REVISIONS_KEPT:
            known[arn] = definition
        return definition


def log_config(container: Mapping[str, Any]) -> dict[str, str]:
    """The awslogs group, region and stream prefix of a container definition, if any."""
    config = container.get("logConfiguration") or {}
    if config.get("logDriver") != "awslogs":
        return {}
    options = config.get("options") or {}
    return {
        "group": str(options.get("awslogs-group", "")),
        "region": str(options.get("awslogs-region", "")),
        "prefix": str(options.get("awslogs-stream-prefix", "")),
    }


def stream_name(prefix: str, container: str, task_id: str) -> str:
    """The awslogs stream of one container of one task: `prefix/container/task-id`."""
    return f"{prefix}/{container}/{task_id}" if prefix else task_id


def definition_facts(definition: Mapping[str, Any]) -> dict[str, Any]:
    """cpu and memory, health checks, secrets referenced (names and ARNs only), log config."""
    containers = []
    for container in definition.get("containerDefinitions", []):
        health = container.get("healthCheck") or {}
        containers.append(
            {
                "name": container.get("name"),
                "image": container.get("image"),
                "essential": container.get("essential", True),
                "cpu": container.get("cpu"),
                "memory": container.get("memory"),
                "memory_reservation": container.get("memoryReservation"),
                "health_check": " ".join(health.get("command", [])) or None,
                "health_check_timing": {
                    key: health[key]
                    for key in ("interval", "timeout", "retries", "startPeriod")
                    if key in health
                },
                "secrets": {
                    str(secret.get("name")): str(secret.get("valueFrom"))
                    for secret in container.get("secrets", [])
                },
                "environment_names": sorted(
                    str(item.get("name")) for item in container.get("environment", []) or []
                ),
                "log": log_config(container),
                "log_driver": (container.get("logConfiguration") or {}).get("logDriver"),
            }
        )
    return {
        "family": definition.get("family"),
        "revision": definition.get("revision"),
        "arn": definition.get("taskDefinitionArn"),
        "cpu": definition.get("cpu"),
        "memory": definition.get("memory"),
        "network_mode": definition.get("networkMode"),
        "compatibilities": definition.get("requiresCompatibilities", []),
        "execution_role": definition.get("executionRoleArn"),
        "task_role": definition.get("taskRoleArn"),
        "containers": containers,
        "secrets": sorted({arn for c in containers for arn in c["secrets"].values()}),
        "secret_names": sorted({name for c in containers for name in c["secrets"]}),
        "health_checks": {c["name"]: c["health_check"] for c in containers},
        "log_groups": sorted({c["log"]["group"] for c in containers if c["log"]}),
    }
