"""Record a real incident across four providers, for snapshot tests that must not change.

Run `python -m tests.tui.record_incident` to regenerate recordings/incident.json. It starts
private servers (Redis, PostgreSQL, RabbitMQ, an HTTP service), breaks them the way the guides
describe, lets the real providers discover and check them, and stores what they reported with
ports, times and durations made canonical, so the replay reads the same on every machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import tempfile
import threading
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import psycopg

from providers.contract import CheckResult, Node
from providers.environment import LiveEnvironment
from providers.inventory import Environment, Inventory, Settings, Target
from tests.servers.http import Route, serve_http
from tests.servers.postgres import start_postgres
from tests.servers.rabbitmq import start_rabbitmq
from tests.servers.redis import start_redis

HERE = Path(__file__).parent / "recordings"
HOSTS = {
    "cache": "cache.prod.internal",
    "orders-db": "orders-db.prod.internal",
    "broker": "mq.prod.internal",
    "api": "api.prod.internal",
}


def _node(node: Node) -> dict[str, Any]:
    return {
        "id": node.id,
        "kind": node.kind,
        "name": node.name,
        "health": node.status.health.value,
        "reason": node.status.reason,
        "has_logs": node.has_logs,
        "detail": node.detail,
        "checks": [[call.check, dict(call.params)] for call in node.checks],
        "children": [_node(child) for child in node.children],
    }


def _result(result: CheckResult) -> dict[str, Any]:
    return {
        "check": result.check,
        "target": result.target,
        "node": result.node_id,
        "status": result.status.value,
        "summary": result.summary,
        "evidence": list(result.evidence),
        "facts": result.facts,
    }


def _canonical(text: str, ports: dict[int, str]) -> str:
    def host(match: re.Match[str]) -> str:
        port = int(match.group(1))
        return ports.get(port, match.group(0))

    text = re.sub(r"127\.0\.0\.1:(\d+)", host, text)
    text = re.sub(r"localhost:(\d+)", host, text)
    # Live timings and uptimes differ on every run; the replay shows fixed ones.
    text = re.sub(r"\d+(\.\d+)? ms", "4.2 ms", text)
    return re.sub(r"up \d+[smhd]( \d+[smhd])?", "up 41d 7h", text)


def main() -> None:
    with ExitStack() as stack, tempfile.TemporaryDirectory() as workdir:
        redis = stack.enter_context(start_redis(Path(workdir)))
        redis.client().set("tenant:001:oauth:token", "x")
        redis.fill_to_maxmemory("2mb")
        postgres = stack.enter_context(start_postgres(max_connections=20))
        postgres.execute("create table orders (id int primary key, state text)")
        postgres.execute("insert into orders values (1, 'new')")
        holder = postgres.connect(autocommit=False)
        holder.execute("update orders set state = 'held' where id = 1")  # and never commits

        def pay() -> None:
            with contextlib.suppress(psycopg.Error):  # ended when the recording stops
                postgres.execute("update orders set state = 'paid' where id = 1")

        waiter = threading.Thread(target=pay, daemon=True)
        waiter.start()
        broker = stack.enter_context(start_rabbitmq())
        broker.declare_queue("inbound-messages")
        broker.publish("inbound-messages", 12_408)
        api = stack.enter_context(
            serve_http({"/health": Route(503, '{"status": "degraded", "db": "timeout"}')})
        )
        ports = {
            redis.port: f"{HOSTS['cache']}:6379",
            postgres.port: f"{HOSTS['orders-db']}:5432",
            broker.amqp_port: f"{HOSTS['broker']}:5672",
            broker.management_port: f"{HOSTS['broker']}:15672",
            api.port: f"{HOSTS['api']}:443",
        }
        os.environ["TRIAGE_RECORD_PG_PASSWORD"] = postgres.password
        os.environ["TRIAGE_RECORD_AMQP_URL"] = broker.amqp_url
        inventory = Inventory(
            settings=Settings(check_timeout=5),
            environments={
                "prod": Environment(
                    targets=[
                        Target(kind="redis", name="cache", url=redis.url),
                        Target(
                            kind="postgres",
                            name="orders-db",
                            url=postgres.dsn_without_password,
                            password={"env": "TRIAGE_RECORD_PG_PASSWORD"},
                        ),
                        Target(
                            kind="rabbitmq",
                            name="broker",
                            url={"env": "TRIAGE_RECORD_AMQP_URL"},
                            options={"management_url": broker.management_url},
                        ),
                        Target(kind="http", name="api", url=api.url("/health")),
                    ]
                )
            },
        )

        async def observe() -> tuple[list[Node], list[CheckResult]]:
            live = LiveEnvironment(inventory)
            try:
                return await live.check_everything()
            finally:
                await live.close()

        nodes, results = asyncio.run(observe())
        holder.rollback()
        holder.close()
        waiter.join(timeout=10)
    document = {
        "nodes": [_node(node) for node in nodes],
        "results": [_result(result) for result in results],
    }
    text = _canonical(json.dumps(document, indent=1, default=str), ports)
    for secret in (postgres.password, broker.password):
        text = text.replace(secret, "***")
    HERE.mkdir(exist_ok=True)
    (HERE / "incident.json").write_text(text + "\n")
    print(f"wrote {HERE / 'incident.json'}: {len(nodes)} targets, {len(results)} results")


if __name__ == "__main__":
    main()
