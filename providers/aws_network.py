"""Around ECS, the network: load balancer target health, NAT gateways, routes, security groups,
free addresses per subnet. Each is a `describe-*` the guides run by hand."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers.aws_session import AwsSession
from providers.base import Finding, check
from providers.contract import CheckStatus, ParamSpec

ANYWHERE = "0.0.0.0/0"


def _listed(value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return [str(item) for item in value]


def _vpc_filter(vpc_id: str | None) -> list[dict[str, Any]]:
    return [{"Name": "vpc-id", "Values": [vpc_id]}] if vpc_id else []


def _tables_serving(
    tables: list[dict[str, Any]], subnets: list[dict[str, Any]]
) -> dict[str, list[str]]:
    """Route table id -> the subnets it routes: a subnet's explicitly associated table, or
    else its VPC's main table (as EC2 routes it)."""
    explicit: dict[str, str] = {}
    main: dict[str, str] = {}
    for table in tables:
        for association in table.get("Associations", []):
            if association.get("SubnetId"):
                explicit[association["SubnetId"]] = table["RouteTableId"]
            elif association.get("Main"):
                main[str(table.get("VpcId"))] = table["RouteTableId"]
    serving: dict[str, list[str]] = {}
    for subnet in subnets:
        sid = subnet["SubnetId"]
        tid = explicit.get(sid) or main.get(str(subnet.get("VpcId")))
        if tid:
            serving.setdefault(tid, []).append(sid)
    return serving


