"""An in-process moto server for the AWS (ecs) provider's tests, and the states moto cannot make.

- ``moto_server`` (session): moto's ThreadedMotoServer on a free 127.0.0.1 port.
- ``aws`` (function): the server reset (``/moto-api/reset``), dummy credentials and
  ``AWS_ENDPOINT_URL`` in the environment (nothing can reach real AWS), and a ``MotoAws`` with
  boto3 clients on the server, moto's backends (to set what the real API reports but moto's
  cannot produce: stopCode, container exit codes and reasons, service events), and
  ``ecs_stack()``, which builds a VPC, a cluster, a task definition, a service and its tasks.

Nothing here talks to anything but 127.0.0.1.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

REGION = "us-east-1"
ACCOUNT = "123456789012"
CLUSTER = "shop-prod"
SERVICE = "shop-prod-api"
LOG_GROUP = "/ecs/shop-prod/api"
CONTAINER = "api"
SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:shop/prod/db-AbCdEf"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop-api:1.4.2"


def ecs_target(options: dict[str, Any], *, timeout: float = 5.0) -> Any:
    """A Target of kind ecs, named prod."""
    from providers.inventory import Target

    return Target(kind="ecs", name="prod", timeout=timeout, options=options)


class MotoServer:
    """A running ThreadedMotoServer: its endpoint, and a reset between tests."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
        # moto builds its EC2 backend after every reset; without its ~1 s catalogue of
        # default AMIs that takes milliseconds (no test here launches an instance).
        self._saved_amis = os.environ.get("MOTO_EC2_LOAD_DEFAULT_AMIS")
        os.environ["MOTO_EC2_LOAD_DEFAULT_AMIS"] = "false"
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        self.clients: dict[str, Any] = {}

    def reset(self) -> None:
        from moto.moto_api import state_manager

        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10) as answer:
            answer.read()
        # A running task stays RUNNING however often it is described, as on ECS.
        state_manager.set_transition("ecs::task", {"progression": "manual", "times": 10**9})

    def stop(self) -> None:
        self._server.stop()
        if self._saved_amis is None:
            os.environ.pop("MOTO_EC2_LOAD_DEFAULT_AMIS", None)
        else:
            os.environ["MOTO_EC2_LOAD_DEFAULT_AMIS"] = self._saved_amis


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    server = MotoServer()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class EcsStack:
    """What ``MotoAws.ecs_stack`` built."""

    cluster: str
    service: str
    vpc_id: str
    subnet_id: str
    security_group: str
    task_definition_arn: str
    running: list[str] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)


