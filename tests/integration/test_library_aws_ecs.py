"""The aws family's ECS runbooks on moto: each injected fault is ranked first and confirmed,
and a healthy service confirms nothing. Load balancer, NAT and external API scenarios too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from runbooks.engine import Verdict
from tests.integration.library_aws_common import (
    CLUSTER,
    SERVICE,
    assert_first,
    assert_nothing_confirmed,
    http_target,
    run_runbook,
)
from tests.servers.http import Route, serve_http
from tests.servers.moto_server import SECRET_ARN, MotoAws

pytestmark = pytest.mark.integration

PULL = "CannotPullContainerError: pull image manifest has been retried 5 time(s): not found"
SECRETS = (
    "ResourceInitializationError: unable to pull secrets or registry auth: execution resource "
    "retrieval failed: unable to retrieve secret from asm: AccessDeniedException"
)
NO_PLACE = (
    "(service shop-prod-api) was unable to place a task because no container instance met all "
    "of its requirements. Reason: No Container Instances were found in your cluster."
)
STEADY = "(service shop-prod-api) has reached a steady state."


def _execution_role(aws: MotoAws, *, allowed: bool) -> None:
    statements = [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]
    aws.role(f"{SERVICE}-execution", statements if allowed else [])


def _failing_stack(aws: MotoAws, reason: str | None) -> None:
    stack = aws.ecs_stack(desired=2, running=0, stopped=2)
    _secret_present(aws)
    for task in stack.stopped:
        if reason:
            aws.stop_task(CLUSTER, task, stop_code="TaskFailedToStart", reason=reason)


def _secret_present(aws: MotoAws) -> None:
    """The secret the task definition names exists, under the ARN it names it by."""
    name = SECRET_ARN.split(":secret:")[1].rsplit("-", 1)[0]
    aws.client("secretsmanager").create_secret(Name=name, SecretString="x")
    aws.backend("secretsmanager").secrets[name].arn = SECRET_ARN


@pytest.mark.parametrize(
    ("reason", "events", "cause"),
    [
        (PULL, None, "image-pull"),
        (SECRETS, None, "secrets-unreadable"),
        (None, [NO_PLACE], "no-capacity"),
    ],
    ids=["image-pull", "secrets", "no-capacity"],
)
async def test_tasks_failing_to_start_faults(
    aws: MotoAws, reason: str | None, events: list[str] | None, cause: str
) -> None:
    _failing_stack(aws, reason)
    _execution_role(aws, allowed=False)
    if events:
        aws.set_service(CLUSTER, SERVICE, running=0, events=events)
    diagnosis = await run_runbook("ecs-tasks-failing-to-start", aws)
    assert_first(diagnosis, cause)


async def test_tasks_failing_to_start_because_the_secret_they_name_is_marked_for_deletion(
    aws: MotoAws,
) -> None:
    _failing_stack(aws, SECRETS)
    _execution_role(aws, allowed=True)
    name = SECRET_ARN.split(":secret:")[1].rsplit("-", 1)[0]
    aws.client("secretsmanager").delete_secret(SecretId=name, RecoveryWindowInDays=7)
    diagnosis = await run_runbook("ecs-tasks-failing-to-start", aws)
    assert_first(diagnosis, "secret-missing")
    assert "scheduled for deletion" in diagnosis.results["secret_state"].summary


async def test_tasks_failing_to_start_healthy(aws: MotoAws) -> None:
    aws.ecs_stack(desired=2, running=2)
    aws.set_service(CLUSTER, SERVICE, events=[STEADY])
    _execution_role(aws, allowed=True)
    aws.client("secretsmanager").create_secret(Name="shop/prod/db", SecretString="x")
    diagnosis = await run_runbook("ecs-tasks-failing-to-start", aws, {"secrets": "shop/prod/db"})
    assert_nothing_confirmed(diagnosis)


async def test_tasks_restarting_out_of_memory(aws: MotoAws) -> None:
    stack = aws.ecs_stack(desired=2, running=1, stopped=3)
    for task in stack.stopped:
        aws.stop_task(
            CLUSTER,
            task,
            stop_code="EssentialContainerExited",
            reason="Essential container in task exited",
            container_reason="OutOfMemoryError: Container killed due to memory usage",
            exit_code=137,
        )
    diagnosis = await run_runbook("ecs-tasks-restarting", aws)
    assert_first(diagnosis, "out-of-memory")
    assert "OutOfMemoryError" in " ".join(diagnosis.results["stopped"].evidence)


@pytest.mark.parametrize(
    ("reason", "restarting", "failing_to_start"),
    [
        (
            "Task failed container health checks",
            ("container-health-checks", Verdict.CONFIRMED),
            ("health-check-failure", Verdict.RULED_OUT),
        ),
        (
            "Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:x)",
            ("load-balancer-health-checks", Verdict.CONFIRMED),
            ("health-check-failure", Verdict.CONFIRMED),
        ),
    ],
    ids=["container", "load-balancer"],
)
async def test_tasks_stopped_by_a_health_check_are_told_by_which_one(
    aws: MotoAws,
    reason: str,
    restarting: tuple[str, Verdict],
    failing_to_start: tuple[str, Verdict],
) -> None:
    """A task that runs and then fails its own container health check is restarting, not
    failing to start before it is up (that is the load balancer's checks, or a grace period)."""
    stack = aws.ecs_stack(desired=2, running=1, stopped=2)
    _secret_present(aws)
    for task in stack.stopped:
        aws.stop_task(CLUSTER, task, stop_code="TaskFailedToStart", reason=reason)
    _execution_role(aws, allowed=True)
    for runbook_id, (cause, verdict) in [
        ("ecs-tasks-restarting", restarting),
        ("ecs-tasks-failing-to-start", failing_to_start),
    ]:
        diagnosis = await run_runbook(runbook_id, aws)
        found = {item.cause.id: item.verdict for item in diagnosis.causes}
        assert found[cause] is verdict, (runbook_id, found)


async def test_tasks_restarting_healthy(aws: MotoAws) -> None:
    aws.ecs_stack(desired=2, running=2)
    _metrics(aws, cpu=30.0, memory=45.0)
    assert_nothing_confirmed(await run_runbook("ecs-tasks-restarting", aws))


def _metrics(aws: MotoAws, *, cpu: float, memory: float) -> None:
    now = datetime.now(UTC)
    dims = [{"Name": "ClusterName", "Value": CLUSTER}, {"Name": "ServiceName", "Value": SERVICE}]
    aws.client("cloudwatch").put_metric_data(
        Namespace="AWS/ECS",
        MetricData=[
            {"MetricName": name, "Dimensions": dims, "Timestamp": at, "Value": value}
            for minutes in (20, 10)
            for name, value in (("CPUUtilization", cpu), ("MemoryUtilization", memory))
            if (at := now - timedelta(minutes=minutes))
        ],
    )


@pytest.mark.parametrize(("cpu", "cause"), [(97.0, "cpu-saturated"), (None, None)])
async def test_slow_performance(aws: MotoAws, cpu: float | None, cause: str | None) -> None:
    aws.ecs_stack(desired=2, running=2)
    _metrics(aws, cpu=cpu or 35.0, memory=50.0)
    diagnosis = await run_runbook("ecs-slow-performance", aws)
    if cause:
        assert_first(diagnosis, cause)
        assert diagnosis.results["metrics"].facts["cpu_max"] == 97.0
    else:
        assert_nothing_confirmed(diagnosis)
    # Without a postgres target the slow-query step is skipped, not failed.
    assert diagnosis.results["slow_queries"].status.value == "skipped"


@pytest.mark.parametrize("running", [0, 2])
async def test_container_logs_and_shell(aws: MotoAws, running: int) -> None:
    aws.ecs_stack(desired=2, running=running)
    diagnosis = await run_runbook("ecs-container-logs-and-shell", aws)
    if running:
        assert_nothing_confirmed(diagnosis)
        assert diagnosis.results["taskdef"].facts["log_groups"] == ["/ecs/shop-prod/api"]
    else:
        assert_first(diagnosis, "no-running-task")


def _load_balancer(aws: MotoAws, vpc: str) -> dict[str, str]:
    ec2, elb = aws.client("ec2"), aws.client("elbv2")
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{n}.0/24", AvailabilityZone=f"us-east-1{z}")[
            "Subnet"
        ]["SubnetId"]
        for n, z in ((10, "a"), (11, "b"))
    ]
    alb_sg = ec2.create_security_group(GroupName="alb", Description="alb", VpcId=vpc)["GroupId"]
    lb = elb.create_load_balancer(Name="shop-alb", Subnets=subnets, SecurityGroups=[alb_sg])
    lb_arn = lb["LoadBalancers"][0]["LoadBalancerArn"]
    group = elb.create_target_group(
        Name="shop-api", Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip"
    )["TargetGroups"][0]["TargetGroupArn"]
    elb.create_listener(
        LoadBalancerArn=lb_arn,
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": group}],
    )
    elb.register_targets(TargetGroupArn=group, Targets=[{"Id": "10.0.1.10", "Port": 8080}])
    return {"alb_sg": alb_sg, "lb_arn": lb_arn}


