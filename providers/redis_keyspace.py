"""Redis checks and actions beyond the basics: keys and TTLs, persistence, replication, latency.

The guides inspect a token cache (`tenant:*:oauth:token`) and rate-limit keys with KEYS and TTL,
and clear them with DEL or FLUSHDB. Here keys are counted with SCAN (KEYS blocks the server),
and every deletion is an action whose preview counts what would go.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from providers.base import ActionPlan, Finding, action, check
from providers.contract import ActionOutcome, ActionPreview, CheckStatus, ParamSpec

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from providers.inventory import Target

SAMPLE_SIZE = 10
SCAN_BATCH = 1_000
DELETE_BATCH = 500


class RedisKeyspace:
    """Mixed into RedisProvider; relies on its `client(db)`, `address` and `target`."""

    @property
    def address(self) -> str:
        raise NotImplementedError

    def client(self, db: int | None = None) -> Redis:
        raise NotImplementedError

    target: Target

    def _every_key_word(self, db: int, count: int) -> str:
        """What to type to delete every key of a database: the server, the database, the count."""
        return f"{self.target.name}/db{db}/{count}-keys"

    async def _scan(self, client: Redis, pattern: str, limit: int) -> tuple[list[str], bool]:
        """Keys matching `pattern`, at most `limit`; True when the limit cut the scan short."""
        keys: list[str] = []
        async for key in client.scan_iter(match=pattern, count=SCAN_BATCH):
            keys.append(key.decode("utf-8", "replace") if isinstance(key, bytes) else str(key))
            if len(keys) >= limit:
                return keys, True
        return keys, False

    async def _ttls(self, client: Redis, keys: list[str]) -> list[int]:
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.ttl(key)
        return [int(ttl) for ttl in await pipe.execute()]

    @check(
        "redis.keys",
        "Keys matching a pattern, and their TTLs",
        "Counts keys matching a pattern with SCAN (never KEYS), how many have no TTL, and a "
        "sample with TTLs: a token cache, rate-limit keys, sessions.",
        applies_to=("redis.instance", "redis.database"),
        params={
            "pattern": ParamSpec("Glob pattern, as for SCAN MATCH", str, "*"),
            "db": ParamSpec("Database number; default: the one in the URL", int, None),
            "expect_ttl": ParamSpec("Warn when a matching key has no TTL", bool, False),
            "limit": ParamSpec("Stop counting after this many keys", int, 100_000),
        },
    )
    async def keys(self, params: Mapping[str, Any]) -> Finding:
        client = self.client(params["db"])
        pattern = str(params["pattern"])
        keys, truncated = await self._scan(client, pattern, int(params["limit"]))
        ttls = await self._ttls(client, keys)
        without_ttl = [key for key, ttl in zip(keys, ttls, strict=True) if ttl == -1]
        expiring = [ttl for ttl in ttls if ttl >= 0]
        count = f"{len(keys):,}{'+' if truncated else ''}"
        sample = dict(list(zip(keys, ttls, strict=True))[:SAMPLE_SIZE])
        facts = {
            "pattern": pattern,
            "matched": len(keys),
            "truncated": truncated,
            "without_ttl": len(without_ttl),
            "min_ttl": min(expiring) if expiring else None,
            "max_ttl": max(expiring) if expiring else None,
            "sample": sample,
        }
        evidence = tuple(
            f"{key}  ttl {'none' if ttl == -1 else f'{ttl}s'}" for key, ttl in sample.items()
        )
        if not keys:
            return Finding(CheckStatus.PASS, f"no keys match {pattern}", facts, evidence)
        summary = f"{count} keys match {pattern}, {len(without_ttl):,} without a TTL"
        if params["expect_ttl"] and without_ttl:
            return Finding(CheckStatus.WARN, summary, facts, evidence)
        return Finding(CheckStatus.PASS, summary, facts, evidence)

    @check(
        "redis.persistence",
        "Redis persistence: last save and background save status",
        "RDB and AOF state; a failed background save makes Redis refuse writes when "
        "stop-writes-on-bgsave-error is on.",
        applies_to=("redis.instance",),
    )
    async def persistence(self, params: Mapping[str, Any]) -> Finding:
        info = await self.client().info("persistence")
        facts = {
            "rdb_last_bgsave_status": info.get("rdb_last_bgsave_status"),
            "rdb_last_save_age_seconds": int(time.time()) - int(info.get("rdb_last_save_time", 0)),
            "rdb_changes_since_last_save": int(info.get("rdb_changes_since_last_save", 0)),
            "aof_enabled": bool(int(info.get("aof_enabled", 0))),
            "aof_last_write_status": info.get("aof_last_write_status"),
        }
        evidence = tuple(
            f"{key}:{info.get(key)}"
            for key in (
                "rdb_last_bgsave_status",
                "rdb_last_save_time",
                "rdb_changes_since_last_save",
                "aof_enabled",
                "aof_last_write_status",
            )
        )
        failed = [
            name
            for name in ("rdb_last_bgsave_status", "aof_last_write_status")
            if facts[name] not in (None, "ok")
        ]
        if failed:
            return Finding(
                CheckStatus.FAIL,
                f"persistence failing: {', '.join(f'{n}={facts[n]}' for n in failed)}",
                facts,
                evidence,
            )
        mode = "AOF and RDB" if facts["aof_enabled"] else "RDB"
        return Finding(
            CheckStatus.PASS,
            f"{mode} ok; {facts['rdb_changes_since_last_save']:,} changes since the last save",
            facts,
            evidence,
        )

    @check(
        "redis.replication",
        "Redis replication role and link",
        "The role; on a primary its replicas and their offsets, on a replica the link to its "
        "primary.",
        applies_to=("redis.instance",),
    )
    async def replication(self, params: Mapping[str, Any]) -> Finding:
        info = await self.client().info("replication")
        role = str(info.get("role", "master"))
        facts: dict[str, Any] = {"role": role}
        if role == "slave":
            link = str(info.get("master_link_status", "down"))
            facts.update(
                primary=f"{info.get('master_host')}:{info.get('master_port')}",
                link=link,
                last_io_seconds=int(info.get("master_last_io_seconds_ago", -1)),
            )
            evidence = (f"master_link_status:{link}", f"master_host:{facts['primary']}")
            if link != "up":
                return Finding(
                    CheckStatus.FAIL, f"replica of {facts['primary']}, link {link}", facts, evidence
                )
            return Finding(
                CheckStatus.PASS, f"replica of {facts['primary']}, link up", facts, evidence
            )
        replicas = int(info.get("connected_slaves", 0))
        offset = int(info.get("master_repl_offset", 0))
        lags = {}
        for index in range(replicas):
            entry = info.get(f"slave{index}", {})
            if isinstance(entry, dict):
                replica = f"{entry.get('ip')}:{entry.get('port')}"
                lags[replica] = offset - int(entry.get("offset", 0))
        facts.update(replicas=replicas, lag_bytes=lags)
        lines = [f"role:master connected_slaves:{replicas}"]
        lines.extend(f"{replica} behind by {lag:,} bytes" for replica, lag in lags.items())
        return Finding(CheckStatus.PASS, f"primary with {replicas} replicas", facts, tuple(lines))

    @check(
        "redis.latency",
        "Redis latency",
        "Round trips measured now (median and worst of several PINGs) and the server's own "
        "latency monitor events.",
        applies_to=("redis.instance",),
        params={
            "samples": ParamSpec("How many PINGs", int, 20),
            "warn_ms": ParamSpec("Worst round trip above which to warn", float, 50.0),
        },
    )
    async def latency(self, params: Mapping[str, Any]) -> Finding:
        client = self.client()
        await client.ping()
        loop = asyncio.get_running_loop()
        rtts = []
        for _ in range(int(params["samples"])):
            started = loop.time()
            await client.ping()
            rtts.append((loop.time() - started) * 1000)
        events = await client.execute_command("LATENCY", "LATEST")
        latest = {
            (event[0].decode() if isinstance(event[0], bytes) else str(event[0])): int(event[2])
            for event in events or []
        }
        median_ms, max_ms = round(statistics.median(rtts), 3), round(max(rtts), 3)
        facts = {"median_ms": median_ms, "max_ms": max_ms, "events_ms": latest}
        evidence = (
            f"{len(rtts)} PINGs: median {median_ms} ms, worst {max_ms} ms",
            *(f"latency event {name}: latest {ms} ms" for name, ms in latest.items()),
        )
        summary = f"median {median_ms:.2f} ms, worst {max_ms:.2f} ms"
        if max_ms > float(params["warn_ms"]):
            return Finding(CheckStatus.WARN, f"slow: {summary}", facts, evidence)
        return Finding(CheckStatus.PASS, summary, facts, evidence)

    @action(
        "redis.delete_keys",
        "Delete keys matching a pattern",
        destructive=True,
        params={
            "pattern": ParamSpec("Glob pattern of the keys to delete", str, required=True),
            "db": ParamSpec("Database number; default: the one in the URL", int, None),
        },
    )
    async def delete_keys(self, params: Mapping[str, Any]) -> ActionPlan:
        client = self.client(params["db"])
        pattern = str(params["pattern"])
        keys, _ = await self._scan(client, pattern, limit=10_000_000)
        db = int(client.connection_pool.connection_kwargs.get("db", 0))
        total = int(await client.dbsize())
        everything = len(keys) >= total
        what = f"all {len(keys):,} keys of db{db}" if everything else f"{len(keys):,} keys"
        preview = ActionPreview(
            action="redis.delete_keys",
            target=pattern,
            summary=f"delete {what} matching {pattern} on {self.address} ({total:,} in db{db})",
            destructive=True,
            touches=tuple(keys[:SAMPLE_SIZE]),
            counts={"keys": len(keys), "db_keys": total},
            # A pattern that takes every key is a FLUSHDB: the word says so, with the count.
            confirm=self._every_key_word(db, len(keys)) if everything else "",
        )

        async def apply() -> ActionOutcome:
            deleted = 0
            for start in range(0, len(keys), DELETE_BATCH):
                deleted += int(await client.unlink(*keys[start : start + DELETE_BATCH]))
            return ActionOutcome(
                "redis.delete_keys", pattern, True, f"deleted {deleted:,} keys matching {pattern}"
            )

        return ActionPlan(preview, apply)

    @action(
        "redis.flushdb",
        "Delete every key of one database (FLUSHDB)",
        destructive=True,
        params={"db": ParamSpec("Database number; default: the one in the URL", int, None)},
    )
    async def flushdb(self, params: Mapping[str, Any]) -> ActionPlan:
        client = self.client(params["db"])
        db = int(client.connection_pool.connection_kwargs.get("db", 0))
        count = int(await client.dbsize())
        name = f"db{db}"
        preview = ActionPreview(
            action="redis.flushdb",
            target=name,
            summary=f"delete all {count:,} keys of {name} on {self.address} (FLUSHDB)",
            destructive=True,
            touches=(name,),
            counts={"keys": count},
            confirm=self._every_key_word(db, count),
        )

        async def apply() -> ActionOutcome:
            await client.flushdb()
            return ActionOutcome("redis.flushdb", name, True, f"flushed {name} ({count:,} keys)")

        return ActionPlan(preview, apply)

    @action(
        "redis.kill_client",
        "Disconnect a client by address",
        destructive=False,
        params={"addr": ParamSpec("The client's ip:port, as in CLIENT LIST", str, required=True)},
    )
    async def kill_client(self, params: Mapping[str, Any]) -> ActionPlan:
        client = self.client()
        addr = str(params["addr"])
        connected = [c for c in await client.client_list() if c.get("addr") == addr]
        detail = (
            f"name={connected[0].get('name') or '-'} cmd={connected[0].get('cmd')}"
            if connected
            else "not connected now"
        )
        preview = ActionPreview(
            action="redis.kill_client",
            target=addr,
            summary=f"disconnect client {addr} from {self.address} ({detail})",
            destructive=False,
            touches=(addr,),
            counts={"clients": len(connected)},
        )

        async def apply() -> ActionOutcome:
            await client.client_kill(addr)
            return ActionOutcome("redis.kill_client", addr, True, f"disconnected {addr}")

        return ActionPlan(preview, apply)
