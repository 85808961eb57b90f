"""Redis through redis.asyncio: the instance, its keyspace and its health (the slow log is in
redis_slowlog)."""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import shutil
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit, urlunsplit

from providers.addresses import url_port_problem
from providers.base import CommandTarget, Finding, Provider, check
from providers.contract import (
    CheckCall,
    CheckStatus,
    Health,
    Node,
    ParamSpec,
    Status,
)
from providers.inventory import SecretError
from providers.redis_keyspace import RedisKeyspace
from providers.redis_slowlog import RedisSlowLog
from providers.units import human_bytes, rough_ms

if TYPE_CHECKING:
    from redis.asyncio import Redis

DEFAULT_URL = "redis://127.0.0.1:6379/0"
OOM_RECENT_SECONDS = 60.0  # OOM rejections this recent mean writes fail now
PING_TRIES = 3  # round trips, at most, before a PING is called slow


def memory_health(info: Mapping[str, Any], warn_ratio: float = 0.8) -> tuple[Health, str]:
    """Health from INFO memory: at maxmemory with `noeviction`, writes fail."""
    used = int(info.get("used_memory", 0))
    limit = int(info.get("maxmemory", 0))
    policy = str(info.get("maxmemory_policy", "noeviction"))
    if not limit:
        return Health.OK, f"{human_bytes(used)} used, no maxmemory limit"
    ratio = used / limit
    share = f"{human_bytes(used)} of {human_bytes(limit)} maxmemory ({ratio:.0%})"
    if ratio >= 0.95 and policy == "noeviction":
        return Health.FAILING, f"out of memory: {share}, policy noeviction rejects writes"
    if ratio >= 0.95:
        return Health.DEGRADED, f"at maxmemory, evicting keys ({policy}): {share}"
    if ratio >= warn_ratio:
        return Health.DEGRADED, f"memory high: {share}"
    return Health.OK, share


def clients_health(info: Mapping[str, Any], warn_ratio: float = 0.8) -> tuple[Health, str]:
    connected = int(info.get("connected_clients", 0))
    limit = int(info.get("maxclients", 0))
    text = f"{connected} of {limit} clients" if limit else f"{connected} clients"
    if limit and connected >= limit:
        return Health.FAILING, f"client limit reached: {text}"
    if limit and connected >= limit * warn_ratio:
        return Health.DEGRADED, f"clients near the limit: {text}"
    return Health.OK, text