class AwsNetwork(AwsSession):
    """Mixed into the ecs provider."""

    @check(
        "elbv2.target_health",
        "Load balancer target health",
        "Each target group's targets and their health with reasons, the health check path, and "
        "the load balancer's idle timeout (aws elbv2 describe-target-health).",
        applies_to=("ecs.service", "aws.account"),
        params={
            "target_group": ParamSpec("Target group names or ARNs (comma-separated)", str),
            "load_balancer": ParamSpec("Load balancer name or ARN: all its target groups", str),
        },
    )
    async def target_health(self, params: Mapping[str, Any]) -> Finding:
        query: dict[str, Any] = {}
        names = _listed(params.get("target_group"))
        lb_arn = ""
        if params.get("load_balancer"):
            lb = str(params["load_balancer"])
            if lb.startswith("arn:"):
                lb_arn = lb
            else:
                answer = await self.aws("elbv2", "describe_load_balancers", Names=[lb])
                lb_arn = answer["LoadBalancers"][0]["LoadBalancerArn"]
            query["LoadBalancerArn"] = lb_arn
        elif names and all(name.startswith("arn:") for name in names):
            query["TargetGroupArns"] = names
        elif names:
            query["Names"] = names
        groups = await self.aws_pages("elbv2", "describe_target_groups", "TargetGroups", **query)
        facts_groups = []
        evidence: list[str] = []
        reasons: set[str] = set()
        for group in groups:
            health = await self.aws(
                "elbv2", "describe_target_health", TargetGroupArn=group["TargetGroupArn"]
            )
            targets = []
            for item in health.get("TargetHealthDescriptions", []):
                state = item.get("TargetHealth", {})
                target = item.get("Target", {})
                entry = {
                    "id": target.get("Id"),
                    "port": target.get("Port"),
                    "state": state.get("State"),
                    "reason": state.get("Reason"),
                    "description": state.get("Description"),
                }
                targets.append(entry)
                if entry["reason"] and entry["state"] != "healthy":
                    reasons.add(str(entry["reason"]))
                evidence.append(
                    f"{group['TargetGroupName']} {entry['id']}:{entry['port']} {entry['state']}"
                    + (f" {entry['reason']}: {entry['description']}" if entry["reason"] else "")
                )
            healthy = sum(1 for t in targets if t["state"] == "healthy")
            facts_groups.append(
                {
                    "name": group["TargetGroupName"],
                    "arn": group["TargetGroupArn"],
                    "health_check_path": group.get("HealthCheckPath"),
                    "health_check_port": group.get("HealthCheckPort"),
                    "healthy": healthy,
                    "unhealthy": len(targets) - healthy,
                    "targets": targets,
                    "load_balancers": group.get("LoadBalancerArns", []),
                }
            )
            evidence.append(
                f"{group['TargetGroupName']}: health check {group.get('HealthCheckProtocol')} "
                f"{group.get('HealthCheckPath')} port {group.get('HealthCheckPort')}"
            )
        idle = None
        lb_arns = {lb_arn} if lb_arn else {a for g in facts_groups for a in g["load_balancers"]}
        if len(lb_arns) == 1:
            attrs = await self.aws(
                "elbv2", "describe_load_balancer_attributes", LoadBalancerArn=next(iter(lb_arns))
            )
            for attr in attrs.get("Attributes", []):
                if attr["Key"] == "idle_timeout.timeout_seconds":
                    idle = int(attr["Value"])
        total = sum(g["healthy"] + g["unhealthy"] for g in facts_groups)
        healthy = sum(g["healthy"] for g in facts_groups)
        facts = {
            "target_groups": facts_groups,
            "healthy": healthy,
            "unhealthy": total - healthy,
            "total": total,
            "reasons": sorted(reasons),
            "health_check_paths": sorted({str(g["health_check_path"]) for g in facts_groups}),
            "idle_timeout_seconds": idle,
        }
        if idle is not None:
            evidence.append(f"idle_timeout.timeout_seconds = {idle}")
        empty = [g["name"] for g in facts_groups if not g["targets"]]
        down = [g["name"] for g in facts_groups if g["targets"] and not g["healthy"]]
        if not groups:
            return Finding(CheckStatus.WARN, "no target groups found", facts)
        if down or empty:
            what = [f"{n}: no healthy targets" for n in down] + [f"{n}: no targets" for n in empty]
            return Finding(CheckStatus.FAIL, "; ".join(what), facts, tuple(evidence))
        if healthy < total:
            summary = (
                f"{total - healthy} of {total} targets unhealthy ({', '.join(sorted(reasons))})"
            )
            return Finding(CheckStatus.WARN, summary, facts, tuple(evidence))
        return Finding(
            CheckStatus.PASS,
            f"all {total} targets healthy in {len(groups)} target groups",
            facts,
            tuple(evidence),
        )

    @check(
        "ec2.nat_gateways",
        "NAT gateways and their state",
        "NAT gateways (of a VPC) and whether they are available (aws ec2 describe-nat-gateways).",
        applies_to=("aws.account",),
        params={"vpc_id": ParamSpec("VPC ID; default: every VPC", str)},
    )
    async def nat_gateways(self, params: Mapping[str, Any]) -> Finding:
        gateways = await self.aws_pages(
            "ec2", "describe_nat_gateways", "NatGateways", Filter=_vpc_filter(params.get("vpc_id"))
        )
        entries = [
            {
                "id": g["NatGatewayId"],
                "state": g.get("State"),
                "vpc_id": g.get("VpcId"),
                "subnet_id": g.get("SubnetId"),
                "failure": g.get("FailureMessage"),
            }
            for g in gateways
        ]
        available = [e["id"] for e in entries if e["state"] == "available"]
        broken = [e["id"] for e in entries if e["state"] in ("failed", "deleting", "deleted")]
        facts = {
            "nat_gateways": entries,
            "available": available,
            "not_available": broken,
            "count": len(entries),
        }
        evidence = tuple(
            f"{e['id']} {e['state']} in {e['subnet_id']} ({e['vpc_id']})"
            + (f": {e['failure']}" if e["failure"] else "")
            for e in entries
        )
        if not available:
            return Finding(CheckStatus.FAIL, "no available NAT gateway", facts, evidence)
        if broken:
            return Finding(CheckStatus.WARN, f"not available: {', '.join(broken)}", facts, evidence)
        return Finding(
            CheckStatus.PASS, f"{len(available)} NAT gateways available", facts, evidence
        )

    @check(
        "ec2.private_routes",
        "Private route tables have a default route to a NAT gateway",
        "The route tables that serve subnets (the named ones: the tasks'), those without an "
        "internet gateway default route, and whether each sends 0.0.0.0/0 to a NAT gateway "
        "that is not a blackhole (aws ec2 describe-route-tables). A table no subnet uses "
        "routes nothing and is left out.",
        applies_to=("aws.account",),
        params={
            "vpc_id": ParamSpec("VPC ID; default: every VPC", str),
            "subnets": ParamSpec("Subnet IDs (comma-separated); default: every subnet", str),
        },
    )
    async def private_routes(self, params: Mapping[str, Any]) -> Finding:
        vpc_filter = _vpc_filter(params.get("vpc_id"))
        tables = await self.aws_pages(
            "ec2", "describe_route_tables", "RouteTables", Filters=vpc_filter
        )
        named = _listed(params.get("subnets"))
        query: dict[str, Any] = {"SubnetIds": named} if named else {"Filters": vpc_filter}
        subnets = await self.aws_pages("ec2", "describe_subnets", "Subnets", **query)
        serving = _tables_serving(tables, subnets)
        private, public, with_nat, without_nat, blackhole = [], [], [], [], []
        evidence = []
        for table in tables:
            tid = table["RouteTableId"]
            served = serving.get(tid, [])
            if not served:
                continue  # no subnet (of those named) uses it
            default = next(
                (r for r in table.get("Routes", []) if r.get("DestinationCidrBlock") == ANYWHERE),
                None,
            )
            target = ""
            if default:
                target = str(
                    default.get("NatGatewayId")
                    or default.get("GatewayId")
                    or default.get("TransitGatewayId")
                    or default.get("NetworkInterfaceId")
                    or "?"
                )
            where = f"{tid} ({', '.join(served)})"
            if target.startswith("igw-"):
                public.append(tid)
                evidence.append(f"{where} public: 0.0.0.0/0 -> {target}")
                continue
            private.append(tid)
            if default and default.get("State") == "blackhole":
                blackhole.append(tid)
                evidence.append(f"{where}: 0.0.0.0/0 -> {target} BLACKHOLE")
            elif target.startswith("nat-"):
                with_nat.append(tid)
                evidence.append(f"{where}: 0.0.0.0/0 -> {target}")
            else:
                without_nat.append(tid)
                evidence.append(
                    f"{where}: no 0.0.0.0/0 route to a NAT{f' (-> {target})' if target else ''}"
                )
        facts = {
            "private_tables": private,
            "public_tables": public,
            "with_nat": with_nat,
            "without_nat": without_nat,
            "blackhole": blackhole,
            "subnets": sorted(s["SubnetId"] for s in subnets),
        }
        if blackhole or without_nat:
            bad = blackhole + without_nat
            return Finding(
                CheckStatus.FAIL,
                f"{len(bad)} private route tables have no working route to a NAT: {', '.join(bad)}",
                facts,
                tuple(evidence),
            )
        return Finding(
            CheckStatus.PASS,
            f"{len(with_nat)} private route tables route 0.0.0.0/0 to a NAT",
            facts,
            tuple(evidence),
        )

    @check(
        "ec2.security_group_allows",
        "A security group admits another on a port",
        "Whether the destination group's ingress rules admit the source group (or a CIDR "
        "holding it) on a TCP port: ECS tasks -> database 5432, load balancer -> tasks.",
        applies_to=("aws.account",),
        params={
            "source": ParamSpec("Source security group ID (the ECS tasks')", str, required=True),
            "destination": ParamSpec("Destination security group ID", str, required=True),
            "port": ParamSpec("TCP port", int, 5432),
        },
    )
    async def security_group_allows(self, params: Mapping[str, Any]) -> Finding:
        source, destination, port = params["source"], params["destination"], int(params["port"])
        answer = await self.aws("ec2", "describe_security_groups", GroupIds=[destination])
        group = answer["SecurityGroups"][0]
        rules, matching = [], []
        for perm in group.get("IpPermissions", []):
            proto = perm.get("IpProtocol")
            low, high = perm.get("FromPort", 0), perm.get("ToPort", 65535)
            covers = proto == "-1" or (proto in ("tcp", "6") and low <= port <= high)
            ports = "all" if proto == "-1" else f"{proto} {low}-{high}"
            sources = [p["GroupId"] for p in perm.get("UserIdGroupPairs", [])]
            cidrs = [r["CidrIp"] for r in perm.get("IpRanges", [])]
            for src in sources + cidrs:
                rule = f"{ports} from {src}"
                rules.append(rule)
                if covers and src in (source, ANYWHERE):
                    matching.append(rule)
        facts = {
            "allowed": bool(matching),
            "matching_rules": matching,
            "ingress_rules": rules,
            "source": source,
            "destination": destination,
            "port": port,
            "destination_name": group.get("GroupName"),
        }
        evidence = tuple(f"{destination} ({group.get('GroupName')}) ingress {r}" for r in rules)
        if matching:
            return Finding(
                CheckStatus.PASS,
                f"{destination} admits {source} on {port}: {matching[0]}",
                facts,
                evidence,
            )
        return Finding(
            CheckStatus.FAIL,
            f"{destination} does not admit {source} on tcp {port}",
            facts,
            evidence or (f"{destination} has no ingress rules",),
        )

    @check(
        "ec2.subnet_free_ips",
        "Free IP addresses per subnet",
        "Available addresses in each subnet (of a VPC, or those named): awsvpc tasks need one "
        "each, and placement fails when a subnet is exhausted.",
        applies_to=("aws.account",),
        params={
            "subnets": ParamSpec("Subnet IDs (comma-separated); default: every subnet", str),
            "vpc_id": ParamSpec("VPC ID", str),
            "warn_below": ParamSpec("Warn when a subnet has fewer free addresses", int, 16),
        },
    )
    async def subnet_free_ips(self, params: Mapping[str, Any]) -> Finding:
        query: dict[str, Any] = {"Filters": _vpc_filter(params.get("vpc_id"))}
        if ids := _listed(params.get("subnets")):
            query["SubnetIds"] = ids
        subnets = await self.aws_pages("ec2", "describe_subnets", "Subnets", **query)
        free = {s["SubnetId"]: int(s.get("AvailableIpAddressCount", 0)) for s in subnets}
        threshold = int(params["warn_below"])
        exhausted = sorted(sid for sid, count in free.items() if count == 0)
        low = sorted(sid for sid, count in free.items() if 0 < count < threshold)
        facts = {
            "free": free,
            "exhausted": exhausted,
            "low": low,
            "lowest": min(free.values()) if free else None,
        }
        evidence = tuple(
            f"{s['SubnetId']} {s.get('CidrBlock')} {s.get('AvailabilityZone')}: "
            f"{s.get('AvailableIpAddressCount')} free"
            for s in subnets
        )
        if exhausted:
            return Finding(
                CheckStatus.FAIL, f"no free addresses in {', '.join(exhausted)}", facts, evidence
            )
        if low:
            return Finding(
                CheckStatus.WARN,
                f"fewer than {threshold} free addresses in {', '.join(low)}",
                facts,
                evidence,
            )
        return Finding(
            CheckStatus.PASS, f"{len(free)} subnets, lowest {facts['lowest']} free", facts, evidence
        )
