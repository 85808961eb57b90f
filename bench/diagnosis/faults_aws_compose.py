"""Faults for the ECS/AWS and Docker Compose scenarios, made on the shop's real servers.

AWS is the world's moto server, in this process: what the ECS API cannot be asked to do (a task
stopped for a reason, a target failing its health check, a deployment in progress) is set on
moto's backend objects, the way tests/servers/moto_server.py does, and read back by triage
through the real API. `env.aws()` puts moto back to the baseline after the scenario.

Compose services are containers of the world's private engine, labelled as compose labels
them, running busybox `sh` scripts; each helper removes what it made after the scenario.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.diagnosis.world import CLUSTER, COMPOSE_PROJECT, ECS_SERVICE, compose_labels

ACCOUNT = "123456789012"
REGION = "us-east-1"
REPOSITORY = "shop-api"
REGISTRY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
LOG_GROUP = "/ecs/shop-prod/api"  # the baseline task definition's awslogs group
SECRET_NAME = "shop/prod/db"
SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{SECRET_NAME}-AbCdEf"
EXECUTION_ROLE = f"{ECS_SERVICE}-execution"


# -- ECS -----------------------------------------------------------------------------------------


@dataclass
class Ecs:
    """The baseline service as it stands: its tasks, network and task definition."""

    aws: Any
    task_definition: str
    network: dict[str, Any]
    vpc_id: str
    security_group: str
    running: list[str] = field(default_factory=list)

    @property
    def ecs(self) -> Any:
        return self.aws.client("ecs")

    def service(self) -> Any:
        return self.aws.backend("ecs")._get_service(CLUSTER, ECS_SERVICE)


def ecs_service(env: Any) -> Ecs:
    """The baseline ECS service (shop-prod / shop-prod-api, 2 of 2 running), moto reset after."""
    aws = env.aws()
    ecs = aws.client("ecs")
    service = ecs.describe_services(cluster=CLUSTER, services=[ECS_SERVICE])["services"][0]
    network = service["networkConfiguration"]
    subnet = network["awsvpcConfiguration"]["subnets"][0]
    vpc = aws.client("ec2").describe_subnets(SubnetIds=[subnet])["Subnets"][0]["VpcId"]
    running = ecs.list_tasks(cluster=CLUSTER, serviceName=ECS_SERVICE, desiredStatus="RUNNING")[
        "taskArns"
    ]
    return Ecs(
        aws,
        service["taskDefinition"],
        network,
        vpc,
        network["awsvpcConfiguration"]["securityGroups"][0],
        running,
    )


def secret_readable(stack: Ecs, *, allowed: bool = True) -> None:
    """The database secret the task definition names exists, under that ARN; the execution
    role may read it (`allowed`), as it must for the service's tasks to start at all. The
    shop's baseline has both already; `allowed=False` takes the role's permission away."""
    aws = stack.aws
    secrets = aws.backend("secretsmanager").secrets
    if SECRET_NAME not in secrets:
        aws.client("secretsmanager").create_secret(
            Name=SECRET_NAME, SecretString='{"url": "postgresql://shop@db.internal:5432/shop"}'
        )
        secrets[SECRET_NAME].arn = SECRET_ARN
    iam = aws.client("iam")
    policies = iam.list_role_policies(RoleName=EXECUTION_ROLE)["PolicyNames"]
    if allowed and "read-db-secret" not in policies:
        iam.put_role_policy(
            RoleName=EXECUTION_ROLE,
            PolicyName="read-db-secret",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": "secretsmanager:GetSecretValue",
                            "Resource": SECRET_ARN,
                        }
                    ],
                }
            ),
        )
    if not allowed and "read-db-secret" in policies:
        iam.delete_role_policy(RoleName=EXECUTION_ROLE, PolicyName="read-db-secret")


def task_id(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def new_task(stack: Ecs, task_definition: str | None = None) -> str:
    """One more task of the service (RUNNING until a fault stops it)."""
    arn: str = stack.ecs.run_task(
        cluster=CLUSTER,
        taskDefinition=task_definition or stack.task_definition,
        launchType="FARGATE",
        networkConfiguration=stack.network,
        group=f"service:{ECS_SERVICE}",
        startedBy="ecs-svc/4811223395017341112",
    )["tasks"][0]["taskArn"]
    for container in stack.aws._task(CLUSTER, arn).containers:
        container.last_status = "RUNNING"
    stack.running.append(arn)
    return arn


def stop(
    stack: Ecs,
    arns: list[str],
    *,
    stop_code: str,
    reason: str,
    container_reason: str | None = None,
    exit_code: int | None = None,
    minutes_apart: int = 4,
) -> None:
    """Tasks stopped as ECS reports them, the first most recently, the others before it."""
    now = datetime.now(UTC)
    for index, arn in enumerate(arns):
        stack.aws.stop_task(
            CLUSTER,
            arn,
            stop_code=stop_code,
            reason=reason,
            container_reason=container_reason,
            exit_code=exit_code,
        )
        stack.aws._task(CLUSTER, arn).stopped_at = now - timedelta(minutes=index * minutes_apart)
        if arn in stack.running:
            stack.running.remove(arn)


def stopped_tasks(
    stack: Ecs, count: int, *, task_definition: str | None = None, **why: Any
) -> list[str]:
    """`count` tasks that started and stopped (`why`: as for `stop`)."""
    arns = [new_task(stack, task_definition) for _ in range(count)]
    stop(stack, arns, **why)
    return arns


def events(stack: Ecs, *messages: str) -> None:
    """The service's events, newest first, a few minutes apart (as describe-services lists)."""
    stack.aws.set_service(CLUSTER, ECS_SERVICE, events=list(messages))
    now = datetime.now(UTC)
    for index, event in enumerate(stack.service().events):
        event["createdAt"] = now - timedelta(minutes=2 * index)


