"""Rules for `aws` commands: ECS and the AWS services around it.

Keyed to the service and operation (`aws ecs describe-services`, `aws elbv2
describe-target-health`) and read their options (`--cluster`, `--secret-id`, `--dimensions
Name=ClusterName,Value=...`). A value the command does not hold becomes a parameter to fill.
"""

from __future__ import annotations

import re

from runbooks.importer.commands import Command
from runbooks.importer.ruletypes import Arg, Extractor, Rule, found, option

_VALUE = r"\$\([^)]*\)|[^,\s]+"  # a `$(...)` look-up or a plain value
_SG_DESCRIBE = r"^aws\s+ec2\s+describe-security-group(?:s|-rules)\b"

AWS_RULES: list[Rule] = [
    Rule(
        "aws",
        r"^aws\s+ecs\s+describe-services\b.*\bevents\b",
        "ecs.service_events",
        args=("ecs_cluster", "ecs_service"),
    ),
    Rule(
        "aws",
        r"^aws\s+ecs\s+describe-services\b",
        "ecs.service_counts",
        args=("ecs_cluster", "ecs_service"),
    ),
    Rule(
        "aws",
        r"^aws\s+ecs\s+(?:list-tasks|describe-tasks)\b",
        "ecs.stopped_tasks",
        args=("ecs_cluster", "ecs_service"),
    ),
    Rule(
        "aws",
        r"^aws\s+ecs\s+update-service\b.*--force-new-deployment",
        action="ecs.force_new_deployment",
        args=("ecs_cluster", "ecs_service"),
    ),
    Rule(
        "aws",
        r"^aws\s+ecs\s+update-service\b.*--desired-count",
        action="ecs.set_desired_count",
        args=("ecs_cluster", "ecs_service", "desired_count"),
    ),
    Rule("aws", r"^aws\s+ecs\s+stop-task\b", action="ecs.stop_task", args=("ecs_cluster", "task")),
    Rule(
        "aws",
        r"^aws\s+ecs\s+describe-task-definition\b",
        "ecs.task_definition",
        args=("task_definition",),
    ),
    Rule(
        "aws",
        r"^aws\s+elbv2\s+describe-(?:target-health|target-groups|load-balancer-attributes)\b",
        "elbv2.target_health",
        args=("target_group", "load_balancer"),
    ),
    Rule(
        "aws",
        _SG_DESCRIBE,
        "ec2.security_group_allows",
        args=("sg_destination", "sg_port"),
        expose=("port",),
    ),
    Rule("aws", r"^aws\s+ec2\s+describe-nat-gateways\b", "ec2.nat_gateways", args=("vpc_id",)),
    Rule("aws", r"^aws\s+ec2\s+describe-route-tables\b", "ec2.private_routes", args=("vpc_id",)),
    Rule(
        "aws",
        r"^aws\s+ec2\s+describe-subnets\b",
        "ec2.subnet_free_ips",
        args=("vpc_id", "subnets"),
    ),
    Rule(
        "aws",
        r"^aws\s+rds\s+describe-db-(?:clusters|instances)\b",
        "rds.cluster_status",
        args=("db_cluster",),
    ),
    Rule(
        "aws", r"^aws\s+rds\s+start-db-cluster\b", action="rds.start_cluster", args=("db_cluster",)
    ),
    Rule(
        "aws",
        r"^aws\s+secretsmanager\s+(?:get-secret-value|describe-secret)\b",
        "secretsmanager.secret_state",  # whether it exists and can be read; never its value
        args=("secrets",),
    ),
    Rule(
        "aws",
        r"^aws\s+secretsmanager\s+delete-secret\b.*--force-delete-without-recovery",
        action="secretsmanager.force_delete_secret",
        args=("secret",),
    ),
    Rule(
        "aws",
        r"^aws\s+acm\s+(?:describe-certificate|list-certificates)\b",
        "acm.pending_validation",
    ),
    Rule(
        "aws",
        r"^aws\s+iam\s+(?:get-role|get-role-policy|list-role-policies|"
        r"list-attached-role-policies|simulate-principal-policy)\b",
        "iam.role_allows",
        args=("role", "iam_action"),
    ),
    Rule(
        "aws",
        r"^aws\s+cloudwatch\s+get-metric-(?:statistics|data)\b",
        "cloudwatch.service_metrics",
        args=("cw_cluster", "cw_service", "cw_load_balancer"),
    ),
    Rule("aws", r"^aws\s+cloudwatch\s+describe-alarms\b", "cloudwatch.alarms", args=("prefix",)),
    Rule("aws", r"^aws\s+sns\s+list-subscriptions", "sns.pending_subscriptions", args=("topic",)),
    Rule("aws", r"^aws\s+ecr\s+describe-(?:images|repositories)\b", "ecr.images"),
    Rule("aws", r"^aws\s+elasticache\s+describe-cache-clusters\b", "elasticache.status"),
]
# Commands no check can replace, and why. Matched before the rules.
AWS_NO_CHECK: list[tuple[str, str, str]] = [
    ("aws", r"^aws\s+(?:ecs\s+execute-command|ssm\s+start-session)", "an interactive shell"),
    (
        "aws",
        r"^aws\s+cloudwatch\s+get-metric-\w+\b(?!.*aws/(?:ecs|applicationelb)\b)",
        "cloudwatch.service_metrics reads an ECS service's metrics; not this namespace",
    ),
    (
        "aws",
        r"^aws\s+secretsmanager\s+delete-secret\b(?!.*--force-delete-without-recovery)",
        "schedules a deletion that can be undone: no action does that",
    ),
    (
        "aws",
        r"^aws\s+elbv2\s+describe-load-balancers\b",
        "no check reads a load balancer's state, scheme or subnets",
    ),
]


