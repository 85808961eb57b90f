"""A provider that replays a recorded Redis incident, for snapshot tests only.

Snapshots pin layout, so every value on screen must be the same on every run; live timings and
uptimes are not. Behaviour is proven against real servers in test_main_screen.py; this replays
what the Redis provider reported for an instance at maxmemory, with times fixed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any

from providers.base import Finding, Provider, check
from providers.contract import CheckCall, CheckStatus, Health, LogLine, Node, Status

RECORDED_AT = datetime(2026, 11, 22, 9, 30, 0, tzinfo=UTC)


class RecordedProvider(Provider):
    kind = "recorded"

    @property
    def address(self) -> str:
        return "10.0.3.12:6379"

    def root_checks(self) -> tuple[CheckCall, ...]:
        return (CheckCall("redis.ping"), CheckCall("redis.memory"), CheckCall("redis.clients"))

    async def discover(self) -> Node:
        return Node(
            id=self.root_id,
            kind="redis.instance",
            name=f"{self.target.name} ({self.address})",
            status=Status(
                Health.FAILING,
                "out of memory: 2.0 MiB of 2.0 MiB maxmemory (100%), policy noeviction "
                "rejects writes",
                RECORDED_AT,
            ),
            children=(
                Node(
                    id=f"{self.root_id}/db0",
                    kind="redis.database",
                    name="db0",
                    status=Status(Health.OK, "184 keys, 0 with a TTL", RECORDED_AT),
                ),
            ),
            checks=self.root_checks(),
            has_logs=True,
        )

    @check("redis.ping", "Redis answers PING", "recorded")
    async def ping(self, params: Mapping[str, Any]) -> Finding:
        return Finding(
            CheckStatus.PASS,
            "PONG in 0.41 ms",
            {"rtt_ms": 0.41},
            ("PING 10.0.3.12:6379 -> PONG in 0.41 ms",),
        )

    @check("redis.memory", "Redis memory against maxmemory", "recorded")
    async def memory(self, params: Mapping[str, Any]) -> Finding:
        return Finding(
            CheckStatus.FAIL,
            "out of memory: 2.0 MiB of 2.0 MiB maxmemory (100%), policy noeviction rejects writes",
            {"policy": "noeviction", "oom_errors": 37},
            (
                "used_memory:2.01M  maxmemory:2.00M  maxmemory_policy:noeviction",
                "evicted_keys:0  rejected writes (errorstat_OOM):37",
                "mem_fragmentation_ratio:1.35",
            ),
        )

    @check("redis.clients", "Redis clients against maxclients", "recorded")
    async def clients(self, params: Mapping[str, Any]) -> Finding:
        return Finding(
            CheckStatus.PASS,
            "12 of 10000 clients",
            {"connected": 12},
            (
                "    11 connections from 10.0.5.20 (worker)",
                "     1 connections from 10.0.1.4",
            ),
        )

    async def run_check(self, call: CheckCall, **kwargs: Any):  # type: ignore[no-untyped-def]
        result = await super().run_check(call, **kwargs)
        # Durations and start times as recorded, so the screen is the same on every run.
        from dataclasses import replace

        return replace(result, duration=0.004, started_at=RECORDED_AT)

    async def logs(self, node_id: str, *, since: datetime | None = None) -> AsyncIterator[LogLine]:
        yield LogLine(
            RECORDED_AT,
            "cache",
            "info",
            "following the slow log of 10.0.3.12:6379: commands slower than 10 ms "
            "(slowlog-log-slower-than)",
        )
        for second, command in enumerate(
            ["KEYS tenant:*:oauth:token", "HGETALL session:index", "KEYS ratelimit:*"]
        ):
            yield LogLine(
                RECORDED_AT.replace(second=second + 5),
                "cache slowlog",
                "warn",
                f"slow 1{second}4.2 ms  {command}  (10.0.5.20:41822 worker)",
            )
        await asyncio.Event().wait()  # a quiet log: nothing more until the pane changes
