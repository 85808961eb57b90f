"""The table from commands to checks and actions, and how each one's parameters are read.

Each `Rule` is data: the command family it applies to, a regular expression on the command
(SQL for SQL, the Redis command for redis-cli), the check or action it becomes, and the
extractors that read that check's parameters from the command. Entries for provider kinds that
are not registered yet (compose, docker, k8s, ecs and other AWS services) are here already: a
command matching one stays a manual step until a provider registers that name, and the coverage
report says which provider is missing. The names of those entries follow the providers being
written (compose.running, k8s.unready_pods, ecs.stopped_tasks ...); a name that turns out
different, or a parameter a check requires that the command does not hold, leaves the command a
manual step with that reason, never a broken runbook.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from runbooks.importer.commands import Command


@dataclass(frozen=True)
class Arg:
    """A value for a check parameter: a runbook parameter (`param` is its base name) or literal."""

    value: Any
    param: str | None = None


@dataclass(frozen=True)
class Rule:
    tool: str  # Command.tool: redis, sql, psql, rabbitmq, curl, url, net, compose, docker, ...
    match: str  # searched, case-insensitively, in `subject(command)`
    check: str = ""
    action: str = ""
    args: tuple[str, ...] = ()  # names of EXTRACTORS

    @property
    def name(self) -> str:
        return self.check or self.action

    @property
    def provider(self) -> str:
        return self.name.split(".")[0]


RULES: list[Rule] = [
    # Redis (redis-cli, also inside docker exec / kubectl exec)
    Rule("redis", r"^ping\b", "redis.ping"),
    Rule("redis", r"^(?:info\s+memory|memory\s+(?:stats|usage|doctor))\b", "redis.memory"),
    Rule("redis", r"^(?:info\s+clients|client\s+list)\b", "redis.clients"),
    Rule("redis", r"^(?:info\s+replication|role)\b", "redis.replication"),
    Rule("redis", r"^(?:info\s+persistence|lastsave)\b", "redis.persistence"),
    Rule("redis", r"^(?:latency\b|--latency)", "redis.latency"),
    Rule(
        "redis",
        r"^(?:keys|scan|ttl|pttl|exists|type|get|dbsize)\b",
        "redis.keys",
        args=("redis_key", "redis_db"),
    ),
    Rule("redis", r"^(?:del|unlink)\s", action="redis.delete_keys", args=("redis_key", "redis_db")),
    Rule("redis", r"^flushdb\b", action="redis.flushdb", args=("redis_db",)),
    Rule("redis", r"^client\s+kill\s", action="redis.kill_client", args=("redis_addr",)),
    # PostgreSQL: SQL text (psql -c, SQL blocks, psql sessions)
    Rule("sql", r"pg_stat_statements", "postgres.slow_statements", args=("limit", "database")),
    Rule(
        "sql",
        r"pg_locks|pg_blocking_pids|wait_event_type\s*=\s*'lock'",
        "postgres.blocked",
        args=("database",),
    ),
    Rule(
        "sql",
        r"pg_stat_activity.*(?:query_start|now\(\)|interval)",
        "postgres.long_queries",
        args=("threshold", "database"),
    ),
    Rule("sql", r"pg_stat_activity|max_connections", "postgres.connections"),
    Rule(
        "sql",
        r"pg_(?:database|total_relation|relation)_size|pg_stat_user_tables",
        "postgres.database_size",
        args=("database",),
    ),
    Rule("sql", r"pg_stat_replication|pg_is_in_recovery|pg_last_wal", "postgres.replication"),
    Rule("sql", r"^select\s+(?:1|version\(\))\s*;?$", "postgres.ready"),
    Rule(
        "sql", r"pg_terminate_backend\(\s*\d+", action="postgres.terminate_backend", args=("pid",)
    ),
    Rule("sql", r"pg_cancel_backend\(\s*\d+", action="postgres.cancel_query", args=("pid",)),
    Rule(
        "sql",
        r"^vacuum\s+(?:\(.*\)\s*)?analyze\s+[\w.]+",
        action="postgres.vacuum_analyze",
        args=("table",),
    ),
    Rule("psql", r"^pg_isready\b", "postgres.ready"),
    Rule("psql", r"^psql\b(?!.*\s<\s)", "postgres.ready"),  # a connection test, no SQL
    # RabbitMQ
    Rule("rabbitmq", r"\blist_queues\b", "rabbitmq.queues", args=("vhost",)),
    Rule("rabbitmq", r"\bpurge_queue\s", action="rabbitmq.purge_queue", args=("queue", "vhost")),
    Rule("rabbitmq", r"\b(?:alarms|check_alarms|check_local_alarms)\b", "rabbitmq.alarms"),
    Rule(
        "rabbitmq",
        r"\b(?:status|ping|cluster_status|node_health_check|check_running|"
        r"await_startup|list_connections)\b",
        "rabbitmq.connect",
    ),
    Rule("curl", r"://[^/\s]+:15672/api/queues", "rabbitmq.queues"),
    Rule("url", r"://[^/\s]+:15672\b", "rabbitmq.queues"),
    # HTTP and the network under it
    Rule("curl", r"^(?:curl|wget)\b", "http.status", args=("url",)),
    Rule("url", r"^https?://", "http.status", args=("url",)),
    Rule("net", r"^(?:nc|ncat|telnet)\b", "tcp.connect", args=("host", "port")),
    Rule("net", r"^(?:nslookup|dig|host)\b", "dns.resolve", args=("host",)),
    Rule("net", r"^openssl\s+s_client\b", "tls.certificate", args=("host", "port")),
    # Docker Compose and Docker (no provider registered yet)
    Rule("compose", r"\bps\b", "compose.running"),
    Rule("compose", r"\brestart\b", action="compose.restart_service", args=("service",)),
    Rule("compose", r"--scale\s", action="compose.scale", args=("service",)),
    Rule("compose", r"\b(?:up|start)\b", action="compose.start_service", args=("service",)),
    Rule("compose", r"\bstop\b", action="compose.stop_service", args=("service",)),
    Rule("docker", r"^docker\s+(?:system|image|volume|container)\s+prune\b", "", "compose.prune"),
    Rule("docker", r"^docker\s+(?:ps|container\s+ls)\b", "compose.running"),
    Rule("docker", r"^docker\s+stats\b", "compose.resources"),
    Rule("docker", r"^docker\s+inspect\b", "compose.restart_loop"),
    Rule("docker", r"^docker\s+(?:system\s+)?df\b", "compose.disk_usage"),
    Rule("docker", r"^docker\s+restart\b", action="compose.restart_service"),
    Rule("watch", r"docker\s+stats\b", "compose.resources"),
    # Kubernetes (no provider registered yet)
    Rule("kubectl", r"\bdescribe\s+pods?\b", "k8s.pod_waiting_reasons", args=("namespace",)),
    Rule("kubectl", r"\bget\s+(?:pods?|po)\b", "k8s.unready_pods", args=("namespace",)),
    Rule("kubectl", r"\btop\s+pods?\b", "k8s.resource_usage", args=("namespace",)),
    Rule("kubectl", r"\bget\s+hpa\b", "k8s.hpa_at_max", args=("namespace",)),
    Rule("kubectl", r"\bget\s+secrets?\b", "k8s.missing_references", args=("namespace",)),
    Rule("kubectl", r"\bscale\s+(?:deployment|deploy)\b", action="k8s.scale", args=("namespace",)),
    Rule("kubectl", r"\brollout\s+restart\b", action="k8s.rollout_restart", args=("namespace",)),
    Rule("kubectl", r"\bdelete\s+pods?\b", action="k8s.delete_pod", args=("namespace",)),
    # AWS (no provider registered yet)
    Rule(
        "aws",
        r"^aws\s+ecs\s+describe-services\b.*\bevents\b",
        "ecs.service_events",
        args=("cluster", "service"),
    ),
    Rule(
        "aws",
        r"^aws\s+ecs\s+describe-services\b",
        "ecs.service_counts",
        args=("cluster", "service"),
    ),
    Rule(
        "aws",
        r"^aws\s+ecs\s+(?:list-tasks|describe-tasks)\b",
        "ecs.stopped_tasks",
        args=("cluster", "service"),
    ),
    Rule(
        "aws",
        r"^aws\s+ecs\s+update-service\b.*--force-new-deployment",
        action="ecs.force_new_deployment",
        args=("cluster", "service"),
    ),
    Rule("aws", r"^aws\s+ecs\s+describe-task-definition\b", "ecs.task_definition"),
    Rule("aws", r"^aws\s+elbv2\s+describe-target-health\b", "elb.target_health"),
    Rule(
        "aws",
        r"^aws\s+elbv2\s+describe-(?:target-groups|load-balancers?|load-balancer-"
        r"attributes)\b",
        "elb.load_balancer",
    ),
    Rule("aws", r"^aws\s+ec2\s+describe-security-group", "ec2.security_group_allows"),
    Rule("aws", r"^aws\s+ec2\s+describe-nat-gateways\b", "ec2.nat_gateways"),
    Rule("aws", r"^aws\s+ec2\s+describe-route-tables\b", "ec2.private_routes"),
    Rule("aws", r"^aws\s+ec2\s+describe-subnets\b", "ec2.subnet_free_ips"),
    Rule(
        "aws",
        r"^aws\s+ecs\s+update-service\b.*--desired-count",
        action="ecs.set_desired_count",
        args=("cluster", "service"),
    ),
    Rule("aws", r"^aws\s+rds\s+describe-db-(?:clusters|instances)\b", "rds.cluster_status"),
    Rule("aws", r"^aws\s+rds\s+start-db-cluster\b", action="rds.start_cluster"),
    Rule(
        "aws",
        r"^aws\s+secretsmanager\s+(?:get-secret-value|describe-secret)\b",
        "secretsmanager.secret_exists",
    ),
    Rule("aws", r"^aws\s+acm\s+describe-certificate\b", "acm.pending_validation"),
    Rule("aws", r"^aws\s+iam\s+(?:get-role|list-role-pol\w+|get-role-policy)\b", "iam.role_allows"),
    Rule("aws", r"^aws\s+cloudwatch\s+get-metric-statistics\b", "cloudwatch.service_metrics"),
    Rule("aws", r"^aws\s+cloudwatch\s+describe-alarms\b", "cloudwatch.alarms"),
    Rule("aws", r"^aws\s+sns\s+list-subscriptions", "sns.pending_subscriptions"),
    Rule("aws", r"^aws\s+ecr\s+describe-(?:images|repositories)\b", "ecr.images"),
    Rule("aws", r"^aws\s+elasticache\s+describe-cache-clusters\b", "elasticache.status"),
]
# Commands no check can replace, and why (shown in the report instead of "no mapping").
NO_CHECK: list[tuple[str, str, str]] = [
    ("compose", r"\blogs\b", "logs: read them in the log pane; no check reads logs"),
    ("docker", r"^docker\s+logs\b", "logs: read them in the log pane; no check reads logs"),
    ("kubectl", r"\blogs\b", "logs: read them in the log pane; no check reads logs"),
    ("aws", r"^aws\s+logs\b", "logs: read them in the log pane; no check reads logs"),
    ("curl", r"-x\s*(?:post|put|patch|delete)|\s-d\s|--data", "http.status only sends GET"),
    ("net", r"^openssl\s+(?:x509|rand)", "reads a local file or makes a value, not a server"),
    ("redis", r"^monitor\b", "an interactive stream, not a check"),
    ("aws", r"^aws\s+(?:ecs\s+execute-command|ssm\s+start-session)", "an interactive shell"),
]


def _option(words: list[str], *names: str) -> str | None:
    for index, word in enumerate(words):
        for name in names:
            if word == name and index + 1 < len(words):
                return words[index + 1]
            if word.startswith(f"{name}=") and name.startswith("--"):
                return word.split("=", 1)[1]
    return None


def _redis_args(command: Command) -> list[str]:
    """The Redis command and its arguments, without redis-cli and its connection options."""
    words, index = command.words[1:], 0
    out: list[str] = []
    while index < len(words):
        if words[index] in {"-h", "-p", "-a", "-n", "-u", "--user", "--pass"}:
            index += 2
            continue
        if not words[index].startswith("-") or out or words[index] == "--latency":
            out.append(words[index])
        index += 1
    return out


def subject(command: Command) -> str:
    """What the rules of its family match on."""
    if command.tool == "redis":
        return " ".join(_redis_args(command)).lower()
    if command.sql:
        return " ".join(command.sql.split()).lower()
    return " ".join(command.words).lower()


def _host_port(command: Command) -> tuple[str | None, int | None]:
    words = command.words
    if words[:2] == ["openssl", "s_client"]:
        connect = _option(words, "-connect") or ""
        name, _, number = connect.rpartition(":")
        return (name or connect or None), int(number) if number.isdigit() else None
    positional = [w for w in words[1:] if not w.startswith(("-", "@", "+"))]
    positional = [w for w in positional if w.upper() not in {"A", "AAAA", "CNAME", "MX", "TXT"}]
    host = positional[0] if positional else None
    port = positional[1] if len(positional) > 1 and positional[1].isdigit() else None
    return host, int(port) if port else None


def _url(command: Command) -> Arg | None:
    for word in command.words:
        if re.match(r"^https?://", word):
            return Arg(word, "url")
    return None


def _interval_seconds(sql: str) -> float | None:
    match = re.search(r"interval\s+'(\d+(?:\.\d+)?)\s*(second|minute|hour)s?'", sql, re.I)
    if not match:
        return None
    scale = {"second": 1, "minute": 60, "hour": 3600}[match.group(2).lower()]
    return float(match.group(1)) * scale


def _database(command: Command) -> Arg | None:
    named = re.search(r"pg_database_size\('([\w-]+)'\)", command.sql)
    value = named.group(1) if named else _option(command.words, "-d", "--dbname")
    return Arg(value, "database") if value and "$" not in value else None


def _redis_key(command: Command) -> Arg | None:
    args = _redis_args(command)
    if args and args[0].lower() == "scan":
        pattern = _option(args, "MATCH", "match")
        return Arg(pattern, "pattern") if pattern else None
    return Arg(args[1], "pattern") if len(args) > 1 else None


def _int_arg(value: str | None, param: str | None = None) -> Arg | None:
    return Arg(int(value), param) if value and value.isdigit() else None


EXTRACTORS: dict[str, Callable[[Command], Arg | None]] = {
    "url": _url,
    "host": lambda c: Arg(h, "host") if (h := _host_port(c)[0]) else None,
    "port": lambda c: Arg(p, "port") if (p := _host_port(c)[1]) else None,
    "queue": lambda c: Arg(q, "queue") if (q := _option(c.words, "purge_queue")) else None,
    "vhost": lambda c: Arg(v, "vhost") if (v := _option(c.words, "-p", "--vhost")) else None,
    "redis_key": _redis_key,
    "redis_db": lambda c: _int_arg(_option(c.words, "-n"), "db"),
    "redis_addr": lambda c: Arg(a[2], "addr") if len(a := _redis_args(c)) > 2 else None,
    "database": _database,
    "threshold": lambda c: Arg(s) if (s := _interval_seconds(c.sql)) else None,
    "limit": lambda c: (
        _int_arg(m.group(1)) if (m := re.search(r"limit\s+(\d+)", c.sql, re.I)) else None
    ),
    "table": lambda c: (
        Arg(m.group(1), "table") if (m := re.search(r"analyze\s+([\w.]+)", c.sql, re.I)) else None
    ),
    "pid": lambda c: (
        _int_arg(m.group(1)) if (m := re.search(r"_backend\(\s*(\d+)", c.sql)) else None
    ),
    "cluster": lambda c: Arg(v, "cluster") if (v := _option(c.words, "--cluster")) else None,
    "service": lambda c: _service(c),
    "namespace": lambda c: (
        Arg(v, "namespace") if (v := _option(c.words, "-n", "--namespace")) else None
    ),
}
# Check parameters named differently from their extractor.
ARG_NAMES = {
    "redis_key": "pattern",
    "redis_db": "db",
    "redis_addr": "addr",
    "threshold": "threshold_seconds",
}


def _service(command: Command) -> Arg | None:
    value = _option(command.words, "--service", "--services", "--service-name")
    if value is None and command.tool == "compose":
        scale = re.search(r"--scale\s+([\w-]+)=", " ".join(command.words))
        verbs = {"restart", "up", "start", "stop"}
        after = [w for i, w in enumerate(command.words) if i and command.words[i - 1] in verbs]
        value = scale.group(1) if scale else next((w for w in after if w[0] != "-"), None)
    return Arg(value, "service") if value and "$" not in value else None


@dataclass
class Mapping_:
    """What a command became: a check or action with its arguments, or why it stays manual."""

    rule: Rule | None
    args: dict[str, Arg]
    reason: str = ""


def find_rule(command: Command) -> tuple[Rule | None, str]:
    """The first rule matching a command, or none and why."""
    text, family = subject(command), "sql" if command.sql else command.tool
    for tool, pattern, reason in NO_CHECK:
        if tool == command.tool and re.search(pattern, text):
            return None, reason
    for rule in RULES:
        if rule.tool == family and re.search(rule.match, text, re.IGNORECASE):
            return rule, ""
    return None, f"no mapping for {command.tool or 'this command'}"


def map_command(
    command: Command, checks: Mapping[str, Any], actions: Mapping[str, Any]
) -> Mapping_:
    """The check or action a command becomes, given what is registered now."""
    rule, reason = find_rule(command)
    if rule is None:
        return Mapping_(None, {}, reason)
    registered = checks if rule.check else actions
    if rule.name not in registered:
        return Mapping_(
            None, {}, f"not yet automatable: no provider for {rule.provider} (would be {rule.name})"
        )
    spec = registered[rule.name][1]
    if rule.action and command.destructive and not spec.destructive:
        return Mapping_(None, {}, f"destructive, but {rule.name} is not")  # never made safe
    args: dict[str, Arg] = {}
    for name in rule.args:
        found = EXTRACTORS[name](command)
        key = ARG_NAMES.get(name, name)
        if found is not None and key in spec.params:
            args[key] = found
    missing = [key for key, param in spec.params.items() if param.required and key not in args]
    if missing:
        return Mapping_(None, {}, f"{rule.name} needs {', '.join(missing)}, not in the command")
    return Mapping_(rule, args)
