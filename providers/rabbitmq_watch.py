"""RabbitMQ log-stream change detection: what changed between two polled snapshots.

Pure: the provider polls, builds a `Snapshot` each time, and turns `changes` into log lines.
"""

from __future__ import annotations

from dataclasses import dataclass

from providers.rabbitmq_state import QueueState


@dataclass(frozen=True, slots=True)
class Snapshot:
    alarms: frozenset[str]
    queues: dict[str, QueueState]
    connections: int | None


def changes(
    before: Snapshot | None, now: Snapshot, threshold: int
) -> list[tuple[str, str | None, str]]:
    """(level, queue key or None, text) for what changed between two snapshots."""
    lines: list[tuple[str, str | None, str]] = []
    if before is None:
        lines.append(
            (
                "info",
                None,
                f"watching {len(now.queues)} queues"
                + ("" if now.connections is None else f", {now.connections} connections"),
            )
        )
        before = Snapshot(frozenset(), {}, now.connections)
    for alarm in sorted(now.alarms - before.alarms):
        lines.append(("error", None, f"alarm raised: {alarm}"))
    for alarm in sorted(before.alarms - now.alarms):
        lines.append(("info", None, f"alarm cleared: {alarm}"))
    for key, queue in sorted(now.queues.items()):
        old = before.queues.get(key)
        was_over = old is not None and old.messages > threshold
        if queue.messages > threshold and not was_over:
            lines.append(
                ("warn", key, f"{key}: backlog {queue.messages:,} messages over {threshold:,}")
            )
        elif was_over and queue.messages <= threshold:
            lines.append(("info", key, f"{key}: backlog back under {threshold:,}"))
        if queue.consumers == 0 and queue.messages > 0:
            had = old.consumers if old is not None else None
            if old is None or (had or 0) > 0:
                lost = f"lost its {had} consumer(s)" if had else "has no consumers"
                lines.append(("warn", key, f"{key}: {lost}, {queue.messages:,} messages waiting"))
        elif old is not None and old.consumers == 0 and (queue.consumers or 0) > 0:
            lines.append(("info", key, f"{key}: {queue.consumers} consumer(s) attached"))
    if before.connections is not None and now.connections is not None:
        delta = now.connections - before.connections
        if abs(delta) >= max(10, before.connections // 2):
            lines.append(
                (
                    "warn",
                    None,
                    f"connections jumped from {before.connections} to {now.connections}",
                )
            )
    return lines
