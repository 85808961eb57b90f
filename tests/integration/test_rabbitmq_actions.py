"""The RabbitMQ provider's purge action and log stream against a real, private RabbitMQ node,
and the module's own import and change logic.
"""

from __future__ import annotations

import asyncio
import re

import pika
import pytest

from providers.base import ConfirmationRequired
from providers.inventory import Target
from providers.rabbitmq_provider import RabbitMQProvider
from tests.integration import rabbitmq_helpers
from tests.integration.rabbitmq_helpers import BACKLOG, consumer, opened
from tests.servers.process import free_port
from tests.servers.rabbitmq import RabbitMQServer

pytestmark = pytest.mark.integration

# Fixtures shared with test_rabbitmq_checks (a vhost of its own),
# bound here, where pytest looks for them.
vhost = rabbitmq_helpers.vhost


async def test_purge_previews_the_exact_count_and_needs_the_target_and_queue_typed(
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
        # Destructive: the target's name with the queue; the bare queue name is not enough.
        assert plan.confirmation_word() == "mq/dead-letters"

        for wrong in (None, "yes", "dead-letters", "other/dead-letters"):
            with pytest.raises(ConfirmationRequired, match="type 'mq/dead-letters' to run it"):
                await provider.run_action(plan, confirmation=wrong)
        assert rabbitmq_server.queue_depth("dead-letters", vhost) == BACKLOG

        outcome = await provider.run_action(plan, confirmation="mq/dead-letters")
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