def _ingress(aws: MotoAws, group: str, port: int, **source: Any) -> None:
    aws.client("ec2").authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": port, "ToPort": port, **source}],
    )


@pytest.mark.parametrize("allowed", [False, True])
async def test_alb_5xx(aws: MotoAws, allowed: bool) -> None:
    stack = aws.ecs_stack(desired=2, running=2)
    lb = _load_balancer(aws, stack.vpc_id)
    if allowed:
        _ingress(aws, stack.security_group, 8080, UserIdGroupPairs=[{"GroupId": lb["alb_sg"]}])
    params = {
        "load_balancer": "shop-alb",
        "alb_security_group": lb["alb_sg"],
        "tasks_security_group": stack.security_group,
    }
    diagnosis = await run_runbook("ecs-alb-5xx", aws, params)
    if allowed:
        assert_nothing_confirmed(diagnosis)
    else:
        assert_first(diagnosis, "security-group-blocks-alb")


def _public_vpc(aws: MotoAws) -> str:
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    main = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]}])
    table = main["RouteTables"][0]["RouteTableId"]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    return vpc


@pytest.mark.parametrize("reachable", [False, True])
async def test_alb_not_receiving_traffic(aws: MotoAws, reachable: bool) -> None:
    vpc = _public_vpc(aws)
    lb = _load_balancer(aws, vpc)
    with serve_http({"/": Route(200, "welcome")}) as site:
        url = site.url("/") if reachable else "http://127.0.0.1:1/"
        if reachable:
            _ingress(aws, lb["alb_sg"], 443, IpRanges=[{"CidrIp": "0.0.0.0/0"}])
        params = {"load_balancer": "shop-alb", "alb_security_group": lb["alb_sg"], "vpc_id": vpc}
        diagnosis = await run_runbook(
            "ecs-alb-not-receiving-traffic", aws, params, targets=[http_target("alb", url)]
        )
    if reachable:
        assert_nothing_confirmed(diagnosis)
    else:
        assert_first(diagnosis, "security-group-blocks-inbound")


