"""Checks that words can point to: error messages, standard ports, what a cause says.

"ECONNREFUSED 127.0.0.1:5672", "Too many clients already" or "Database Connection Failed" name
something a registered check can confirm; these rules are generic (Redis, PostgreSQL, RabbitMQ,
TLS vocabulary), never a guide's own names.
"""

from __future__ import annotations

import re

from runbooks.importer.mapping import Arg

# Standard ports of the kinds triage has providers for (ECONNREFUSED 127.0.0.1:5672 -> rabbitmq).
PORT_KINDS = {6379: "redis.ping", 5432: "postgres.ready", 5672: "rabbitmq.connect"}

# Words in a symptom or a cause that a check can confirm: (pattern, check, argument from group 1).
PROSE: list[tuple[str, str, str]] = [
    (
        r"oom command not allowed|\bredis\b.*\b(?:out of memory|maxmemory|memory)\b",
        "redis.memory",
        "",
    ),
    (
        r"too many clients|connection pool (?:timeout|exhausted)|pool exhausted|max_connections",
        "postgres.connections",
        "",
    ),
    (r"relation \"([\w.]+)\" does not exist", "postgres.table_exists", "table"),
    (r"\bslow (?:database )?quer", "postgres.slow_statements", ""),
    (r"\bdeadlock|\block (?:wait|timeout)", "postgres.blocked", ""),
    (
        r"\bredis\b.*\b(?:connect\w*|running|refused|unreachable|down)\b|"
        r"\b(?:connect\w*|running|refused)\b.*\bredis\b",
        "redis.ping",
        "",
    ),
    (
        r"\b(?:rabbitmq|amqp)\b.*\b(?:connect\w*|running|refused|unreachable|down)\b|"
        r"\b(?:connect\w*|running|refused)\b.*\brabbitmq\b",
        "rabbitmq.connect",
        "",
    ),
    (
        r"\bqueue\b.*\b(?:backlog|piling|full|depth|stuck)\b|\bpiling up in (?:the )?queue",
        "rabbitmq.queues",
        "",
    ),
    (
        r"\b(?:postgres\w*|database|db)\b.*\b(?:connect\w*|running|refused|unreachable|down)\b|"
        r"\b(?:connect\w*|running|refused)\b.*\b(?:postgres\w*|database)\b",
        "postgres.ready",
        "",
    ),
    (r"\bcertificate\b.*\bexpir|\bexpir\w*\b.*\bcertificate", "tls.certificate", ""),
]


def prose_checks(text: str) -> list[tuple[str, dict[str, Arg]]]:
    """Checks that can confirm what `text` describes: error messages, ports, words."""
    found: list[tuple[str, dict[str, Arg]]] = []
    for port in re.findall(r"(?:econnrefused|connection to)\s+\S+?:(\d{2,5})", text, re.I):
        if int(port) in PORT_KINDS:
            found.append((PORT_KINDS[int(port)], {}))
    for pattern, check, argument in PROSE:
        match = re.search(pattern, text, re.IGNORECASE)
        if match:
            args = {argument: Arg(match.group(1), argument)} if argument else {}
            found.append((check, args))
            break
    return found
