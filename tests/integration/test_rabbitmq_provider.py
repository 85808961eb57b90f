"""The RabbitMQ provider against a real, private RabbitMQ node, with backlogs and faults."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pika
import pytest

from providers.base import ConfirmationRequired
from providers.contract import CheckCall, CheckStatus, Health
from providers.inventory import Target
from providers.rabbitmq_provider import RabbitMQProvider
from tests.servers.process import free_port
from tests.servers.rabbitmq import RabbitMQServer

pytestmark = pytest.mark.integration

PASSWORD_VARIABLE = "TRIAGE_TEST_RABBITMQ_PASSWORD"
BACKLOG = 10_000


def url_of(server: RabbitMQServer, vhost: str = "/", port: int | None = None) -> str:
    """The AMQP URL without its password (the inventory forbids passwords in URLs)."""
    quoted = vhost.replace("/", "%2F")
    return f"amqp://{server.user}@{server.host}:{port or server.amqp_port}/{quoted}"


@contextlib.asynccontextmanager
async def opened(
    server: RabbitMQServer,
    monkeypatch: pytest.MonkeyPatch,
    *,
    vhost: str = "/",
    port: int | None = None,
    password: str | None = None,
    timeout: float = 3.0,
    **options: Any,
) -> AsyncIterator[RabbitMQProvider]:
    monkeypatch.setenv(PASSWORD_VARIABLE, server.password if password is None else password)
    options.setdefault("management_url", server.management_url)
    provider = RabbitMQProvider(
        Target(
            kind="rabbitmq",
            name="mq",
            url=url_of(server, vhost, port),
            password={"env": PASSWORD_VARIABLE},
            timeout=timeout,
            options=options,
        )
    )
    try:
        yield provider
    finally:
        await provider.close()


@contextlib.contextmanager
def silent_listener() -> Iterator[int]:
    """A port that accepts connections and never answers: a hung broker."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield listener.getsockname()[1]


@contextlib.contextmanager
def consumer(server: RabbitMQServer, queue: str, vhost: str, prefetch: int) -> Iterator[None]:
    """A pika consumer in a thread that takes `prefetch` messages and never acks them."""
    stop = threading.Event()
    ready = threading.Event()

    def run() -> None:
        connection = server.connect(vhost)
        try:
            channel = connection.channel()
            channel.basic_qos(prefetch_count=prefetch)
            channel.basic_consume(queue, lambda *_: None)
            ready.set()
            while not stop.is_set():
                connection.process_data_events(time_limit=0.05)
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield
    finally:
        stop.set()
        thread.join(10)


def wait_for_management(
    server: RabbitMQServer, queue: str, vhost: str, **expected: int
) -> dict[str, Any]:
    deadline = time.monotonic() + 15
    while True:
        found = server.management_queue(queue, vhost)
        if all(found.get(key) == value for key, value in expected.items()):
            return found
        assert time.monotonic() < deadline, f"management API shows {found} for {queue}"
        time.sleep(0.1)


@pytest.fixture
def vhost(rabbitmq_server: RabbitMQServer) -> Iterator[str]:
    name = f"t-{uuid.uuid4().hex[:8]}"
    rabbitmq_server.create_vhost(name)
    yield name
    rabbitmq_server.delete_vhost(name)


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


async def test_purge_previews_the_exact_count_and_needs_the_queue_name(
    rabbitmq_server: RabbitMQServer, vhost: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rabbitmq_server.publish("dead-letters", BACKLOG, vhost=vhost)
    async with opened(rabbitmq_server, monkeypatch, vhost=vhost) as provider:
        plan = await provider.plan_action(
            "rabbitmq.purge_queue", {"queue": "dead-letters", "vhost": vhost}
        )
        assert plan.preview.summary.startswith(f"purge {BACKLOG:,} messages from dead-letters")
        assert plan.preview.counts == {"messages": BACKLOG}
        assert plan.preview.destructive is True
        assert plan.confirmation_word() == "dead-letters"

        with pytest.raises(ConfirmationRequired):
            await provider.run_action(plan, confirmation=None)
        with pytest.raises(ConfirmationRequired):
            await provider.run_action(plan, confirmation="yes")
        assert rabbitmq_server.queue_depth("dead-letters", vhost) == BACKLOG

        outcome = await provider.run_action(plan, confirmation="dead-letters")
    assert outcome.ok, outcome.summary
    assert outcome.summary == f"purged {BACKLOG:,} messages from dead-letters"
    assert rabbitmq_server.queue_depth("dead-letters", vhost) == 0


async def test_log_stream_reports_backlogs_and_lost_consumers(
    rabbitmq_server: RabbitMQServer, vhost: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("providers.rabbitmq_provider.POLL_SECONDS", 0.05)
    rabbitmq_server.declare_queue("events", vhost)
    async with opened(
        rabbitmq_server,
        monkeypatch,
        vhost=vhost,
        management_url=False,
        queues=["events"],
        backlog_threshold=100,
    ) as provider:
        stream = provider.logs(provider.root_id)
        banner = await asyncio.wait_for(anext(stream), 5)
        assert (banner.level, banner.text) == ("info", "watching 1 queues")
        rabbitmq_server.publish("events", 150, vhost=vhost)
        over = await asyncio.wait_for(anext(stream), 5)
        assert (over.level, over.text) == ("warn", f"{vhost}/events: backlog 150 messages over 100")
        with consumer(rabbitmq_server, "events", vhost, prefetch=1):
            attached = await asyncio.wait_for(anext(stream), 5)
            assert (attached.level, attached.text) == (
                "info",
                f"{vhost}/events: 1 consumer(s) attached",
            )
        lost = await asyncio.wait_for(anext(stream), 5)
        assert lost.level == "warn"
        assert re.fullmatch(
            rf"{vhost}/events: lost its 1 consumer\(s\), 1(49|50) messages waiting", lost.text
        ), lost.text
        await stream.aclose()


async def test_log_stream_reports_an_unreachable_broker_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("providers.rabbitmq_provider.POLL_SECONDS", 0.01)
    port = free_port()
    provider = RabbitMQProvider(
        Target(
            kind="rabbitmq",
            name="mq",
            url=f"amqp://guest@127.0.0.1:{port}/%2F",
            timeout=1,
            options={"management_url": False},
        )
    )
    stream = provider.logs(provider.root_id)
    first = await asyncio.wait_for(anext(stream), 5)
    assert (first.level, first.text) == (
        "error",
        f"unreachable: 127.0.0.1:{port}: connection refused; retrying",
    )
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(anext(stream), 0.3)
    await stream.aclose()
    await provider.close()


def test_module_imports_without_pika_or_httpx() -> None:
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['pika'] = None; sys.modules['httpx'] = None; "
        "import providers.rabbitmq_provider"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert pika  # the real one is here for the other tests


def test_log_changes_name_alarms_and_connection_jumps() -> None:
    from providers.rabbitmq_watch import Snapshot, changes

    calm = Snapshot(frozenset(), {}, 4)
    alarmed = Snapshot(frozenset({"memory alarm on rabbit@a"}), {}, 40)
    raised = changes(calm, alarmed, 1000)
    assert raised == [
        ("error", None, "alarm raised: memory alarm on rabbit@a"),
        ("warn", None, "connections jumped from 4 to 40"),
    ]
    assert changes(alarmed, Snapshot(frozenset(), {}, 41), 1000) == [
        ("info", None, "alarm cleared: memory alarm on rabbit@a")
    ]