def _vpc_with_nat(aws: MotoAws) -> tuple[str, str]:
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.3.0.0/16")["Vpc"]["VpcId"]
    public = ec2.create_subnet(VpcId=vpc, CidrBlock="10.3.0.0/24")["Subnet"]["SubnetId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=public, AllocationId=eip)["NatGateway"]["NatGatewayId"]
    public_rt = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=public_rt, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    ec2.associate_route_table(RouteTableId=public_rt, SubnetId=public)
    main = ec2.describe_route_tables(
        Filters=[
            {"Name": "vpc-id", "Values": [vpc]},
            {"Name": "association.main", "Values": ["true"]},
        ]
    )["RouteTables"][0]["RouteTableId"]
    ec2.create_route(RouteTableId=main, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)
    return vpc, nat


API_KEY = "sk-test-Never-Shown-1234"


@pytest.mark.parametrize(
    ("fault", "cause"),
    [
        ("nat-failed", "nat-gateway-missing-or-failed"),
        ("wrong-key", "external-api-down"),
        (None, None),
    ],
)
async def test_nat_egress(
    aws: MotoAws, monkeypatch: pytest.MonkeyPatch, fault: str | None, cause: str | None
) -> None:
    vpc, nat = _vpc_with_nat(aws)
    if fault == "nat-failed":
        aws.backend("ec2").nat_gateways[nat].state = "failed"
    monkeypatch.setenv("TEST_LLM_API_KEY", "revoked" if fault == "wrong-key" else API_KEY)
    route = Route(200, '{"data": []}', require={"Authorization": f"Bearer {API_KEY}"})
    with serve_http({"/api/v1/models": route}) as api:
        target = http_target(
            "llm-api",
            api.url("/api/v1/models"),
            headers={"Authorization": {"env": "TEST_LLM_API_KEY", "prefix": "Bearer "}},
        )
        diagnosis = await run_runbook("ecs-nat-egress", aws, {"vpc_id": vpc}, targets=[target])
    if cause:
        assert_first(diagnosis, cause)
    else:
        assert_nothing_confirmed(diagnosis)
        assert diagnosis.results["api_status"].facts["status_code"] == 200
    assert API_KEY not in repr([r.to_dict() for r in diagnosis.results.values()])