def counts(stack: Ecs, *, desired: int | None = None, running: int, pending: int = 0) -> None:
    """The service's (and its cluster's) task counts as ECS keeps them."""
    if desired is not None:
        stack.service().desired_count = desired
    stack.aws.set_service(CLUSTER, ECS_SERVICE, running=running, pending=pending)
    cluster = stack.aws.backend("ecs").clusters[CLUSTER]
    cluster.running_tasks_count, cluster.pending_tasks_count = running, pending


def new_revision(stack: Ecs, image_tag: str) -> str:
    """A new task definition revision of the service with the image at `image_tag`."""
    current = stack.ecs.describe_task_definition(taskDefinition=stack.task_definition)
    definition = current["taskDefinition"]
    keys = (
        "family",
        "networkMode",
        "requiresCompatibilities",
        "cpu",
        "memory",
        "executionRoleArn",
        "taskRoleArn",
        "containerDefinitions",
    )
    revision = {key: definition[key] for key in keys}
    for container in revision["containerDefinitions"]:
        container["image"] = f"{REGISTRY}/{REPOSITORY}:{image_tag}"
    arn: str = stack.ecs.register_task_definition(**revision)["taskDefinition"]["taskDefinitionArn"]
    return arn


def deploy(stack: Ecs, revision: str, *, rollout: str, running: int, failed: int = 0) -> None:
    """The service rolls out `revision`: a PRIMARY deployment in front of the old one (ACTIVE
    while the rollout is in progress, gone once it completed)."""
    service = stack.service()
    old = service.deployments[0]
    now = datetime.now(UTC)
    primary = {
        **old,
        "id": "ecs-svc/4811223395017341112",
        "status": "PRIMARY",
        "taskDefinition": revision,
        "desiredCount": service.desired_count,
        "runningCount": running,
        "pendingCount": 0,
        "failedTasks": failed,
        "createdAt": now - timedelta(minutes=22),
        "updatedAt": now,
        "rolloutState": rollout,
        "rolloutStateReason": (
            "ECS deployment ecs-svc/4811223395017341112 completed."
            if rollout == "COMPLETED"
            else "ECS deployment ecs-svc/4811223395017341112 in progress."
        ),
    }
    service.task_definition = revision
    if rollout == "COMPLETED":
        service.deployments = [primary]
    else:
        old["status"] = "ACTIVE"
        service.deployments = [primary, old]


