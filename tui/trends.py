"""Values worth watching over time, taken from check facts at every sweep.

A sparkline shows "growing" and "flat" at a glance where a number does not: a queue's depth,
connections in use, memory against its limit, restarts, running tasks, CPU.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from providers.contract import CheckResult
from runbooks.evidence import fact_value

SAMPLES = 60


@dataclass(frozen=True, slots=True)
class TrendFact:
    check: str
    fact: str
    label: str
    unit: str = ""  # "%" shows a ratio as a percentage


TREND_FACTS = (
    TrendFact("redis.memory", "used_ratio", "memory vs maxmemory", "%"),
    TrendFact("redis.clients", "connected", "clients"),
    TrendFact("postgres.connections", "in_use", "connections"),
    TrendFact("postgres.blocked", "count", "blocked sessions"),
    TrendFact("rabbitmq.queue", "messages", "queue depth"),
    TrendFact("rabbitmq.queues", "total_messages", "messages queued"),
    TrendFact("compose.restart_loop", "restart_count", "restarts"),
    TrendFact("k8s.restarts", "total_restarts", "restarts"),
    TrendFact("ecs.service_counts", "running", "running tasks"),
    TrendFact("http.status", "latency_ms", "latency ms"),
)


class TrendHistory:
    """The last SAMPLES values of each trend fact, per node."""

    def __init__(self) -> None:
        self._series: dict[tuple[str, str], deque[float]] = {}

    def add(self, results: Iterable[CheckResult]) -> None:
        for result in results:
            for trend in TREND_FACTS:
                if trend.check != result.check:
                    continue
                value = fact_value(result.facts, trend.fact)
                if isinstance(value, int | float) and not isinstance(value, bool):
                    key = (result.node_id, trend.label)
                    series = self._series.setdefault(key, deque(maxlen=SAMPLES))
                    series.append(float(value) * (100 if trend.unit == "%" else 1))

    def of(self, node_id: str) -> list[tuple[TrendFact, list[float]]]:
        found, labels = [], set()
        for trend in TREND_FACTS:
            series = self._series.get((node_id, trend.label))
            if series and trend.label not in labels:  # "restarts" is one series, not two rows
                labels.add(trend.label)
                found.append((trend, list(series)))
        return found
