"""The ecs provider's network checks around ECS, against the moto server.

ELBv2 target health, NAT gateways and routes, security groups, subnet addresses. States moto
cannot produce (an unhealthy target, a failed NAT gateway, a full subnet) are set on moto's
backend objects; the provider reads them through the real API.
"""

from __future__ import annotations

import pytest

from providers.contract import CheckStatus
from providers.ecs_provider import EcsProvider
from tests.integration import aws_checks
from tests.integration.aws_checks import run
from tests.servers.moto_server import MotoAws

pytestmark = pytest.mark.integration
provider = aws_checks.ecs_provider  # the fixture, under the name the tests use


def _load_balancer(aws: MotoAws) -> tuple[str, str]:
    ec2, elb = aws.client("ec2"), aws.client("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.2.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.2.{n}.0/24", AvailabilityZone=f"us-east-1{z}")[
            "Subnet"
        ]["SubnetId"]
        for n, z in ((1, "a"), (2, "b"))
    ]
    lb = elb.create_load_balancer(Name="shop-alb", Subnets=subnets)["LoadBalancers"][0]
    elb.modify_load_balancer_attributes(
        LoadBalancerArn=lb["LoadBalancerArn"],
        Attributes=[{"Key": "idle_timeout.timeout_seconds", "Value": "120"}],
    )
    group = elb.create_target_group(
        Name="shop-api",
        Protocol="HTTP",
        Port=8080,
        VpcId=vpc,
        TargetType="ip",
        HealthCheckPath="/health",
    )["TargetGroups"][0]
    elb.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"],
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": group["TargetGroupArn"]}],
    )
    elb.register_targets(
        TargetGroupArn=group["TargetGroupArn"],
        Targets=[{"Id": "10.2.1.10", "Port": 8080}, {"Id": "10.2.2.20", "Port": 8080}],
    )
    return lb["LoadBalancerArn"], group["TargetGroupArn"]


async def test_target_health_healthy(aws: MotoAws, provider: EcsProvider) -> None:
    _load_balancer(aws)
    result = await run(provider, "elbv2.target_health", load_balancer="shop-alb")
    assert result.status is CheckStatus.PASS, result.summary
    assert (result.facts["healthy"], result.facts["total"]) == (2, 2)
    assert result.facts["health_check_paths"] == ["/health"]
    assert result.facts["idle_timeout_seconds"] == 120


async def test_target_health_unhealthy_with_reasons(aws: MotoAws, provider: EcsProvider) -> None:
    from moto.elbv2.models import FakeHealthStatus

    _, group_arn = _load_balancer(aws)
    group = aws.backend("elbv2").target_groups[group_arn]
    group.health_for = lambda target, ec2: FakeHealthStatus(
        target["Id"],
        target.get("Port", 8080),
        "8080",
        "unhealthy",
        "Target.ResponseCodeMismatch",
        "Health checks failed with these codes: [502]",
    )
    result = await run(provider, "elbv2.target_health", target_group="shop-api")
    assert result.status is CheckStatus.FAIL
    assert result.facts["healthy"] == 0 and result.facts["unhealthy"] == 2
    assert result.facts["reasons"] == ["Target.ResponseCodeMismatch"]
    assert any("[502]" in line for line in result.evidence)


def _vpc_with_nat(aws: MotoAws) -> dict[str, str]:
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.3.0.0/16")["Vpc"]["VpcId"]
    public = ec2.create_subnet(VpcId=vpc, CidrBlock="10.3.0.0/24")["Subnet"]["SubnetId"]
    private = ec2.create_subnet(VpcId=vpc, CidrBlock="10.3.1.0/24")["Subnet"]["SubnetId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=public, AllocationId=eip)["NatGateway"]["NatGatewayId"]
    public_rt = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=public_rt, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    ec2.associate_route_table(RouteTableId=public_rt, SubnetId=public)
    private_rt = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=private_rt, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)
    ec2.associate_route_table(RouteTableId=private_rt, SubnetId=private)
    return {"vpc": vpc, "nat": nat, "private_rt": private_rt, "private": private}


