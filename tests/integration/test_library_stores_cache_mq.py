"""The Redis and RabbitMQ runbooks of the library on real servers: faults and health.

Each fault scenario injects one cause and expects the engine to rank it first, confirmed, with
its evidence; each healthy scenario expects no confirmed cause.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from providers.inventory import SecretRef, Target
from tests.integration.library_scenarios import assert_first, assert_healthy, run
from tests.servers.process import free_port
from tests.servers.rabbitmq import RabbitMQServer
from tests.servers.redis import RedisServer

pytestmark = pytest.mark.integration

MQ_PASSWORD_ENV = "TRIAGE_TEST_STORES_MQ_PASSWORD"
VHOST = "stores-library"


# -- Redis ----------------------------------------------------------------------------------


def cache(server: RedisServer) -> Target:
    return Target(kind="redis", name="cache", url=server.url, timeout=2.0)


def redis_down(server: RedisServer) -> None:
    server.stop()


def stale_mappings(server: RedisServer) -> None:
    client = server.client()
    for index in range(5):
        client.set(f"tenant:t{index}:mapping:conv", "old")  # no TTL: never expires


def cached_with_ttl(server: RedisServer) -> None:
    client = server.client()
    for index in range(5):
        client.set(f"tenant:t{index}:mapping:conv", "fresh", ex=300)


REDIS_FAULTS = [
    ("redis-connection-errors", redis_down, {}, "redis-unreachable", ["reason is 'refused'"]),
    (
        "redis-cache-inconsistency",
        stale_mappings,
        {"pattern": "tenant:*"},
        "keys-without-ttl",
        ["keys: without ttl is 5 (> 0)"],
    ),
    (
        "redis-out-of-memory",
        lambda server: server.fill_to_maxmemory("2mb"),
        {"pattern": "fill:*"},
        "maxmemory-noeviction",
        ["the memory check failed", "memory: oom errors is "],
    ),
]


@pytest.mark.parametrize(
    ("runbook", "inject", "given", "cause", "evidence"),
    REDIS_FAULTS,
    ids=[fault[0] for fault in REDIS_FAULTS],
)
async def test_redis_fault(
    redis_server: RedisServer,
    runbook: str,
    inject: Any,
    given: dict[str, str],
    cause: str,
    evidence: list[str],
) -> None:
    inject(redis_server)
    assert_first(await run(runbook, cache(redis_server), **given), cause, *evidence)


@pytest.mark.parametrize(
    ("runbook", "given"),
    [
        ("redis-connection-errors", {}),
        ("redis-cache-inconsistency", {"pattern": "tenant:*"}),
        ("redis-out-of-memory", {"pattern": "tenant:*"}),
    ],
)
async def test_redis_healthy(
    redis_server: RedisServer, runbook: str, given: dict[str, str]
) -> None:
    cached_with_ttl(redis_server)
    diagnosis = await run(runbook, cache(redis_server), **given)
    assert_healthy(diagnosis)
    assert diagnosis.results["ping" if "ping" in diagnosis.results else "memory"].status.value in {
        "pass",
        "warn",
    }


# -- RabbitMQ -------------------------------------------------------------------------------


@pytest.fixture
def broker(rabbitmq_server: RabbitMQServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The session's broker with a vhost of our own, and a factory of targets on it."""
    monkeypatch.setenv(MQ_PASSWORD_ENV, rabbitmq_server.password)
    monkeypatch.setenv("TRIAGE_TEST_STORES_MQ_WRONG", "not-the-password-123")
    rabbitmq_server.create_vhost(VHOST)

    def target(
        *, vhost: str = VHOST, port: int | None = None, password_env: str = MQ_PASSWORD_ENV
    ) -> Target:
        where = f"{rabbitmq_server.host}:{port or rabbitmq_server.amqp_port}"
        return Target(
            kind="rabbitmq",
            name="mq",
            url=f"amqp://{rabbitmq_server.user}@{where}/{vhost}",
            password=SecretRef(env=password_env),
            timeout=3.0,
            options={"management_url": rabbitmq_server.management_url},
        )

    yield target
    rabbitmq_server.delete_vhost(VHOST)


@pytest.mark.parametrize(
    ("where", "cause", "evidence"),
    [
        ({"port": "closed"}, "broker-down", "connect: reason is 'refused' (= 'refused')"),
        ({"vhost": "stores-no-such-vhost"}, "vhost-missing", "'vhost_missing'"),
        ({"password_env": "TRIAGE_TEST_STORES_MQ_WRONG"}, "login-refused", "'auth_failed'"),
    ],
)
async def test_mq_connection_refused(
    broker: Any, where: dict[str, Any], cause: str, evidence: str
) -> None:
    if where.get("port") == "closed":
        where = {"port": free_port()}
    assert_first(await run("mq-connection-refused", broker(**where)), cause, evidence)


async def test_mq_connection_healthy(broker: Any) -> None:
    diagnosis = await run("mq-connection-refused", broker())
    assert_healthy(diagnosis)
    assert diagnosis.results["connect"].status.value == "pass"


async def test_mq_backlog_without_consumers(broker: Any, rabbitmq_server: RabbitMQServer) -> None:
    rabbitmq_server.publish("stores-inbound", 250, vhost=VHOST)
    diagnosis = await run("mq-queue-backlog", broker(), queue="stores-inbound", vhost=VHOST)
    assert_first(diagnosis, "no-consumers", "depth: backlog no consumers is true (= true)")
    assert diagnosis.results["depth"].facts["messages"] == 250


async def test_mq_backlog_healthy(broker: Any, rabbitmq_server: RabbitMQServer) -> None:
    rabbitmq_server.declare_queue("stores-inbound", vhost=VHOST)
    diagnosis = await run("mq-queue-backlog", broker(), queue="stores-inbound", vhost=VHOST)
    assert_healthy(diagnosis)
    assert diagnosis.results["depth"].status.value == "pass"
