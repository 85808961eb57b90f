"""Within a sweep the RabbitMQ provider GETs each management path once; samples stay fresh."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from providers.contract import CheckCall, CheckStatus, Health
from providers.rabbitmq_management import Management
from providers.sweep import one_sweep
from tests.integration import rabbitmq_helpers
from tests.integration.rabbitmq_helpers import opened
from tests.servers.rabbitmq import RabbitMQServer

pytestmark = pytest.mark.integration
vhost = rabbitmq_helpers.vhost  # the fixture, bound where pytest looks


@pytest.fixture
def gets(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Every management GET made, as 'path key=value ...'."""
    made: Counter[str] = Counter()
    get = Management.get

    async def counted(self: Management, path: str, params: Mapping[str, str] | None = None) -> Any:
        made[" ".join([path, *(f"{k}={v}" for k, v in sorted((params or {}).items()))])] += 1
        return await get(self, path, params)

    monkeypatch.setattr(Management, "get", counted)
    return made


async def test_discovery_and_checks_of_a_sweep_get_each_path_once(
    rabbitmq_server: RabbitMQServer, vhost: str, monkeypatch: pytest.MonkeyPatch, gets: Counter[str]
) -> None:
    async with opened(rabbitmq_server, monkeypatch, vhost=vhost) as provider:
        checks = [*provider.root_checks(), CheckCall("rabbitmq.queues")]
        with one_sweep():
            root, *results = await asyncio.gather(
                provider.discover(), *(provider.run_check(call) for call in checks)
            )
        swept = dict(gets)
        gets.clear()
        again = await provider.run_check(CheckCall("rabbitmq.alarms"))  # outside a sweep

    assert root.status.health is Health.OK, root.status.reason
    assert all(result.status is CheckStatus.PASS for result in [*results, again]), results
    assert "/api/nodes" in swept and "/api/overview" in swept
    assert any(path.startswith("/api/queues/") for path in swept)
    assert {path: count for path, count in swept.items() if count > 1} == {}
    assert gets == Counter({"/api/nodes": 1, "/api/overview": 1})


@contextlib.contextmanager
def producing(server: RabbitMQServer, queue: str, vhost: str) -> Iterator[None]:
    stop = threading.Event()

    def produce() -> None:
        with contextlib.closing(server.connect(vhost)) as connection:
            channel = connection.channel()
            while not stop.is_set():
                channel.basic_publish("", queue, b"{}")
                connection.sleep(0.01)

    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    try:
        yield
    finally:
        stop.set()
        producer.join(10)


async def test_a_queue_sampled_within_a_sweep_is_asked_at_each_sample(
    rabbitmq_server: RabbitMQServer, vhost: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rabbitmq_server.declare_queue("inbound", vhost)
    sampled = CheckCall(
        "rabbitmq.queue", {"queue": "inbound", "vhost": vhost, "samples": 3, "interval": 0.3}
    )
    with producing(rabbitmq_server, "inbound", vhost):
        async with opened(rabbitmq_server, monkeypatch, vhost=vhost) as provider:
            with one_sweep():
                result = await provider.run_check(sampled)

    assert result.facts["source"] == "management", result.facts
    samples = result.facts["samples"]
    assert len(samples) == 3 and samples[0] < samples[1] < samples[2]
    assert result.facts["growing"] is True
