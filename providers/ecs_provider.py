"""AWS ECS and the services around it, for one account and region, through boto3 in threads.

The tree is clusters -> services -> tasks (running, and stopped recently) -> containers, each
with a live status; the checks and actions of the services around ECS (ELBv2, EC2 networking,
RDS, Secrets Manager, ACM, IAM, CloudWatch, SNS) come from mixins, all on this one kind.

Target options: `region`, `profile`, `endpoint_url`, `clusters` (default: every cluster),
`max_attempts` (per call; retries are adaptive), `live_tail` (default true).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

from providers.addresses import addresses_in
from providers.aws_data import AwsData
from providers.aws_monitoring import AwsMonitoring
from providers.aws_network import AwsNetwork
from providers.aws_session import arn_name
from providers.base import CommandTarget, Provider
from providers.contract import CheckCall, Health, LogLine, Node, Status, utc_now
from providers.ecs_actions import EcsActions
from providers.ecs_api import log_config, stream_name
from providers.ecs_checks import EcsChecks
from providers.ecs_classify import BENIGN_CLASSES, classify, service_state
from providers.ecs_log_checks import EcsLogChecks
from providers.ecs_logs import LogTail, event_key

STOPPED_SHOWN = 5  # stopped tasks shown per service in the tree
_TASK_HEALTH = {"RUNNING": Health.OK, "STOPPED": Health.FAILING}


class EcsProvider(
    EcsChecks, EcsActions, AwsNetwork, AwsData, AwsMonitoring, EcsLogChecks, LogTail, Provider
):
    """One AWS account and region: its ECS clusters and what they depend on."""

    kind = "ecs"
    command_tools = ("aws", "terraform", "pulumi")  # the last two act on the account too
    command_variables = ("AWS_PROFILE", "AWS_REGION", "AWS_ENDPOINT_URL")
    command_shadows = (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL*",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._aws_setup()
        # node id -> where its logs are: (group, [streams] or None, prefix or None)
        self._log_sources: dict[str, tuple[str, list[str] | None, str | None]] = {}
        self._revisions: dict[str, dict[str, Any]] = {}  # task definitions, by revision ARN

    def describe_error(self, error: BaseException) -> str:
        return self.describe_aws_error(error) or super().describe_error(error)

    async def command_target(self, params: Mapping[str, Any]) -> CommandTarget:
        """The profile, region and endpoint this target's calls use, for the aws CLI. With a
        profile of the target's own, the operator's AWS keys are not passed: they would win."""
        variables: dict[str, str] = {}
        own_profile = self.aws_options.get("profile")
        profile = own_profile or os.environ.get("AWS_PROFILE")
        if profile:
            variables["AWS_PROFILE"] = str(profile)
        if self.region:
            variables["AWS_REGION"] = variables["AWS_DEFAULT_REGION"] = self.region
        endpoint = self.endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
        if endpoint:
            variables["AWS_ENDPOINT_URL"] = endpoint
        keys = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
        return CommandTarget(
            self.target.name,
            self.kind,
            self.address,
            variables=variables,
            unset=keys if own_profile else (),
        )

    def root_checks(self) -> tuple[CheckCall, ...]:
        return (CheckCall("ecs.clusters"), CheckCall("cloudwatch.alarms"))

    async def discover(self) -> Node:
        name = f"{self.target.name} ({self.address})"
        try:
            async with asyncio.timeout(self.timeout * 4):
                clusters = await self.clusters()
                children = await asyncio.gather(*(self._cluster_node(c) for c in clusters))
        except TimeoutError:
            status = Status(Health.FAILING, f"{self.address}: no answer within {self.timeout:g}s")
            return self._root(name, status, ())
        except Exception as error:  # the tree shows why, instead of failing discovery
            return self._root(name, Status(Health.FAILING, self.describe_error(error)), ())
        worst = [c.status.health for c in children]
        if Health.FAILING in worst:
            health = Health.FAILING
        elif Health.DEGRADED in worst:
            health = Health.DEGRADED
        else:
            health = Health.OK
        failing = sum(1 for h in worst if h is not Health.OK)
        reason = f"{len(children)} clusters" + (f", {failing} not healthy" if failing else "")
        return self._root(name, Status(health, reason), tuple(children))

    def _root(self, name: str, status: Status, children: tuple[Node, ...]) -> Node:
        return Node(
            id=self.root_id,
            kind="aws.account",
            name=name,
            status=status,
            children=children,
            checks=self.root_checks(),
        )

    async def _cluster_node(self, cluster: dict[str, Any]) -> Node:
        cname = str(cluster.get("clusterName"))
        node_id = f"{self.root_id}/{cname}"
        if cluster.get("status") != "ACTIVE":
            status = Status(Health.FAILING, f"cluster {cluster.get('status')}")
            return Node(node_id, "ecs.cluster", cname, status)
        services, running, stopped = await asyncio.gather(
            self.services(cname),
            self.tasks(cname, desired_status="RUNNING"),
            self.tasks(cname, desired_status="STOPPED"),
        )
        by_group: dict[str, list[dict[str, Any]]] = {}
        for task in running + stopped:
            by_group.setdefault(str(task.get("group", "")), []).append(task)
        definitions = await self._definitions(
            {str(t.get("taskDefinitionArn")) for t in running + stopped}
            | {str(s.get("taskDefinition")) for s in services if s.get("taskDefinition")}
        )
        balancing = await self._balancers(services)
        children = [
            self._service_node(
                node_id,
                cname,
                s,
                by_group.get(f"service:{s['serviceName']}", []),
                definitions,
                balancing,
            )
            for s in sorted(services, key=lambda s: str(s.get("serviceName")))
        ]
        healths = [c.status.health for c in children]
        health = (
            Health.FAILING
            if Health.FAILING in healths
            else Health.DEGRADED
            if Health.DEGRADED in healths
            else Health.OK
        )
        reason = (
            f"{len(services)} services, {cluster.get('runningTasksCount', len(running))} running, "
            f"{cluster.get('pendingTasksCount', 0)} pending tasks"
        )
        return Node(
            node_id,
            "ecs.cluster",
            cname,
            Status(health, reason),
            tuple(children),
            detail=f"{len(services)} services",
            params=(("cluster", cname),),
        )

    async def _balancers(self, services: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
        """Target group ARN -> its load balancer's ARN and security group, for the services
        behind one: what a runbook about a service and its load balancer is given. Nothing
        is lost when this cannot be read; only those parameters stay unknown."""
        groups = sorted(
            {
                str(balancer["targetGroupArn"])
                for service in services
                for balancer in service.get("loadBalancers") or []
                if balancer.get("targetGroupArn")
            }
        )
        if not groups:
            return {}
        try:
            described = await self.aws_pages(
                "elbv2", "describe_target_groups", "TargetGroups", TargetGroupArns=groups
            )
            lb_arns = sorted({a for g in described for a in g.get("LoadBalancerArns") or []})
            balancers = (
                await self.aws_pages(
                    "elbv2", "describe_load_balancers", "LoadBalancers", LoadBalancerArns=lb_arns
                )
                if lb_arns
                else []
            )
        except Exception:  # the tree does not need them; a runbook will ask for the values
            return {}
        security = {
            str(lb["LoadBalancerArn"]): str((lb.get("SecurityGroups") or [""])[0])
            for lb in balancers
        }
        found: dict[str, dict[str, str]] = {}
        for group in described:
            arns = group.get("LoadBalancerArns") or []
            if arns:
                found[str(group["TargetGroupArn"])] = {
                    "load_balancer": str(arns[0]),
                    "alb_security_group": security.get(str(arns[0]), ""),
                }
        return found

    async def _definitions(self, arns: set[str]) -> dict[str, dict[str, Any]]:
        arns.discard("None")
        found = await asyncio.gather(
            *(self.task_definition(arn) for arn in sorted(arns)), return_exceptions=True
        )
        return {
            arn: definition
            for arn, definition in zip(sorted(arns), found, strict=True)
            if isinstance(definition, dict)
        }

    def _service_node(
        self,
        parent: str,
        cluster: str,
        service: dict[str, Any],
        tasks: list[dict[str, Any]],
        definitions: dict[str, dict[str, Any]],
        balancing: dict[str, dict[str, str]] | None = None,
    ) -> Node:
        name = str(service["serviceName"])
        node_id = f"{parent}/{name}"
        state = service_state(service)
        stopped = [t for t in tasks if t.get("lastStatus") == "STOPPED"]
        stopped.sort(key=lambda t: str(t.get("stoppedAt") or ""), reverse=True)
        live = [t for t in tasks if t.get("lastStatus") != "STOPPED"]
        children = [
            self._task_node(node_id, cluster, t, definitions)
            for t in live + stopped[:STOPPED_SHOWN]
        ]
        definition = definitions.get(str(service.get("taskDefinition")), {})
        groups = {
            cfg["group"]: cfg["prefix"]
            for c in definition.get("containerDefinitions", [])
            if (cfg := log_config(c))
        }
        if groups:
            group, prefix = next(iter(groups.items()))
            self._log_sources[node_id] = (group, None, prefix or None)
        params = {"cluster": cluster, "service": name}
        checks = tuple(
            CheckCall(check, params)
            for check in (
                "ecs.service_counts",
                "ecs.service_events",
                "ecs.stopped_tasks",
                "ecs.task_definition",
            )
        )
        environment = {
            str(item.get("name")): str(item.get("value"))
            for c in definition.get("containerDefinitions", [])
            for item in c.get("environment") or []
        }
        own: dict[str, str] = dict(params)
        network = (service.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
        if network.get("securityGroups"):
            own["tasks_security_group"] = str(network["securityGroups"][0])
        if network.get("subnets"):
            own["subnets"] = ",".join(str(subnet) for subnet in network["subnets"])
        for balancer in service.get("loadBalancers") or []:
            group = str(balancer.get("targetGroupArn") or "")
            if group:
                own["target_group"] = group
                own.update((balancing or {}).get(group, {}))
            if balancer.get("containerPort"):
                own["container_port"] = str(balancer["containerPort"])
            break
        return Node(
            node_id,
            "ecs.service",
            name,
            Status(state.health, state.reason),
            tuple(children),
            checks,
            has_logs=bool(groups),
            detail=f"{state.running}/{state.desired}",
            params=tuple(own.items()),
            depends_on=addresses_in(environment),
        )

    def _task_node(
        self,
        parent: str,
        cluster: str,
        task: dict[str, Any],
        definitions: dict[str, dict[str, Any]],
    ) -> Node:
        task_id = arn_name(str(task["taskArn"]))
        node_id = f"{parent}/{task_id}"
        last = str(task.get("lastStatus", "UNKNOWN"))
        if last == "STOPPED":
            why = classify(task)
            health = Health.UNKNOWN if why.cls in BENIGN_CLASSES else Health.FAILING
            status = Status(health, why.line().split("] ", 1)[-1])
        else:
            health = _TASK_HEALTH.get(last, Health.DEGRADED)
            if task.get("healthStatus") == "UNHEALTHY":
                health = Health.DEGRADED
            status = Status(health, f"{last}, health {task.get('healthStatus', 'UNKNOWN')}")
        definition = definitions.get(str(task.get("taskDefinitionArn")), {})
        configs = {
            str(c.get("name")): log_config(c) for c in definition.get("containerDefinitions", [])
        }
        containers = []
        streams: dict[str, list[str]] = {}
        for container in task.get("containers", []):
            cname = str(container.get("name"))
            cnode = f"{node_id}/{cname}"
            config = configs.get(cname) or {}
            if config:
                stream = stream_name(config["prefix"], cname, task_id)
                streams.setdefault(config["group"], []).append(stream)
                self._log_sources[cnode] = (config["group"], [stream], None)
            exit_code = container.get("exitCode")
            text = str(container.get("lastStatus", "UNKNOWN"))
            if exit_code is not None and text == "STOPPED":
                text = f"{text}, exit {exit_code}"
            if container.get("reason"):
                text = f"{text}: {container['reason']}"
            chealth = Health.OK if container.get("lastStatus") == "RUNNING" else health
            containers.append(
                Node(
                    cnode,
                    "ecs.container",
                    cname,
                    Status(chealth, text),
                    has_logs=bool(config),
                    detail=str(container.get("image", "")),
                )
            )
        if streams:
            group, names = next(iter(streams.items()))
            self._log_sources[node_id] = (group, names, None)
        revision = str(task.get("taskDefinitionArn", "")).rsplit("/", 1)[-1]  # family:revision
        return Node(
            node_id,
            "ecs.task",
            task_id,
            status,
            tuple(containers),
            (CheckCall("ecs.task_definition", {"task_definition": revision}),),
            has_logs=bool(streams),
            detail=f"{last.lower()} {revision}",
            params=(("cluster", cluster), ("task", task_id)),
        )

    async def logs(self, node_id: str, *, since: datetime | None = None) -> AsyncIterator[LogLine]:
        """A service's, task's or container's awslogs streams, followed."""
        if node_id not in self._log_sources:
            await self.discover()
        source = self._log_sources.get(node_id)
        if source is None:
            yield LogLine(utc_now(), node_id, "warn", "no awslogs log configuration for this node")
            return
        group, streams, prefix = source
        label = node_id.removeprefix(f"{self.root_id}/")
        yield LogLine(utc_now(), label, "info", f"following CloudWatch Logs {group}")
        failing = False
        newest: set[tuple[str, int, str]] = set()  # events at `since`, shown before a restart
        while True:
            try:
                async for event in self.tail_events(
                    group, streams=streams, prefix=prefix, since=since
                ):
                    if failing:
                        failing = False
                        yield LogLine(utc_now(), label, "info", "CloudWatch Logs reachable again")
                    key = event_key(event)
                    if key in newest:
                        continue
                    line = self.log_line(event, str(event.get("logStreamName") or label))
                    if since is None or line.time > since:
                        newest.clear()
                    since = line.time
                    newest.add(key)
                    yield line
            except Exception as error:  # reported once, then retried
                if not failing:
                    failing = True
                    yield LogLine(
                        utc_now(),
                        label,
                        "error",
                        f"logs unavailable: {self.describe_error(error)}; retrying",
                    )
            await asyncio.sleep(2.0)