class MotoAws:
    """boto3 clients on the moto server, and moto's backends behind it."""

    region = REGION
    account = ACCOUNT

    def __init__(self, endpoint: str, clients: dict[str, Any]) -> None:
        self.endpoint = endpoint
        self._clients = clients  # the server's: made once per session (each costs ~0.2 s)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            import boto3
            from botocore.config import Config

            # Its own keys (moto takes any): never the credential chain of the process, which
            # a test may have emptied or pointed elsewhere.
            self._clients[service] = boto3.session.Session().client(
                service,
                region_name=REGION,
                endpoint_url=self.endpoint,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                config=Config(retries={"max_attempts": 1, "mode": "standard"}),
            )
        return self._clients[service]

    def target(self, *, timeout: float = 5.0, **options: Any) -> Any:
        """An ecs Target on this server (options as for `options()`)."""
        return ecs_target(self.options(**options), timeout=timeout)

    def options(self, **extra: Any) -> dict[str, Any]:
        """Target options for the provider: region, endpoint, one attempt per call."""
        return {"region": REGION, "endpoint_url": self.endpoint, "max_attempts": 1, **extra}

    @staticmethod
    def backend(service: str) -> Any:
        from moto.backends import get_backend

        return get_backend(service)[ACCOUNT][REGION]  # type: ignore[call-overload]

    # ECS ---------------------------------------------------------------------------------

    def ecs_stack(
        self,
        *,
        cluster: str = CLUSTER,
        service: str = SERVICE,
        desired: int = 2,
        running: int = 2,
        stopped: int = 0,
        secrets: bool = True,
    ) -> EcsStack:
        """A Fargate service with `running` tasks up and `stopped` tasks that stopped."""
        ec2, ecs = self.client("ec2"), self.client("ecs")
        vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
        subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
        group = ec2.create_security_group(
            GroupName=f"{service}-sg", Description="ecs", VpcId=vpc_id
        )
        ecs.create_cluster(clusterName=cluster)
        container: dict[str, Any] = {
            "name": CONTAINER,
            "image": IMAGE,
            "memory": 512,
            "cpu": 256,
            "essential": True,
            "portMappings": [{"containerPort": 8080}],
            "healthCheck": {
                "command": ["CMD-SHELL", "curl -f http://localhost:8080/health || exit 1"],
                "interval": 30,
                "timeout": 5,
                "retries": 3,
                "startPeriod": 60,
            },
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": LOG_GROUP,
                    "awslogs-region": REGION,
                    "awslogs-stream-prefix": "ecs",
                },
            },
        }
        if secrets:
            container["secrets"] = [
                {
                    "name": "DATABASE_URL",
                    "valueFrom": SECRET_ARN,
                }
            ]
        definition = ecs.register_task_definition(
            family=service,
            networkMode="awsvpc",
            requiresCompatibilities=["FARGATE"],
            cpu="512",
            memory="1024",
            executionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/{service}-execution",
            taskRoleArn=f"arn:aws:iam::{ACCOUNT}:role/{service}-task",
            containerDefinitions=[container],
        )["taskDefinition"]["taskDefinitionArn"]
        network = {
            "awsvpcConfiguration": {"subnets": [subnet_id], "securityGroups": [group["GroupId"]]}
        }
        ecs.create_service(
            cluster=cluster,
            serviceName=service,
            taskDefinition=definition,
            desiredCount=desired,
            launchType="FARGATE",
            networkConfiguration=network,
        )
        stack = EcsStack(cluster, service, vpc_id, subnet_id, group["GroupId"], definition)
        for index in range(running + stopped):
            task = ecs.run_task(
                cluster=cluster,
                taskDefinition=definition,
                launchType="FARGATE",
                networkConfiguration=network,
                group=f"service:{service}",
                startedBy="ecs-svc/1234",
            )["tasks"][0]["taskArn"]
            (stack.running if index < running else stack.stopped).append(task)
            for container in self._task(cluster, task).containers:
                container.last_status = "RUNNING"
        self.set_service(cluster, service, running=running, pending=max(desired - running, 0))
        return stack

    def _task(self, cluster: str, task_arn: str) -> Any:
        tasks = self.backend("ecs").tasks[cluster]
        return next(task for arn, task in tasks.items() if arn.endswith(task_arn.split("/")[-1]))

    def stop_task(
        self,
        cluster: str,
        task_arn: str,
        *,
        stop_code: str,
        reason: str,
        container_reason: str | None = None,
        exit_code: int | None = None,
    ) -> None:
        """Make a task STOPPED the way ECS reports it: stopCode, stoppedReason, the container's."""
        task = self._task(cluster, task_arn)
        task.last_status = "STOPPED"
        task.desired_status = "STOPPED"
        task.stop_code = stop_code
        task.stopped_reason = reason
        task.stopped_at = datetime.now(UTC)
        for container in task.containers:
            container.last_status = "STOPPED"
            container.exit_code = exit_code
            container.exitCode = exit_code
            container.reason = container_reason

    def set_service(
        self,
        cluster: str,
        service: str,
        *,
        running: int | None = None,
        pending: int | None = None,
        rollout: str | None = None,
        rollout_reason: str | None = None,
        failed_tasks: int | None = None,
        events: list[str] | None = None,
    ) -> None:
        """Counts, rollout state and events as ECS reports them (moto keeps them fixed)."""
        backend = self.backend("ecs")
        svc = backend._get_service(cluster, service)
        if running is not None:
            svc.running_count = running
        if pending is not None:
            svc.pending_count = pending
        deployment = svc.deployments[0]
        deployment["runningCount"] = svc.running_count
        deployment["pendingCount"] = svc.pending_count
        deployment["desiredCount"] = svc.desired_count
        if rollout is not None:
            deployment["rolloutState"] = rollout
        if rollout_reason is not None:
            deployment["rolloutStateReason"] = rollout_reason
        if failed_tasks is not None:
            deployment["failedTasks"] = failed_tasks
        if events is not None:
            now = datetime.now(UTC)
            svc.events = [
                {"id": f"event-{index}", "createdAt": now, "message": message}
                for index, message in enumerate(events)
            ]

    # CloudWatch Logs ---------------------------------------------------------------------

    def put_logs(
        self, group: str, stream: str, lines: list[str], *, at_ms: int | None = None
    ) -> None:
        logs = self.client("logs")
        if not logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
            logs.create_log_group(logGroupName=group)
        if not logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=stream)[
            "logStreams"
        ]:
            logs.create_log_stream(logGroupName=group, logStreamName=stream)
        base = at_ms if at_ms is not None else int(datetime.now(UTC).timestamp() * 1000)
        logs.put_log_events(
            logGroupName=group,
            logStreamName=stream,
            logEvents=[
                {"timestamp": base + index, "message": line} for index, line in enumerate(lines)
            ],
        )

    # IAM ---------------------------------------------------------------------------------

    def role(self, name: str, statements: list[dict[str, Any]]) -> str:
        iam = self.client("iam")
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        arn: str = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))[
            "Role"
        ]["Arn"]
        if statements:
            iam.put_role_policy(
                RoleName=name,
                PolicyName=f"{name}-inline",
                PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
            )
        return arn


@pytest.fixture
def aws(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> MotoAws:
    """A clean moto server and an environment that can only reach it."""
    moto_server.reset()
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.endpoint)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    return MotoAws(moto_server.endpoint, moto_server.clients)
