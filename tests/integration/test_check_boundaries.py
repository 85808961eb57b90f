"""States the servers really show, at the boundaries the checks care about, on private servers:
a RabbitMQ memory alarm (publishers blocked: a failure, which two runbooks' causes rest on), and
a PostgreSQL lock chain longer than two (the session at its head is the one to look at, not the
one in the middle that waits too)."""

from __future__ import annotations

import pytest

from providers.contract import CheckCall, CheckStatus, Health
from tests.integration import postgres_helpers
from tests.integration.postgres_helpers import Session, opened, target_for, wait_for
from tests.integration.rabbitmq_helpers import opened as opened_broker
from tests.servers.postgres import PostgresServer
from tests.servers.rabbitmq import RabbitMQServer
from tests.waiting import until

pytestmark = pytest.mark.integration
# The shared PostgreSQL server's fixture and its password's variable (autouse).
shared = postgres_helpers.shared
_password = postgres_helpers._password


def alarm_raised(broker: RabbitMQServer) -> bool:
    return any(node.get("mem_alarm") for node in broker.api("GET", "/api/nodes").json())


async def test_a_memory_alarm_fails_the_alarms_check_and_the_node(
    rabbitmq_server: RabbitMQServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A high watermark below what the node uses raises the memory alarm at once
    (`rabbitmqctl set_vm_memory_high_watermark`): publishers are blocked."""
    rabbitmq_server.rabbitmqctl("set_vm_memory_high_watermark", "0.0001")
    try:
        await until(lambda: alarm_raised(rabbitmq_server), 30, "the memory alarm raised")
        async with opened_broker(rabbitmq_server, monkeypatch) as provider:
            alarms = await provider.run_check(CheckCall("rabbitmq.alarms"))
            root = await provider.discover()
    finally:
        rabbitmq_server.rabbitmqctl("set_vm_memory_high_watermark", "0.4")
        await until(lambda: not alarm_raised(rabbitmq_server), 30, "the memory alarm cleared")
    assert alarms.status is CheckStatus.FAIL, alarms.summary
    assert alarms.facts["mem_alarm"] is True and alarms.facts["disk_free_alarm"] is False
    assert "memory alarm" in alarms.summary and "publishers blocked" in alarms.summary
    assert root.status.health is Health.FAILING, root.status.reason


async def test_a_lock_chain_of_three_names_its_head(shared: PostgresServer) -> None:
    """head holds row 1; middle holds row 2 and waits for row 1; tail waits for row 2. Two
    sessions are blocked, and the one holding everything up is head alone."""
    shared.execute("drop table if exists chain_probe")
    shared.execute("create table chain_probe (id int primary key, v int)")
    shared.execute("insert into chain_probe values (1, 0), (2, 0)")
    head = Session(shared, "head", autocommit=False)
    head.conn.execute("update chain_probe set v = 1 where id = 1")
    middle = Session(shared, "middle", autocommit=False)
    middle.conn.execute("update chain_probe set v = 1 where id = 2")
    middle.run("update chain_probe set v = 2 where id = 1")
    tail = Session(shared, "tail").run("update chain_probe set v = 3 where id = 2")
    waiting = "select 1 from pg_stat_activity where pid = %s and wait_event_type = 'Lock'"
    try:
        wait_for(shared, waiting, [middle.pid])
        wait_for(shared, waiting, [tail.pid])
        async with opened(target_for(shared)) as provider:
            blocked = await provider.run_check(CheckCall("postgres.blocked"))
    finally:
        head.conn.rollback()
        head.close()
        middle.close()  # its transaction ends with its connection
        tail.close()
    assert blocked.status is CheckStatus.FAIL, blocked.summary
    assert blocked.facts["count"] == 2
    assert blocked.facts["root_blockers"] == [head.pid]
    by_pid = {row["pid"]: row["blocked_by"] for row in blocked.facts["blocked"]}
    assert by_pid == {middle.pid: [head.pid], tail.pid: [middle.pid]}
