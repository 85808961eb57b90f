"""RabbitMQ state as the checks read it: queues, a growing backlog, and node alarms.

The node rows are shaped as the management API's GET /api/nodes returns them (sizes in bytes;
mem_limit is the high watermark, 0.4 of an 8 GiB host here; disk_free_limit the 50 MB
default), the queue figures as GET /api/queues reports messages, messages_ready,
messages_unacknowledged and consumers.
"""

from __future__ import annotations

import pytest

from providers.rabbitmq_state import (
    HISTORY,
    DepthTrend,
    QueueState,
    alarms_of,
    node_line,
    with_consumers,
)

GIB = 1024**3


def node(**fields: object) -> dict[str, object]:
    """A running node of /api/nodes with no alarm; `fields` override."""
    row: dict[str, object] = {
        "name": "rabbit@mq-0",
        "type": "disc",
        "running": True,
        "mem_used": 1288490189,  # 1.2 GiB
        "mem_limit": 3435973836,  # 3.2 GiB
        "mem_alarm": False,
        "disk_free": 107374182400,  # 100 GiB
        "disk_free_limit": 50000000,  # 47.7 MiB
        "disk_free_alarm": False,
        "fd_used": 52,
        "sockets_used": 7,
        "proc_used": 434,
    }
    row.update(fields)
    return row


def queue(messages: int, consumers: int | None = 1, vhost: str = "/") -> QueueState:
    return QueueState(
        vhost=vhost,
        name="orders",
        messages=messages,
        ready=messages,
        unacked=0,
        consumers=consumers,
        source="management",
    )


class TestQueueState:
    def test_the_key_names_the_vhost_and_the_queue(self) -> None:
        assert queue(0).key == "//orders"  # the default vhost is "/"
        assert queue(0, vhost="shop").key == "shop/orders"

    @pytest.mark.parametrize(
        ("messages", "consumers", "stuck"),
        [
            (1200, 0, True),  # nobody reads a queue that holds messages
            (1200, 2, False),  # a backlog being worked through
            (0, 0, False),  # an idle queue with no consumer is not a problem
            (1200, None, False),  # AMQP alone does not say how many consumers there are
        ],
    )
    def test_backlog_without_consumers(
        self, messages: int, consumers: int | None, stuck: bool
    ) -> None:
        assert queue(messages, consumers).backlog_no_consumers is stuck

    def test_a_consumer_count_learnt_later_keeps_every_other_figure(self) -> None:
        # AMQP's queue.declare-ok carries the consumer count the management listing lacked
        seen = QueueState("shop", "orders", 1500, 1200, 300, None, "management", 12.5, 0.0)
        assert with_consumers(seen, 0) == QueueState(
            "shop", "orders", 1500, 1200, 300, 0, "management", 12.5, 0.0
        )


