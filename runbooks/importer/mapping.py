"""The table from commands to checks and actions, and how each one's parameters are read.

Each `Rule` is data: the command family it applies to, a regular expression on the command
(SQL for SQL, the Redis command for redis-cli), the check or action it becomes, and the
extractors that read that check's parameters from the command. This module holds the rules of
the data stores and the network; container commands (docker, compose, kubectl) are in
`mapping_containers`, `aws` commands in `mapping_aws`. A rule whose check no provider registers
leaves the command a manual step, and the report says which provider is missing. A parameter a
check requires that the command does not hold becomes a runbook parameter to fill (required, no
default), never a guessed value; a destructive command only ever becomes a destructive action.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from providers.postgres_sql import read_only_refusal, statements
from runbooks.importer.commands import Command
from runbooks.importer.mapping_aws import AWS_ARG_NAMES, AWS_EXTRACTORS, AWS_NO_CHECK, AWS_RULES
from runbooks.importer.mapping_containers import (
    CONTAINER_ARG_NAMES,
    CONTAINER_EXTRACTORS,
    CONTAINER_NO_CHECK,
    CONTAINER_RULES,
    compose_service,
)
from runbooks.importer.mapping_logs import LOG_ARG_NAMES, LOG_EXTRACTORS, LOG_NO_CHECK, LOG_RULES
from runbooks.importer.ruletypes import Arg, Extractor, Rule, found, option

__all__ = ["NO_CHECK", "RULES", "Arg", "Rule", "find_rule", "map_command", "subject"]


_CHANGING_SQL = (
    r"^(?:alter|create|insert|update|delete|merge|reindex|vacuum|analyze|cluster|refresh|grant|"
    r"revoke|comment|drop|truncate)\b"
)

_RUN_SQL = Rule("sql", _CHANGING_SQL, action="postgres.run_sql", args=("sql", "database"))

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
    Rule(
        "sql", r"pg_stat_replication|pg_is_in_recovery|pg_last_(?:wal|xact)", "postgres.replication"
    ),
    Rule("sql", r"^select\s+(?:1|version\(\))\s*;?$", "postgres.ready"),
    Rule(
        "sql", r"pg_terminate_backend\(\s*\d+", action="postgres.terminate_backend", args=("pid",)
    ),
    Rule("sql", r"pg_cancel_backend\(\s*\d+", action="postgres.cancel_query", args=("pid",)),
    Rule(
        "sql",
        r"^vacuum\s+(?:\(.*\)\s*)?analyze\b",  # no table named: a table to fill
        action="postgres.vacuum_analyze",
        args=("table",),
    ),
    # any other statement: read-only ones run as a query, changing ones through the gate
    Rule(
        "sql",
        r"^\(*\s*(?:select|with|values|table|show|explain)\b",
        "postgres.query",
        args=("sql", "database"),
    ),
    _RUN_SQL,
    Rule("vacuumdb", r"^vacuumdb\b", action="postgres.run_sql", args=("vacuumdb_sql", "database")),
    Rule("psql", r"^pg_isready\b", "postgres.ready"),
    Rule("psql", r"^psql\b(?!.*\s<\s)", "postgres.ready"),  # a connection test, no SQL
    # RabbitMQ
    Rule("rabbitmq", r"\blist_queues\b", "rabbitmq.queues", args=("vhost",)),
    Rule("rabbitmq", r"\bpurge_queue\s", action="rabbitmq.purge_queue", args=("queue", "vhost")),
    Rule("rabbitmq", r"\b(?:alarms|check_alarms|check_local_alarms)\b", "rabbitmq.alarms"),
    Rule(
        "rabbitmq",
        r"\b(?:status|ping|cluster_status|node_health_check|check_running|"
        r"check_port_connectivity|check_port_listener|await_startup|list_connections)\b",
        "rabbitmq.connect",
    ),
    Rule("curl", r"://[^/\s]+:15672/api/queues", "rabbitmq.queues"),
    Rule("url", r"://[^/\s]+:15672\b", "rabbitmq.queues"),
    # HTTP and the network under it
    Rule(
        "curl",
        r"-x\s*(?:post|put|patch|delete)\b|\s(?:-d|--data(?:-raw|-binary)?|--json)[\s=]",
        action="http.request",
        args=("url", "http_method", "http_body"),
    ),
    Rule("curl", r"^(?:curl|wget)\b", "http.status", args=("url",)),
    Rule("url", r"^https?://", "http.status", args=("url",)),
    Rule("net", r"^(?:nc|ncat|telnet)\b", "tcp.connect", args=("host", "port")),
    Rule("net", r"^(?:nslookup|dig|host)\b", "dns.resolve", args=("host",)),
    Rule("net", r"^openssl\s+s_client\b", "tls.certificate", args=("host", "port")),
    *LOG_RULES,
    *CONTAINER_RULES,
    *AWS_RULES,
]
# Commands no check can replace, and why (shown in the report instead of "no mapping").
NO_CHECK: list[tuple[str, str, str]] = [
    ("net", r"^openssl\s+(?:x509|rand)", "reads a local file or makes a value, not a server"),
    ("redis", r"^monitor\b", "an interactive stream, not a check"),
    *LOG_NO_CHECK,
    *CONTAINER_NO_CHECK,
    *AWS_NO_CHECK,
]


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
        connect = option(words, "-connect") or ""
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
    value = named.group(1) if named else option(command.words, "-d", "--dbname")
    if value is None and command.tool == "vacuumdb":  # vacuumdb [options] DBNAME
        valued = {"-U", "-h", "-p", "-t", "--table", "-j", "--jobs", "--username", "--host"}
        words = command.words
        value = next(
            (w for i, w in enumerate(words[1:], 1) if not w.startswith("-")
             and words[i - 1] not in valued and w not in {">", "|"}),
            None,
        )  # fmt: skip
    return Arg(value, "database") if value and "$" not in value else None


def _sql(command: Command) -> Arg | None:
    """The statement, when the command runs exactly one (several: one step each, by hand)."""
    parts = statements(command.sql)
    return Arg(parts[0]) if len(parts) == 1 else None


def _http_body(command: Command) -> Arg | None:
    body = option(command.words, "-d", "--data", "--data-raw", "--data-binary", "--json")
    if body is not None and body.startswith("@"):  # read from a file the guide does not give
        return Arg(None, "body", fill="the request body (the guide reads it from a file)")
    return Arg(body) if body else None


def _vacuumdb_sql(command: Command) -> Arg | None:
    """`vacuumdb --full --analyze -t orders db` as the VACUUM statement it runs."""
    words = command.words
    options = [
        word
        for flag, word in (("--full", "FULL"), ("-f", "FULL"), ("--analyze", "ANALYZE"),
                           ("-z", "ANALYZE"), ("--verbose", "VERBOSE"), ("-v", "VERBOSE"))
        if flag in words
    ]  # fmt: skip
    table = option(words, "-t", "--table")
    statement = "VACUUM" + (f" ({', '.join(dict.fromkeys(options))})" if options else "")
    return Arg(statement + (f" {table}" if table else ""))


def _redis_key(command: Command) -> Arg | None:
    args = _redis_args(command)
    if args and args[0].lower() == "scan":
        pattern = option(args, "MATCH", "match")
        return Arg(pattern, "pattern") if pattern else None
    return Arg(args[1], "pattern") if len(args) > 1 else None


def _int_arg(value: str | None, param: str | None = None) -> Arg | None:
    return Arg(int(value), param) if value and value.isdigit() else None


EXTRACTORS: dict[str, Extractor] = {
    "url": _url,
    "host": lambda c: Arg(h, "host") if (h := _host_port(c)[0]) else None,
    "port": lambda c: Arg(p, "port") if (p := _host_port(c)[1]) else None,
    "queue": lambda c: Arg(q, "queue") if (q := option(c.words, "purge_queue")) else None,
    "vhost": lambda c: Arg(v, "vhost") if (v := option(c.words, "-p", "--vhost")) else None,
    "redis_key": _redis_key,
    "redis_db": lambda c: _int_arg(option(c.words, "-n"), "db"),
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
    "service": lambda c: _service(c),
    "sql": _sql,
    "http_method": lambda c: Arg(m.upper()) if (m := option(c.words, "-X", "--request")) else None,
    "http_body": _http_body,
    "vacuumdb_sql": _vacuumdb_sql,
    **CONTAINER_EXTRACTORS,
    **AWS_EXTRACTORS,
    **LOG_EXTRACTORS,
}
# Check parameters named differently from their extractor.
ARG_NAMES = {
    "redis_key": "pattern",
    "redis_db": "db",
    "vacuumdb_sql": "sql",
    "http_method": "method",
    "http_body": "body",
    "redis_addr": "addr",
    "threshold": "threshold_seconds",
    **CONTAINER_ARG_NAMES,
    **AWS_ARG_NAMES,
    **LOG_ARG_NAMES,
}


def _service(command: Command) -> Arg | None:
    if command.tool == "compose":
        return compose_service(command)
    return found(option(command.words, "--service", "--services", "--service-name"), "service")


@dataclass
class Mapping_:
    """What a command became: a check or action with its arguments, or why it stays manual.

    `also`: further checks (name and arguments) the same command shows.
    """

    rule: Rule | None
    args: dict[str, Arg]
    reason: str = ""
    also: list[tuple[str, dict[str, Arg]]] = field(default_factory=list)


def find_rule(command: Command) -> tuple[Rule | None, str]:
    """The first rule matching a command, or none and why."""
    text, family = subject(command), "sql" if command.sql else command.tool
    for tool, pattern, reason in NO_CHECK:
        if tool == command.tool and re.search(pattern, text):
            return None, reason
    passed: Rule | None = None  # a check's rule, for a changing command: an action may follow
    for rule in RULES:
        if rule.tool == family and re.search(rule.match, text, re.IGNORECASE):
            if rule.check and command.changing:
                if rule.name == "postgres.query":  # reads like a query, acts on the server
                    return _sql_rule(rule, command)
                passed = passed or rule
                continue
            return _sql_rule(rule, command)
    if passed is not None:
        return passed, ""
    return None, f"no mapping for {command.tool or 'this command'}"


def _sql_rule(rule: Rule, command: Command) -> tuple[Rule | None, str]:
    """A query that acts on the server (pg_reload_conf()) runs through the gate; a command
    of several statements stays a step by hand (each would need its own preview)."""
    if rule.name not in {"postgres.query", "postgres.run_sql"} or rule.tool != "sql":
        return rule, ""
    parts = statements(command.sql)
    if len(parts) != 1:
        return None, "several SQL statements in one command: run them by hand"
    if rule.check and read_only_refusal(parts[0]):
        return _RUN_SQL, ""
    return rule, ""


def _loop_bound(arg: Arg, command: Command) -> bool:
    """A value that is the variable of the command's own `for` loop: no value to pass on."""
    loops = set(re.findall(r"\bfor\s+([A-Za-z_]\w*)\s+in\b", command.text))
    return isinstance(arg.value, str) and any(
        re.fullmatch(rf"\$\{{?{var}\}}?", arg.value) for var in loops
    )


def _arguments(command: Command, rule: Rule, spec: Any) -> dict[str, Arg]:
    """A check's or action's arguments from the command; what it requires and the command
    does not hold becomes a parameter to fill; `expose`d ones show the check's default."""
    args: dict[str, Arg] = {}
    for name in rule.args:
        key = ARG_NAMES.get(name, name)
        if key in args or key not in spec.params:
            continue
        value = EXTRACTORS[name](command)
        if value is not None and not _loop_bound(value, command):
            args[key] = value
    for key, param in spec.params.items():
        if key in args:
            continue
        if param.required:
            args[key] = Arg(None, key, fill=f"{param.description} (not in the guide's command)")
        elif key in rule.expose and param.default is not None:
            args[key] = Arg(param.default, key, described=f"{param.description} (the default)")
    return args


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
    also = [
        (name, _arguments(command, rule, checks[name][1])) for name in rule.also if name in checks
    ]
    return Mapping_(rule, _arguments(command, rule, spec), also=also)
