"""A provider that replays a recorded incident, for snapshot tests only.

Snapshots pin layout, so every value on screen must be the same on every run; live timings and
uptimes are not. `record_incident.py` recorded what the real providers reported about real
servers broken on purpose (recordings/incident.json); this replays it for one target.
Behaviour is proven against the real servers in test_main_screen.py. A target may name another
recording (`options: {recording: platforms}` reads recordings/platforms.json, which
`record_platforms.py` made); a recording's `logs` map node ids to the lines their tail showed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from providers.base import Provider
from providers.contract import (
    CheckCall,
    CheckResult,
    CheckStatus,
    Health,
    LogLine,
    Node,
    Status,
)

RECORDED_AT = datetime(2026, 11, 22, 9, 30, 0, tzinfo=UTC)
RECORDINGS = Path(__file__).parent / "recordings"
RECORDING = RECORDINGS / "incident.json"

SLOW_LOG = [
    "following the slow log of cache.prod.internal:6379: commands slower than 10 ms "
    "(slowlog-log-slower-than)",
    "slow 104.2 ms  KEYS tenant:*:oauth:token  (10.0.5.20:41822 worker)",
    "slow 114.2 ms  HGETALL session:index  (10.0.5.20:41822 worker)",
    "slow 124.2 ms  KEYS ratelimit:*  (10.0.5.21:50110 worker)",
]


def replayed_result(result: Mapping[str, Any], target: str, node: str) -> CheckResult:
    """A recorded check result, as the provider returns it (fixed duration and time)."""
    return CheckResult(
        check=result["check"],
        target=target,
        status=CheckStatus(result["status"]),
        summary=result["summary"],
        facts=result["facts"],
        evidence=tuple(result["evidence"]),
        duration=0.004,
        started_at=RECORDED_AT,
        node_id=node,
    )


@cache
def _recording(name: str = "incident") -> dict[str, Any]:
    path = RECORDING if name == "incident" else RECORDINGS / f"{name}.json"
    return dict(json.loads(path.read_text()))


class RecordedProvider(Provider):
    """Replays the recorded target whose name matches this target's."""

    kind = "recorded"

    @property
    def _recording(self) -> dict[str, Any]:
        return _recording(str(self.target.options.get("recording", "incident")))

    @property
    def _recorded(self) -> dict[str, Any]:
        for node in self._recording["nodes"]:
            if node["id"].split(":", 1)[1] == self.target.name:
                return dict(node)
        raise KeyError(f"no recorded target named {self.target.name!r}")

    @property
    def _recorded_kind(self) -> str:
        return str(self._recorded["id"].split(":", 1)[0])

    @property
    def address(self) -> str:
        return str(self._recorded["name"].split("(", 1)[1].rstrip(")"))

    def _node(self, recorded: Mapping[str, Any]) -> Node:
        prefix = f"{self._recorded_kind}:"
        return Node(
            id=f"recorded:{recorded['id'].removeprefix(prefix)}",
            kind=recorded["kind"],
            name=recorded["name"],
            status=Status(Health(recorded["health"]), recorded["reason"], RECORDED_AT),
            children=tuple(self._node(child) for child in recorded["children"]),
            checks=tuple(CheckCall(name, params) for name, params in recorded["checks"]),
            has_logs=recorded["has_logs"],
            detail=recorded["detail"],
        )

    def root_checks(self) -> tuple[CheckCall, ...]:
        return tuple(CheckCall(name, params) for name, params in self._recorded["checks"])

    async def discover(self) -> Node:
        return self._node(self._recorded)

    async def run_check(
        self, call: CheckCall, *, node_id: str = "", timeout: float | None = None
    ) -> CheckResult:
        node = node_id or self.root_id
        recorded_node = node.replace("recorded:", f"{self._recorded_kind}:", 1)
        for result in self._recording["results"]:
            if result["node"] == recorded_node and result["check"] == call.check:
                return replayed_result(result, self.target.name, node)
        raise KeyError(f"nothing recorded for {call.check} on {recorded_node}")

    async def logs(self, node_id: str, *, since: datetime | None = None) -> AsyncIterator[LogLine]:
        if self._recorded_kind == "redis":
            for second, text in enumerate(SLOW_LOG):
                level = "info" if second == 0 else "warn"
                when = RECORDED_AT.replace(second=second * 2)
                yield LogLine(when, f"{self.target.name} slowlog", level, text)
        recorded_node = node_id.replace("recorded:", f"{self._recorded_kind}:", 1)
        for when, source, level, text in self._recording.get("logs", {}).get(recorded_node, []):
            yield LogLine(datetime.fromisoformat(when), source, level, text)
        await asyncio.Event().wait()  # a quiet log: nothing more until the pane changes