def ecr_images(stack: Ecs, *tags: str) -> None:
    """The ECR repository of the service's image, holding these tags."""
    ecr = stack.aws.client("ecr")
    ecr.create_repository(repositoryName=REPOSITORY)
    for index, tag in enumerate(tags):
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 7023,
                "digest": f"sha256:{index:064x}",
            },
            "layers": [],
        }
        ecr.put_image(repositoryName=REPOSITORY, imageManifest=json.dumps(manifest), imageTag=tag)


def task_ip(stack: Ecs, arn: str) -> str:
    task = stack.ecs.describe_tasks(cluster=CLUSTER, tasks=[arn])["tasks"][0]
    for attachment in task.get("attachments", []):
        for detail in attachment.get("details", []):
            if detail["name"] == "privateIPv4Address":
                return str(detail["value"])
    return "10.0.1.10"


@dataclass
class LoadBalancer:
    arn: str
    dns_name: str
    target_group: str
    security_group: str


def load_balancer(
    stack: Ecs,
    *,
    health_path: str = "/health",
    health: tuple[str, str, str] | None = None,
    register: bool = True,
) -> LoadBalancer:
    """The service's ALB `shop-alb` (HTTP :80) and target group `shop-api` (:8080), the running
    tasks registered in it (`register`; else `register_running` later), the service attached.
    `health`: (state, reason code, description) of every target, as describe-target-health
    gives them; None: healthy."""
    aws = stack.aws
    ec2, elb = aws.client("ec2"), aws.client("elbv2")
    subnets = [
        ec2.create_subnet(
            VpcId=stack.vpc_id, CidrBlock=f"10.0.{n}.0/24", AvailabilityZone=f"us-east-1{z}"
        )["Subnet"]["SubnetId"]
        for n, z in ((10, "a"), (11, "b"))
    ]
    alb_sg = ec2.create_security_group(
        GroupName="shop-alb", Description="shop-alb", VpcId=stack.vpc_id
    )["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=alb_sg,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": p, "ToPort": p, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
            for p in (80, 443)
        ],
    )
    ec2.authorize_security_group_ingress(
        GroupId=stack.security_group,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 8080,
                "ToPort": 8080,
                "UserIdGroupPairs": [{"GroupId": alb_sg}],
            }
        ],
    )
    lb = elb.create_load_balancer(Name="shop-alb", Subnets=subnets, SecurityGroups=[alb_sg])[
        "LoadBalancers"
    ][0]
    group = elb.create_target_group(
        Name="shop-api",
        Protocol="HTTP",
        Port=8080,
        VpcId=stack.vpc_id,
        TargetType="ip",
        HealthCheckPath=health_path,
        HealthCheckIntervalSeconds=15,
        HealthyThresholdCount=2,
        UnhealthyThresholdCount=3,
    )["TargetGroups"][0]["TargetGroupArn"]
    elb.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"],
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": group}],
    )
    if health is not None:
        from moto.elbv2.models import FakeHealthStatus

        state, code, description = health
        aws.backend("elbv2").target_groups[group].health_for = lambda target, ec2_backend: (
            FakeHealthStatus(
                target["Id"], target.get("Port", 8080), "8080", state, code, description
            )
        )
    stack.service().load_balancers = [
        {"targetGroupArn": group, "containerName": "api", "containerPort": 8080}
    ]
    made = LoadBalancer(lb["LoadBalancerArn"], lb["DNSName"], group, alb_sg)
    if register:
        register_running(stack, made)
    return made


