"""The RabbitMQ provider's checks against a real, private RabbitMQ node, with backlogs and
faults.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time

import pytest

from providers.contract import CheckCall, CheckStatus, Health
from providers.inventory import Target
from providers.rabbitmq_provider import RabbitMQProvider
from tests.integration import rabbitmq_helpers
from tests.integration.rabbitmq_helpers import (
    BACKLOG,
    consumer,
    opened,
    silent_listener,
    wait_for_management,
)
from tests.servers.process import free_port
from tests.servers.rabbitmq import RabbitMQServer

pytestmark = pytest.mark.integration

# Fixtures shared with test_rabbitmq_actions (a vhost of its own),
# bound here, where pytest looks for them.
vhost = rabbitmq_helpers.vhost


async def test_backlog_without_consumers_fails_via_management_and_via_amqp(
    rabbitmq_server: RabbitMQServer, vhost: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rabbitmq_server.publish("jobs", BACKLOG, vhost=vhost)
    rabbitmq_server.declare_queue("idle", vhost)
    wait_for_management(rabbitmq_server, "jobs", vhost, messages=BACKLOG, consumers=0)

    async with opened(rabbitmq_server, monkeypatch, vhost=vhost) as provider:
        by_api = await provider.run_check(
            CheckCall("rabbitmq.queue", {"queue": "jobs", "vhost": vhost})
        )
        overview = await provider.run_check(CheckCall("rabbitmq.queues"))
        root = await provider.discover()
    closed = f"http://127.0.0.1:{free_port()}"
    async with opened(
        rabbitmq_server, monkeypatch, vhost=vhost, management_url=closed, queues=["jobs", "idle"]
    ) as provider:
        by_amqp = await provider.run_check(
            CheckCall("rabbitmq.queue", {"queue": "jobs", "vhost": vhost})
        )
        named = await provider.run_check(CheckCall("rabbitmq.queues"))
        bare = await provider.discover()

    for result, source in ((by_api, "management"), (by_amqp, "amqp")):
        assert result.status is CheckStatus.FAIL, result.summary
        assert (
            result.summary == f"jobs: backlog with no consumers: {BACKLOG:,} messages, 0 consumers"
        )
        assert result.facts["messages"] == BACKLOG
        assert result.facts["ready"] == BACKLOG
        assert result.facts["consumers"] == 0
        assert result.facts["backlog_no_consumers"] is True
        assert result.facts["growing"] is False
        assert result.facts["source"] == source
    assert by_api.facts["unacked"] == 0
    assert by_amqp.facts["unacked"] is None

    for result, source in ((overview, "management"), (named, "amqp")):
        assert result.status is CheckStatus.FAIL, result.summary
        assert result.facts["source"] == source
        assert result.facts["queues"] == 2
        assert result.facts["no_consumer_backlogs"] == ["jobs"]
        assert result.facts["total_messages"] == BACKLOG
        assert result.facts["top_backlogs"][0] == {
            "vhost": vhost,
            "queue": "jobs",
            "messages": BACKLOG,
            "consumers": 0,
        }

    for tree in (root, bare):
        assert tree.kind == "rabbitmq.node"
        assert tree.status.health is Health.OK, tree.status.reason
        jobs = {child.name: child for child in tree.children}["jobs"]
        assert jobs.id == f"rabbitmq:mq/{vhost}/jobs"
        assert jobs.kind == "rabbitmq.queue"
        assert jobs.status.health is Health.DEGRADED
        assert jobs.status.reason == f"backlog with no consumers: {BACKLOG:,} messages, 0 consumers"
    assert "management API not reachable" in bare.status.reason


async def test_a_consumer_attached_means_no_stuck_backlog(
    rabbitmq_server: RabbitMQServer, vhost: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rabbitmq_server.publish("work", BACKLOG, vhost=vhost)
    with consumer(rabbitmq_server, "work", vhost, prefetch=50):
        wait_for_management(rabbitmq_server, "work", vhost, consumers=1, messages_unacknowledged=50)
        call = CheckCall("rabbitmq.queue", {"queue": "work", "vhost": vhost})
        async with opened(rabbitmq_server, monkeypatch, vhost=vhost) as provider:
            by_api = await provider.run_check(call)
        async with opened(
            rabbitmq_server,
            monkeypatch,
            vhost=vhost,
            management_url=f"http://127.0.0.1:{free_port()}",
        ) as provider:
            by_amqp = await provider.run_check(call)

    assert by_api.status is CheckStatus.WARN, by_api.summary  # over the 1,000 threshold
    assert by_api.facts["backlog_no_consumers"] is False
    assert by_api.facts["consumers"] == 1
    assert by_api.facts["messages"] == BACKLOG
    assert by_api.facts["unacked"] == 50
    assert by_api.facts["ready"] == BACKLOG - 50
    assert by_amqp.status is CheckStatus.WARN, by_amqp.summary
    assert by_amqp.facts["backlog_no_consumers"] is False
    assert by_amqp.facts["consumers"] == 1
    assert by_amqp.facts["ready"] == BACKLOG - 50


async def test_a_growing_backlog_warns_from_samples_taken_in_one_call(
    rabbitmq_server: RabbitMQServer, vhost: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rabbitmq_server.declare_queue("inbound", vhost)
    stop = threading.Event()

    def produce() -> None:
        with contextlib.closing(rabbitmq_server.connect(vhost)) as connection:
            channel = connection.channel()
            while not stop.is_set():
                channel.basic_publish("", "inbound", b"{}")
                connection.sleep(0.01)

    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    try:
        async with opened(
            rabbitmq_server, monkeypatch, vhost=vhost, management_url=False
        ) as provider:
            result = await provider.run_check(
                CheckCall(
                    "rabbitmq.queue",
                    {"queue": "inbound", "vhost": vhost, "samples": 3, "interval": 0.3},
                )
            )
    finally:
        stop.set()
        producer.join(10)
    assert result.status is CheckStatus.FAIL, result.summary  # growing, and nobody consumes
    assert result.facts["growing"] is True
    assert result.facts["backlog_no_consumers"] is True
    samples = result.facts["samples"]
    assert len(samples) == 3 and samples[0] < samples[1] < samples[2]


async def test_connect_tells_a_missing_vhost(
    rabbitmq_server: RabbitMQServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with opened(rabbitmq_server, monkeypatch, vhost="no-such-vhost") as provider:
        result = await provider.run_check(CheckCall("rabbitmq.connect"))
    assert result.status is CheckStatus.FAIL
    assert result.facts["reason"] == "vhost_missing"
    assert (
        result.summary
        == f"{rabbitmq_server.address}/no-such-vhost: vhost 'no-such-vhost' not found"
    )


async def test_a_queue_shows_its_consumers_by_the_names_their_connections_give(
    rabbitmq_server: RabbitMQServer, vhost: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for queue in ("payments", "emails"):
        rabbitmq_server.declare_queue(queue, vhost)
    pod = "payment-worker-5d9c7b8f4-xk2lp"
    with (
        consumer(rabbitmq_server, "payments", vhost, 1, name=pod),
        consumer(rabbitmq_server, "payments", vhost, 1, name=pod),  # one name, shown once
        consumer(rabbitmq_server, "payments", vhost, 1),  # a client that gives no name
        consumer(rabbitmq_server, "emails", vhost, 1, name="mailer"),
    ):
        async with opened(rabbitmq_server, monkeypatch, vhost=vhost) as provider:
            deadline = time.monotonic() + 15
            while True:  # the management API lists a consumer once its channel is known
                root = await provider.discover()
                clients = {child.name: child.clients for child in root.children}
                if clients.get("payments") and clients.get("emails"):
                    break
                assert time.monotonic() < deadline, clients
                await asyncio.sleep(0.1)
    assert clients == {"payments": (pod,), "emails": ("mailer",)}


async def test_connect_tells_a_wrong_password_and_never_shows_it(
    rabbitmq_server: RabbitMQServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "wrong-password-0xC0FFEE"
    async with opened(rabbitmq_server, monkeypatch, password=secret) as provider:
        connect = await provider.run_check(CheckCall("rabbitmq.connect"))
        queue = await provider.run_check(
            CheckCall("rabbitmq.queue", {"queue": "x"}),
        )
        root = await provider.discover()
    assert connect.status is CheckStatus.FAIL
    assert connect.facts["reason"] == "auth_failed"
    assert connect.summary == (
        f"{rabbitmq_server.address}: authentication failed for user {rabbitmq_server.user!r}"
    )
    assert queue.status is CheckStatus.ERROR
    assert root.status.health is Health.FAILING
    for shown in (repr(connect), repr(queue), repr(root), repr(provider.endpoint())):
        assert secret not in shown


async def test_healthy_node_connects_and_has_no_alarms(
    rabbitmq_server: RabbitMQServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with opened(rabbitmq_server, monkeypatch) as provider:
        connect = await provider.run_check(CheckCall("rabbitmq.connect"))
        alarms = await provider.run_check(CheckCall("rabbitmq.alarms"))
    assert connect.status is CheckStatus.PASS, connect.summary
    assert connect.facts["reason"] == "ok"
    assert connect.facts["product"] == "RabbitMQ"
    assert alarms.status is CheckStatus.PASS, alarms.summary
    assert alarms.facts["mem_alarm"] is False
    assert alarms.facts["disk_free_alarm"] is False
    assert alarms.facts["connections"] >= 0
    (node,) = alarms.facts["nodes"].values()
    assert node["mem_used"] > 0 and node["mem_limit"] > node["mem_used"]
    assert node["disk_free_limit"] == 50_000_000


async def test_a_closed_port_is_refused_and_alarms_are_skipped(
    rabbitmq_server: RabbitMQServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    management = f"http://127.0.0.1:{free_port()}"
    async with opened(
        rabbitmq_server, monkeypatch, port=port, management_url=management
    ) as provider:
        connect = await provider.run_check(CheckCall("rabbitmq.connect"))
        alarms = await provider.run_check(CheckCall("rabbitmq.alarms"))
        root = await provider.discover()
    assert connect.status is CheckStatus.FAIL
    assert connect.facts["reason"] == "refused"
    assert connect.summary == f"127.0.0.1:{port}: connection refused (nothing listening)"
    assert connect.duration < 1
    assert alarms.status is CheckStatus.SKIPPED
    assert alarms.summary == f"management API not reachable at {management} (connection refused)"
    assert root.status.health is Health.FAILING
    assert root.status.reason == f"127.0.0.1:{port}: connection refused"


async def test_a_hung_broker_costs_one_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    with silent_listener() as port, silent_listener() as http_port:
        provider = RabbitMQProvider(
            Target(
                kind="rabbitmq",
                name="mq",
                url=f"amqp://guest@127.0.0.1:{port}/%2F",
                timeout=0.5,
                options={"management_url": f"http://127.0.0.1:{http_port}", "queues": ["q"]},
            )
        )
        try:
            started = time.monotonic()
            results = await asyncio.gather(
                *(provider.run_check(CheckCall(name, {"queue": "q"})) for name in provider.checks)
            )
            elapsed = time.monotonic() - started
        finally:
            await provider.close()
    by_name = {result.check: result for result in results}
    assert by_name["rabbitmq.connect"].status is CheckStatus.FAIL
    assert by_name["rabbitmq.connect"].facts["reason"] == "timeout"
    assert by_name["rabbitmq.connect"].summary == f"127.0.0.1:{port}: no answer within 0.4s"
    assert by_name["rabbitmq.alarms"].status is CheckStatus.SKIPPED
    for name in ("rabbitmq.queue", "rabbitmq.queues"):
        assert by_name[name].status is CheckStatus.ERROR, by_name[name].summary
        assert by_name[name].summary == f"127.0.0.1:{port}: no answer within 0.5s"
    assert elapsed < 0.5 * 1.5