class TestDepthTrend:
    def depths_after(self, *depths: int) -> tuple[list[bool], DepthTrend]:
        trend = DepthTrend()
        return [trend.remember(queue(depth)) for depth in depths], trend

    def test_a_backlog_that_keeps_rising_is_growing_from_the_third_sample(self) -> None:
        growing, _ = self.depths_after(100, 250, 400, 900)
        assert growing == [False, False, True, True]

    def test_a_plateau_on_the_way_up_still_counts_as_growing(self) -> None:
        growing, _ = self.depths_after(100, 100, 180)
        assert growing == [False, False, True]
        growing, _ = self.depths_after(100, 180, 180)  # risen, and not coming down
        assert growing == [False, False, True]

    def test_a_depth_that_holds_steady_is_not_growing(self) -> None:
        growing, _ = self.depths_after(500, 500, 500, 500)
        assert growing == [False, False, False, False]

    def test_a_dip_between_samples_is_not_growing_even_when_it_ends_higher(self) -> None:
        growing, _ = self.depths_after(300, 500, 400)
        assert growing == [False, False, False]

    def test_a_draining_queue_is_not_growing(self) -> None:
        growing, _ = self.depths_after(900, 400, 100)
        assert growing == [False, False, False]

    def test_only_the_last_samples_are_kept(self) -> None:
        # an old dip is forgotten once HISTORY newer samples have come in
        growing, trend = self.depths_after(800, 10, 20, 30, 40, 50, 60)
        assert HISTORY == 5
        assert trend.depths("//orders") == [20, 30, 40, 50, 60]
        assert growing[-1] is True

    def test_queues_are_remembered_apart(self) -> None:
        trend = DepthTrend()
        for depth in (10, 20, 30):
            trend.remember(queue(depth))
            trend.remember(queue(1000 - depth, vhost="shop"))
        assert trend.depths("//orders") == [10, 20, 30]
        assert trend.depths("shop/orders") == [990, 980, 970]

    def test_a_queue_never_seen_has_no_depths(self) -> None:
        assert DepthTrend().depths("//orders") == []

    def test_a_forgotten_queue_starts_its_trend_again(self) -> None:
        _, trend = self.depths_after(10, 20, 30)
        trend.forget("//orders")
        assert trend.depths("//orders") == []
        assert trend.remember(queue(40)) is False  # one sample tells no trend
        trend.forget("shop/never-seen")  # a queue deleted before it was sampled
        assert trend.depths("//orders") == [40]


class TestAlarms:
    def test_a_cluster_without_alarms_raises_none(self) -> None:
        assert alarms_of([node(), node(name="rabbit@mq-1")]) == []

    def test_the_memory_alarm_names_the_node_and_its_use_against_the_watermark(self) -> None:
        nodes = [node(), node(name="rabbit@mq-1", mem_used=3543348019, mem_alarm=True)]
        assert alarms_of(nodes) == [
            "memory alarm on rabbit@mq-1 (3.3 GiB of 3.2 GiB): publishers blocked"
        ]

    def test_the_disk_alarm_names_the_free_space_and_the_limit(self) -> None:
        nodes = [node(disk_free=41943040, disk_free_alarm=True)]
        assert alarms_of(nodes) == [
            "disk alarm on rabbit@mq-0 (40.0 MiB free, limit 47.7 MiB): publishers blocked"
        ]

    def test_both_alarms_on_one_node_are_both_raised_memory_first(self) -> None:
        nodes = [node(mem_used=3543348019, mem_alarm=True, disk_free=0, disk_free_alarm=True)]
        assert alarms_of(nodes) == [
            "memory alarm on rabbit@mq-0 (3.3 GiB of 3.2 GiB): publishers blocked",
            "disk alarm on rabbit@mq-0 (0 B free, limit 47.7 MiB): publishers blocked",
        ]

    def test_a_stopped_cluster_member_raises_no_alarm(self) -> None:
        # a member that is down is listed with running false and none of its figures
        assert alarms_of([{"name": "rabbit@mq-2", "type": "disc", "running": False}]) == []


class TestNodeLine:
    def test_a_healthy_node(self) -> None:
        assert node_line(node()) == (
            "rabbit@mq-0: memory 1.2 GiB of 3.2 GiB (alarm False), "
            "disk free 100.0 GiB (limit 47.7 MiB, alarm False)"
        )

    def test_a_node_in_alarm(self) -> None:
        row = node(mem_used=3543348019, mem_alarm=True, disk_free=41943040, disk_free_alarm=True)
        assert node_line(row) == (
            "rabbit@mq-0: memory 3.3 GiB of 3.2 GiB (alarm True), "
            "disk free 40.0 MiB (limit 47.7 MiB, alarm True)"
        )

    def test_a_stopped_member_reads_as_zeros_without_alarms(self) -> None:
        assert node_line({"name": "rabbit@mq-2", "running": False}) == (
            "rabbit@mq-2: memory 0 B of 0 B (alarm False), disk free 0 B (limit 0 B, alarm False)"
        )