def register_running(stack: Ecs, lb: LoadBalancer) -> None:
    """The service's running tasks are the target group's targets (ECS registers them)."""
    if stack.running:
        stack.aws.client("elbv2").register_targets(
            TargetGroupArn=lb.target_group,
            Targets=[{"Id": task_ip(stack, arn), "Port": 8080} for arn in stack.running],
        )


def api_logs(stack: Ecs, arn: str, lines: list[str], *, minutes_ago: float = 1) -> None:
    """Lines of the api container of task `arn` in its awslogs group and stream."""
    at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    stack.aws.put_logs(
        LOG_GROUP, f"ecs/api/{task_id(arn)}", lines, at_ms=int(at.timestamp() * 1000)
    )


def service_metrics(stack: Ecs, *, cpu: list[float], memory: list[float]) -> None:
    """AWS/ECS CPUUtilization and MemoryUtilization of the service, one datapoint a minute up
    to now (the last value the newest)."""
    now = datetime.now(UTC)
    dims = [
        {"Name": "ClusterName", "Value": CLUSTER},
        {"Name": "ServiceName", "Value": ECS_SERVICE},
    ]
    data = [
        {
            "MetricName": name,
            "Dimensions": dims,
            "Timestamp": now - timedelta(minutes=len(values) - index),
            "Value": value,
            "Unit": "Percent",
        }
        for name, values in (("CPUUtilization", cpu), ("MemoryUtilization", memory))
        for index, value in enumerate(values)
    ]
    cloudwatch = stack.aws.client("cloudwatch")
    for start in range(0, len(data), 20):
        cloudwatch.put_metric_data(Namespace="AWS/ECS", MetricData=data[start : start + 20])


def alarm_topic(stack: Ecs) -> str:
    """The on-call SNS topic, its e-mail subscription confirmed."""
    sns = stack.aws.client("sns")
    topic: str = sns.create_topic(Name="shop-prod-alarms")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="oncall@shop.example.com")
    return topic


def alarm(
    stack: Ecs,
    name: str,
    *,
    namespace: str,
    metric: str,
    dimensions: dict[str, str],
    comparison: str,
    threshold: float,
    state: str,
    reason: str,
    statistic: str = "Average",
    periods: int = 3,
) -> None:
    """A CloudWatch metric alarm notifying the on-call topic, in `state`."""
    cloudwatch = stack.aws.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        Namespace=namespace,
        MetricName=metric,
        Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
        Statistic=statistic,
        Period=60,
        EvaluationPeriods=periods,
        DatapointsToAlarm=periods,
        Threshold=threshold,
        ComparisonOperator=comparison,
        AlarmActions=[alarm_topic_arn(stack)],
        OKActions=[alarm_topic_arn(stack)],
        ActionsEnabled=True,
    )
    cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason=reason)


def alarm_topic_arn(stack: Ecs) -> str:
    sns = stack.aws.client("sns")
    for topic in sns.list_topics()["Topics"]:
        if topic["TopicArn"].endswith(":shop-prod-alarms"):
            return str(topic["TopicArn"])
    return alarm_topic(stack)


def aurora_cluster(stack: Ecs, name: str, *, stopped: bool) -> str:
    """An Aurora PostgreSQL cluster with one writer (stopped when `stopped`); its endpoint."""
    rds = stack.aws.client("rds")
    cluster = rds.create_db_cluster(
        DBClusterIdentifier=name,
        Engine="aurora-postgresql",
        EngineVersion="15.4",
        MasterUsername="shop",
        MasterUserPassword="never-used-by-the-bench",
        DatabaseName="shop",
        Port=5432,
        VpcSecurityGroupIds=[stack.security_group],
    )["DBCluster"]
    rds.create_db_instance(
        DBInstanceIdentifier=f"{name}-writer",
        DBClusterIdentifier=name,
        Engine="aurora-postgresql",
        DBInstanceClass="db.r6g.large",
    )
    if stopped:
        rds.stop_db_cluster(DBClusterIdentifier=name)
    return str(cluster["Endpoint"])


