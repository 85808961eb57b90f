"""No check blocks another or outlives its timeout, across every kind of provider."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from providers.contract import CheckStatus, Health
from providers.environment import LiveEnvironment
from providers.inventory import Environment, Inventory, Settings, Target
from tests.servers.redis import RedisServer

pytestmark = pytest.mark.integration

TIMEOUT = 1.0


@pytest.fixture
def hung_port() -> Iterator[int]:
    """Accepts connections and never answers, like a host behind a dead load balancer."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        yield listener.getsockname()[1]


async def test_hung_targets_of_every_kind_cost_one_timeout_and_spare_the_healthy(
    redis_server: RedisServer, hung_port: int
) -> None:
    hung = f"127.0.0.1:{hung_port}"
    inventory = Inventory(
        settings=Settings(check_timeout=TIMEOUT),
        environments={
            "prod": Environment(
                targets=[
                    Target(kind="redis", name="cache", url=redis_server.url),
                    Target(kind="redis", name="hung-redis", url=f"redis://{hung}/0"),
                    Target(kind="postgres", name="hung-db", url=f"postgresql://app@{hung}/app"),
                    Target(
                        kind="rabbitmq",
                        name="hung-mq",
                        url=f"amqp://guest@{hung}/%2F",
                        options={"management_url": f"http://{hung}"},
                    ),
                    Target(kind="http", name="hung-api", url=f"http://{hung}/health"),
                ]
            )
        },
    )
    live = LiveEnvironment(inventory)
    try:
        started = time.monotonic()
        nodes, results = await live.check_everything()
        elapsed = time.monotonic() - started
    finally:
        await live.close()

    # Discovery and the targets' own checks run together; the hung ones cost one timeout.
    assert elapsed <= TIMEOUT * 1.1 + 0.5, f"took {elapsed:.2f}s"
    healthy = [r for r in results if r.target == "cache"]
    assert healthy and {r.status for r in healthy} == {CheckStatus.PASS}
    # A hung server still completes TCP handshakes and its name still resolves.
    reachable = {"tcp.connect", "dns.resolve"}
    assert {r.status for r in results if r.check in reachable} == {CheckStatus.PASS}
    for result in results:
        if result.target != "cache" and result.check not in reachable:
            assert result.status in {CheckStatus.ERROR, CheckStatus.FAIL, CheckStatus.SKIPPED}, (
                result.check,
                result.summary,
            )
            assert result.duration <= TIMEOUT + 0.6, (result.check, result.duration)
    health = {node.id: node.status.health for node in nodes}
    assert health["redis:cache"] is Health.OK
    assert {
        health[f"{kind}:{name}"]
        for kind, name in [
            ("redis", "hung-redis"),
            ("postgres", "hung-db"),
            ("rabbitmq", "hung-mq"),
            ("http", "hung-api"),
        ]
    } == {Health.FAILING}