class RedisProvider(RedisKeyspace, RedisSlowLog, Provider):
    """One Redis server (standalone or a replica), reached by URL."""

    kind = "redis"
    command_tools = ("redis-cli",)
    command_variables = ("REDIS_URL",)
    command_shadows = ("REDIS_URL", "REDISCLI_AUTH", "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int | None, Redis] = {}
        # OOM rejections seen, and when their count last grew (monotonic; None: not seen grow).
        self._oom: tuple[int, float | None] | None = None

    @property
    def url(self) -> str:
        return self.target.resolve_url(DEFAULT_URL)

    @property
    def address(self) -> str:
        try:
            parts = urlsplit(self.url)
            port = parts.port
        except SecretError as error:
            return f"{self.target.name} ({error})"
        except ValueError:  # a port urllib refuses: said with the value, never raised from here
            return f"{self.target.name} ({url_port_problem(self.url) or 'invalid URL'})"
        if parts.scheme == "unix":
            return parts.path
        return f"{parts.hostname or '127.0.0.1'}:{port or 6379}"

    def client(self, db: int | None = None) -> Redis:
        """A client on the URL's database, or on database `db`; one pool each."""
        if db not in self._clients:
            from redis.asyncio import from_url

            url = self.url
            if db is not None:  # the URL's own database would win over a `db` argument
                url = urlunsplit(urlsplit(url)._replace(path=f"/{int(db)}"))
            self._clients[db] = from_url(
                url,
                password=self.target.resolve_password(),
                username=self.target.username,
                socket_connect_timeout=self.timeout,
                socket_timeout=self.timeout,
                retry_on_timeout=False,
                health_check_interval=0,
                client_name="triage",  # so the slow log and CLIENT LIST show what is ours
            )
        return self._clients[db]

    async def command_target(self, params: Mapping[str, Any]) -> CommandTarget:
        """REDIS_URL with neither user nor password: redis-cli reads the password from
        REDISCLI_AUTH (so it is on no command line), and would take a URL's lone user name for
        a password. An ACL user name, which redis-cli reads from no variable, is given by a
        `redis-cli` of this run's own that adds `--user` and runs the real one."""
        parts = urlsplit(self.url)
        password = self.target.resolve_password() or (
            unquote(parts.password) if parts.password else None
        )
        user = self.target.username or (unquote(parts.username) if parts.username else "")
        url = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
        variables = {"REDIS_URL": url}
        files: dict[str, str] = {}
        real = shutil.which("redis-cli")
        if user and real:
            files["bin/redis-cli"] = (
                f'#!/bin/sh\nexec {shlex.quote(real)} --user {shlex.quote(user)} "$@"\n'
            )
            variables["PATH"] = "{files}/bin" + os.pathsep + os.environ.get("PATH", "")
        return CommandTarget(
            self.target.name,
            self.kind,
            f"{self.address} as {user}" if user else self.address,
            variables=variables,
            secrets={"REDISCLI_AUTH": password} if password else {},
            files=files,
        )

    async def close(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()

    def describe_error(self, error: BaseException) -> str:
        import redis.exceptions as errors

        if isinstance(error, SecretError):
            return f"{self.target.name}: {error}"
        if isinstance(error, errors.AuthenticationError):
            return f"{self.address}: authentication failed"
        if isinstance(error, errors.TimeoutError):
            return f"{self.address}: no answer within {self.timeout:g}s"
        if isinstance(error, errors.ConnectionError):
            code = re.match(r"Error (-?\d+) ", str(error))
            if code and int(code.group(1)) > 0:
                return f"{self.address}: {os.strerror(int(code.group(1))).lower()}"
            if code:  # negative codes come from getaddrinfo
                return f"{self.address}: host name not resolved"
            if "closed by server" in str(error):
                return f"{self.address}: connection closed by the server"
            return super().describe_error(error)
        return super().describe_error(error)

    def root_checks(self) -> tuple[CheckCall, ...]:
        return (
            CheckCall("redis.ping"),
            CheckCall("redis.memory"),
            CheckCall("redis.clients"),
            CheckCall("redis.persistence"),
            CheckCall("redis.replication"),
        )

    async def discover(self) -> Node:
        root_name = f"{self.target.name} ({self.address})"
        try:
            async with asyncio.timeout(self.timeout):
                info = await self.client().info("all")
        except TimeoutError:
            status = Status(Health.FAILING, f"{self.address}: no answer within {self.timeout:g}s")
            return self._root(root_name, status, ())
        except Exception as error:  # the tree shows why, instead of failing discovery
            return self._root(root_name, Status(Health.FAILING, self.describe_error(error)), ())
        return self._root(root_name, self._status(info), self._databases(info))

    def _root(self, name: str, status: Status, children: tuple[Node, ...]) -> Node:
        return Node(
            id=self.root_id,
            kind="redis.instance",
            name=name,
            status=status,
            children=children,
            checks=self.root_checks(),
            has_logs=True,
        )

    def _status(self, info: Mapping[str, Any]) -> Status:
        worst = Health.OK
        reasons: list[str] = []
        for health, reason in (memory_health(info), clients_health(info)):
            if health is not Health.OK:
                reasons.append(reason)
                if health is Health.FAILING or worst is Health.OK:
                    worst = health
        if reasons:
            return Status(worst, "; ".join(reasons))
        role = info.get("role", "master")
        used = human_bytes(int(info.get("used_memory", 0)))
        clients = int(info.get("connected_clients", 0))
        return Status(Health.OK, f"{role}, {clients} clients, {used} used")

    def _databases(self, info: Mapping[str, Any]) -> tuple[Node, ...]:
        databases = []
        for key, value in sorted(info.items(), key=lambda item: _db_index(item[0])):
            if not (key.startswith("db") and key[2:].isdigit() and isinstance(value, dict)):
                continue
            keys, expiring = int(value.get("keys", 0)), int(value.get("expires", 0))
            databases.append(
                Node(
                    id=f"{self.root_id}/{key}",
                    kind="redis.database",
                    name=key,
                    status=Status(Health.OK, f"{keys:,} keys, {expiring:,} with a TTL"),
                    checks=(CheckCall("redis.keys", {"db": int(key[2:])}),),
                    detail=f"{keys:,} keys",
                    params=(("db", key[2:]),),
                )
            )
        return tuple(databases)

    @check(
        "redis.ping",
        "Redis answers PING",
        "Connects and sends PING; reports the round-trip time (redis-cli ping).",
        applies_to=("redis.instance",),
        params={"warn_ms": ParamSpec("Round-trip time above which to warn", float, 100.0)},
    )
    async def ping(self, params: Mapping[str, Any]) -> Finding:
        client = self.client()
        await client.ping()  # connect outside the timed round trip
        loop = asyncio.get_running_loop()
        warn_ms = float(params["warn_ms"])
        # A round trip also measures this process (its event loop may be busy drawing): slow
        # means the best of PING_TRIES was slow, as redis-cli --latency reports its minimum.
        trips: list[float] = []
        while len(trips) < PING_TRIES and (not trips or min(trips) > warn_ms):
            started = loop.time()
            await client.ping()  # raises unless the answer is PONG
            trips.append((loop.time() - started) * 1000)
        rtt_ms = min(trips)
        facts = {"rtt_ms": round(rtt_ms, 3), "address": self.address}
        best = f" (best of {len(trips)})" if len(trips) > 1 else ""
        evidence = (f"PING {self.address} -> PONG in {rtt_ms:.2f} ms{best}",)
        if rtt_ms > warn_ms:
            return Finding(
                CheckStatus.WARN,
                f"slow: PONG in {rtt_ms:.0f} ms (over {warn_ms:g} ms)",
                facts,
                evidence,
            )
        return Finding(CheckStatus.PASS, f"PONG in {rough_ms(rtt_ms)}", facts, evidence)

    @check(
        "redis.memory",
        "Redis memory against maxmemory",
        "Used memory against maxmemory, the eviction policy, evicted keys and OOM errors.",
        applies_to=("redis.instance",),
        params={"warn_ratio": ParamSpec("Share of maxmemory above which to warn", float, 0.8)},
    )
    async def memory(self, params: Mapping[str, Any]) -> Finding:
        client = self.client()
        info = await client.info("memory")
        stats = await client.info("stats")
        errorstats = await client.info("errorstats")
        oom_errors = int(errorstats.get("errorstat_OOM", {}).get("count", 0))
        used, limit = int(info["used_memory"]), int(info.get("maxmemory", 0))
        facts = {
            "used_bytes": used,
            "maxmemory_bytes": limit,
            "used_ratio": round(used / limit, 4) if limit else None,
            "policy": str(info.get("maxmemory_policy", "")),
            "evicted_keys": int(stats.get("evicted_keys", 0)),
            "oom_errors": oom_errors,
            "fragmentation_ratio": info.get("mem_fragmentation_ratio"),
        }
        evidence = (
            f"used_memory:{info.get('used_memory_human')}  maxmemory:{info.get('maxmemory_human')}"
            f"  maxmemory_policy:{facts['policy']}",
            f"evicted_keys:{facts['evicted_keys']}  rejected writes (errorstat_OOM):{oom_errors}",
            f"mem_fragmentation_ratio:{facts['fragmentation_ratio']}",
        )
        health, summary = memory_health(info, float(params["warn_ratio"]))
        status = {
            Health.OK: CheckStatus.PASS,
            Health.DEGRADED: CheckStatus.WARN,
            Health.FAILING: CheckStatus.FAIL,
        }[health]
        rejecting = self._rejecting_writes(oom_errors)
        if status is not CheckStatus.FAIL and rejecting and facts["policy"] == "noeviction":
            # Writes bigger than what is left fail below the limit (a refused write's own
            # buffers are gone by the time INFO is read): writes fail now, whatever the share.
            status = CheckStatus.FAIL
            summary = f"out of memory for writes: OOM rejections in the last minute; {summary}"
        elif status is not CheckStatus.FAIL and oom_errors:
            status = CheckStatus.WARN
            summary = f"{summary}; {oom_errors:,} writes were rejected with OOM since start"
        return Finding(status, summary, facts, evidence)

    def _rejecting_writes(self, oom_errors: int) -> bool:
        """Did the OOM count grow within OOM_RECENT_SECONDS? (Concurrent runs agree.)"""
        now = time.monotonic()
        if self._oom is None:  # first look: when the rejections happened is unknown
            self._oom = (oom_errors, None)
        elif oom_errors > self._oom[0]:
            self._oom = (oom_errors, now)
        elif oom_errors < self._oom[0]:  # the server restarted: its counters too
            self._oom = (oom_errors, None)
        grew = self._oom[1]
        return grew is not None and now - grew < OOM_RECENT_SECONDS

    @check(
        "redis.clients",
        "Redis clients against maxclients",
        "Connected clients against maxclients, blocked clients, rejected connections, and where "
        "the connections come from.",
        applies_to=("redis.instance",),
        params={"warn_ratio": ParamSpec("Share of maxclients above which to warn", float, 0.8)},
    )
    async def clients(self, params: Mapping[str, Any]) -> Finding:
        client = self.client()
        info = await client.info("clients")
        stats = await client.info("stats")
        connections = await client.client_list()
        by_source: dict[str, int] = {}
        for connection in connections:
            host = str(connection.get("addr", "?")).rsplit(":", 1)[0]
            name = connection.get("name") or ""
            source = f"{host} ({name})" if name else host
            by_source[source] = by_source.get(source, 0) + 1
        top = sorted(by_source.items(), key=lambda item: (-item[1], item[0]))[:5]
        facts = {
            "connected": int(info.get("connected_clients", 0)),
            "maxclients": int(info.get("maxclients", 0)),
            "blocked": int(info.get("blocked_clients", 0)),
            "rejected_connections": int(stats.get("rejected_connections", 0)),
            "top_sources": dict(top),
        }
        health, summary = clients_health(info, float(params["warn_ratio"]))
        status = {
            Health.OK: CheckStatus.PASS,
            Health.DEGRADED: CheckStatus.WARN,
            Health.FAILING: CheckStatus.FAIL,
        }[health]
        if facts["blocked"]:
            summary = f"{summary}, {facts['blocked']} blocked"
        if facts["rejected_connections"]:
            summary = f"{summary}, {facts['rejected_connections']:,} connections rejected"
        evidence = tuple(f"{count:>6} connections from {source}" for source, count in top)
        return Finding(status, summary, facts, evidence)


def _db_index(key: str) -> int:
    return int(key[2:]) if key.startswith("db") and key[2:].isdigit() else -1
