"""When the next refresh is due: every `refresh_interval`, backing off while nothing changes.

An environment that answers the same thing sweep after sweep, with nobody at the keyboard,
is refreshed less and less often (twice the interval, four times, up to `idle_backoff` times):
a quiet screen then costs almost no CPU and sends nothing over the wire. The first change seen,
or any key, brings the pace back to `refresh_interval`, with a sweep at once if the data is
already older than that.
"""

from __future__ import annotations

import re
from collections.abc import Hashable

from providers.contract import CheckResult, Health, Node


class RefreshPacer:
    def __init__(self, interval: float, backoff: float, *, now: float) -> None:
        self.interval = interval
        self.backoff = max(1.0, backoff)
        self.quiet_sweeps = 0
        self.last_started = now
        self._last_seen: Hashable | None = None

    @property
    def current_interval(self) -> float:
        return min(self.interval * 2**self.quiet_sweeps, self.interval * self.backoff)

    def started(self, now: float) -> None:
        self.last_started = now

    def swept(self, seen: Hashable) -> None:
        """A sweep finished and saw `seen` (what it would show); count it quiet if unchanged."""
        quiet = seen == self._last_seen
        self.quiet_sweeps = self.quiet_sweeps + 1 if quiet else 0
        self._last_seen = seen

    def activity(self) -> None:
        """Someone is at the keyboard: back to the configured pace."""
        self.quiet_sweeps = 0

    def due(self, now: float) -> bool:
        return now - self.last_started >= self.current_interval

    def stale_after(self) -> float:
        """Data older than this is stale (two refreshes at the current pace)."""
        return 2 * self.current_interval


NUMBERS = re.compile(r"\d[\d.,]*")


def what_a_sweep_shows(nodes: list[Node], results: list[CheckResult]) -> Hashable:
    """What a sweep says, numbers aside: every status and reason, every check's outcome and
    summary. A latency or a memory figure that moves a little is not a change worth a faster
    pace; a status that changes, or a new reason, is."""
    statuses = tuple(
        (node.id, node.status.health, NUMBERS.sub("#", node.status.reason))
        for tree in nodes
        for node in tree.walk()
    )
    outcomes = tuple((r.node_id, r.check, r.status, NUMBERS.sub("#", r.summary)) for r in results)
    return statuses, outcomes


def worth_sweeping(node: Node, depth: int) -> bool:
    """Which children a refresh checks: the targets' direct children (databases, queues,
    containers, namespaces, clusters) and anything deeper that discovery already saw unwell.
    A healthy pod among 2,000 is checked when it is selected, not every refresh."""
    return depth == 1 or node.status.health in {Health.FAILING, Health.DEGRADED}