async def test_nat_gateways_available_and_failed(aws: MotoAws, provider: EcsProvider) -> None:
    net = _vpc_with_nat(aws)
    ok = await run(provider, "ec2.nat_gateways", vpc_id=net["vpc"])
    assert ok.status is CheckStatus.PASS, ok.summary
    assert ok.facts["available"] == [net["nat"]]
    aws.backend("ec2").nat_gateways[net["nat"]].state = "failed"
    failed = await run(provider, "ec2.nat_gateways", vpc_id=net["vpc"])
    assert failed.status is CheckStatus.FAIL
    assert failed.facts["available"] == [] and failed.facts["not_available"] == [net["nat"]]


async def test_private_routes_look_at_the_tables_subnets_use(
    aws: MotoAws, provider: EcsProvider
) -> None:
    net = _vpc_with_nat(aws)
    ok = await run(provider, "ec2.private_routes", vpc_id=net["vpc"])
    # The VPC's main table has no default route, but every subnet has a table of its own:
    # the main table routes nothing, and is no fault.
    assert ok.status is CheckStatus.PASS, ok.summary
    assert ok.facts["with_nat"] == [net["private_rt"]] and ok.facts["without_nat"] == []

    # A new subnet with no table of its own: the main table routes it, with no way out.
    ec2 = aws.client("ec2")
    isolated = ec2.create_subnet(VpcId=net["vpc"], CidrBlock="10.3.2.0/24")["Subnet"]["SubnetId"]
    broken = await run(provider, "ec2.private_routes", vpc_id=net["vpc"])
    assert broken.status is CheckStatus.FAIL, broken.summary
    (main_table,) = broken.facts["without_nat"]
    assert any(isolated in line and "no 0.0.0.0/0 route" in line for line in broken.evidence)

    # Asked about the tasks' subnet only, the other subnet's table is none of its business.
    tasks = await run(provider, "ec2.private_routes", subnets=net["private"])
    assert tasks.status is CheckStatus.PASS, tasks.summary
    assert tasks.facts["subnets"] == [net["private"]]

    ec2.create_route(
        RouteTableId=main_table, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=net["nat"]
    )
    fixed = await run(provider, "ec2.private_routes", vpc_id=net["vpc"])
    assert fixed.status is CheckStatus.PASS, fixed.summary
    assert fixed.facts["without_nat"] == [] and len(fixed.facts["with_nat"]) == 2


async def test_security_group_allows_ecs_to_database(aws: MotoAws, provider: EcsProvider) -> None:
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.4.0.0/16")["Vpc"]["VpcId"]
    ecs_sg = ec2.create_security_group(GroupName="ecs", Description="t", VpcId=vpc)["GroupId"]
    db_sg = ec2.create_security_group(GroupName="db", Description="d", VpcId=vpc)["GroupId"]
    other = ec2.create_security_group(GroupName="other", Description="o", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=db_sg,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 5432,
                "ToPort": 5432,
                "UserIdGroupPairs": [{"GroupId": ecs_sg}],
            }
        ],
    )
    allowed = await run(
        provider, "ec2.security_group_allows", source=ecs_sg, destination=db_sg, port=5432
    )
    assert allowed.status is CheckStatus.PASS, allowed.summary
    assert allowed.facts["allowed"] is True
    assert allowed.facts["matching_rules"] == [f"tcp 5432-5432 from {ecs_sg}"]
    denied = await run(
        provider, "ec2.security_group_allows", source=other, destination=db_sg, port=5432
    )
    assert denied.status is CheckStatus.FAIL
    assert denied.facts["allowed"] is False and denied.facts["ingress_rules"]


async def test_subnet_free_ips_low_and_exhausted(aws: MotoAws, provider: EcsProvider) -> None:
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.5.0.0/16")["Vpc"]["VpcId"]
    roomy = ec2.create_subnet(VpcId=vpc, CidrBlock="10.5.0.0/24")["Subnet"]["SubnetId"]
    full = ec2.create_subnet(VpcId=vpc, CidrBlock="10.5.1.0/28")["Subnet"]["SubnetId"]
    ok = await run(provider, "ec2.subnet_free_ips", vpc_id=vpc)
    assert ok.status is CheckStatus.WARN  # a /28 has 11 free: under 16
    assert ok.facts["free"] == {roomy: 251, full: 11} and ok.facts["low"] == [full]
    subnet = aws.backend("ec2").get_subnet(full)
    subnet._available_ip_addresses = 0
    exhausted = await run(provider, "ec2.subnet_free_ips", subnets=f"{roomy},{full}")
    assert exhausted.status is CheckStatus.FAIL
    assert exhausted.facts["exhausted"] == [full] and exhausted.facts["lowest"] == 0