def log_time(minutes_ago: float = 0, seconds: float = 0) -> str:
    """A log line's timestamp, as an app prints it (ISO 8601, milliseconds, UTC)."""
    at = datetime.now(UTC) - timedelta(minutes=minutes_ago) + timedelta(seconds=seconds)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


# -- HTTP ----------------------------------------------------------------------------------------


def http_site(env: Any, routes: dict[str, Any]) -> Any:
    """An HTTP server of the scenario's own (tests/servers/http.py), stopped after it."""
    from tests.servers.http import serve_http

    stack = contextlib.ExitStack()
    site = stack.enter_context(serve_http(routes))
    env.later(stack.close)
    return site


# -- Compose -------------------------------------------------------------------------------------


def until(predicate: Callable[[], bool], timeout: float = 15, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise TimeoutError(f"not reached in {timeout:.0f} s: {what}")


def state(container: Any) -> dict[str, Any]:
    container.reload()
    result: dict[str, Any] = container.attrs["State"]
    return result


def restarted(container: Any, times: int, timeout: float = 20) -> None:
    """Wait until the engine restarted `container` at least `times` times."""

    def enough() -> bool:
        container.reload()
        return int(container.attrs.get("RestartCount", 0)) >= times

    until(enough, timeout, f"{container.name} restarted {times} times")


def healthcheck(command: str, *, interval: float = 1, retries: int = 2) -> dict[str, Any]:
    """A compose healthcheck (CMD-SHELL) as the engine API takes it (nanoseconds)."""
    second = 1_000_000_000
    return {
        "test": ["CMD-SHELL", command],
        "interval": int(interval * second),
        "timeout": second,
        "retries": retries,
        "start_period": 0,
    }


def published_container(
    env: Any,
    service: str,
    script: str,
    *,
    ports: dict[str, int],
    project: str = COMPOSE_PROJECT,
    environment: dict[str, str] | None = None,
) -> Any:
    """A compose service on the engine's bridge publishing `ports` ({"8080/tcp": host port}),
    as `docker compose up -d` creates it; when the engine cannot start it (a host port taken),
    it stays `created` with the engine's error. Removed after the scenario."""
    import docker.errors

    engine = env.world.docker()
    name = f"{project}-{service}-1"
    env.later(_remove, env, name)
    with contextlib.suppress(docker.errors.APIError):
        engine.run(
            ["sh", "-c", script],
            name=name,
            labels=compose_labels(project, service),
            environment=environment or {},
            ports=ports,
        )
    return engine.client().containers.get(name)


def _remove(env: Any, name: str) -> None:
    with contextlib.suppress(Exception):
        env.world.docker().client().containers.get(name).remove(force=True)


# -- RabbitMQ ------------------------------------------------------------------------------------


def backlog(env: Any, queue: str, count: int) -> Any:
    """`count` messages waiting in `queue` on the broker (no consumer); the queue is deleted
    after the scenario."""
    broker = env.world.rabbitmq()
    broker.declare_queue(queue)
    env.later(broker.delete_queue, queue)
    body = json.dumps({"invoice_id": 88412, "customer_id": 1042, "currency": "EUR"}).encode()
    broker.publish(queue, count, body=body)
    return broker


def rotate_broker_password(env: Any) -> Any:
    """The broker's user gets a new password at the broker (clients keep the old one); the
    old password comes back after the scenario."""
    broker = env.world.rabbitmq()
    broker.rabbitmqctl("change_password", broker.user, "rotated-" + broker.password[::-1])
    env.later(broker.rabbitmqctl, "change_password", broker.user, broker.password)
    return broker
