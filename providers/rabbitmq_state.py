"""RabbitMQ state as the checks see it: queue depths, their trend, and node alarms.

Pure data and logic, no I/O: the AMQP and management modules turn their answers into
`QueueState`, and `DepthTrend` remembers depths across calls to tell a growing backlog.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from providers.units import human_bytes

HISTORY = 5  # depth samples kept per queue, across calls, for the `growing` trend


@dataclass(frozen=True, slots=True)
class QueueState:
    vhost: str
    name: str
    messages: int
    ready: int
    unacked: int | None
    consumers: int | None
    source: str  # "management" or "amqp"
    publish_rate: float | None = None
    deliver_rate: float | None = None

    @property
    def key(self) -> str:
        return f"{self.vhost}/{self.name}"

    @property
    def backlog_no_consumers(self) -> bool:
        return self.messages > 0 and self.consumers == 0


def with_consumers(state: QueueState, consumers: int | None) -> QueueState:
    return QueueState(
        state.vhost,
        state.name,
        state.messages,
        state.ready,
        state.unacked,
        consumers,
        state.source,
        state.publish_rate,
        state.deliver_rate,
    )


class DepthTrend:
    """The last `HISTORY` depth samples of each queue, kept across calls."""

    def __init__(self) -> None:
        self._history: dict[str, deque[tuple[float, int]]] = {}

    def remember(self, state: QueueState) -> bool:
        """Record a depth sample; True when the last samples show the backlog growing."""
        history = self._history.setdefault(state.key, deque(maxlen=HISTORY))
        history.append((time.monotonic(), state.messages))
        depths = [depth for _, depth in history]
        if len(depths) < 3:
            return False
        return all(b >= a for a, b in itertools.pairwise(depths)) and (depths[-1] > depths[0])

    def depths(self, key: str) -> list[int]:
        """The depths remembered for queue `key` ("vhost/name"), oldest first."""
        return [depth for _, depth in self._history.get(key, ())]

    def forget(self, key: str) -> None:
        self._history.pop(key, None)


def alarms_of(nodes: Sequence[Mapping[str, Any]]) -> list[str]:
    raised = []
    for node in nodes:
        name = node.get("name", "?")
        if node.get("mem_alarm"):
            used, limit = (
                human_bytes(node.get("mem_used") or 0),
                human_bytes(node.get("mem_limit") or 0),
            )
            raised.append(f"memory alarm on {name} ({used} of {limit}): publishers blocked")
        if node.get("disk_free_alarm"):
            free = human_bytes(node.get("disk_free") or 0)
            limit = human_bytes(node.get("disk_free_limit") or 0)
            raised.append(f"disk alarm on {name} ({free} free, limit {limit}): publishers blocked")
    return raised


def node_line(node: Mapping[str, Any]) -> str:
    def size(key: str) -> str:
        return human_bytes(node.get(key) or 0)

    return (
        f"{node.get('name')}: memory {size('mem_used')} of {size('mem_limit')} "
        f"(alarm {bool(node.get('mem_alarm'))}), disk free {size('disk_free')} "
        f"(limit {size('disk_free_limit')}, alarm {bool(node.get('disk_free_alarm'))})"
    )