def _dimension(command: Command, name: str) -> str | None:
    for word in command.words:
        match = re.search(rf"Name={name},Value=({_VALUE})", word)
        if match:
            return match.group(1)
    return None


def _filter(command: Command, name: str) -> str | None:
    for word in command.words:
        match = re.search(rf"Name={name},Values=({_VALUE})", word)
        if match:
            return match.group(1)
    return None


def _first(value: str | None) -> str | None:
    """The first of a list option's values (`--services a b`, `--group-ids sg-1,sg-2`)."""
    return value.split(",")[0] if value and not value.startswith("$(") else value


def _sg_port(command: Command) -> Arg | None:
    text = " ".join(command.words)
    match = re.search(r"FromPort\s*==\s*`?(\d+)", text) or re.search(r"--port\s+(\d+)", text)
    return Arg(int(match.group(1)), "port") if match else None


def _count(command: Command) -> Arg | None:
    value = option(command.words, "--desired-count")
    return Arg(int(value), "desired_count") if value and value.isdigit() else found(value, "count")


def _cw(name: str, param: str) -> Extractor:
    return lambda command: found(_dimension(command, name), param)


AWS_EXTRACTORS: dict[str, Extractor] = {
    "ecs_cluster": lambda c: found(option(c.words, "--cluster"), "cluster"),
    "ecs_service": lambda c: found(
        _first(option(c.words, "--service", "--services", "--service-name")), "service"
    ),
    "desired_count": _count,
    "task": lambda c: found(option(c.words, "--task"), "task"),
    "task_definition": lambda c: found(option(c.words, "--task-definition"), "task_definition"),
    "target_group": lambda c: found(
        _first(option(c.words, "--target-group-arn", "--target-group-arns", "--names")),
        "target_group",
    ),
    "load_balancer": lambda c: found(
        _first(option(c.words, "--load-balancer-arn", "--load-balancer-arns")), "load_balancer"
    ),
    "sg_destination": lambda c: found(
        _first(option(c.words, "--group-ids", "--group-id") or _filter(c, "group-id")), "sg_id"
    ),
    "sg_port": _sg_port,
    "vpc_id": lambda c: found(option(c.words, "--vpc-id") or _filter(c, "vpc-id"), "vpc_id"),
    "subnets": lambda c: found(option(c.words, "--subnet-ids"), "subnets"),
    "db_cluster": lambda c: found(option(c.words, "--db-cluster-identifier"), "db_cluster"),
    "secrets": lambda c: found(option(c.words, "--secret-id"), "secret_id"),
    "secret": lambda c: found(option(c.words, "--secret-id"), "secret_id"),
    "role": lambda c: found(option(c.words, "--role-name", "--policy-source-arn"), "role"),
    "iam_action": lambda c: found(_first(option(c.words, "--action-names")), "iam_action"),
    "cw_cluster": _cw("ClusterName", "cluster"),
    "cw_service": _cw("ServiceName", "service"),
    "cw_load_balancer": _cw("LoadBalancer", "load_balancer"),
    "prefix": lambda c: found(option(c.words, "--alarm-name-prefix"), "alarm_prefix"),
    "topic": lambda c: found(option(c.words, "--topic-arn"), "topic"),
}
# Check parameters named differently from their extractor.
AWS_ARG_NAMES = {
    "ecs_cluster": "cluster",
    "ecs_service": "service",
    "desired_count": "count",
    "sg_destination": "destination",
    "sg_port": "port",
    "db_cluster": "cluster",
    "iam_action": "action",
    "cw_cluster": "cluster",
    "cw_service": "service",
    "cw_load_balancer": "load_balancer",
}
