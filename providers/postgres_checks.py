"""PostgreSQL checks of connections and the work on them, mixed into PostgresProvider.

Readiness, connections against max_connections, long queries and lock waits (pg_stat_activity),
and the top statements (pg_stat_statements). `connection_health` also rates the tree's root,
and `blocked_sessions` also feeds the log stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

from providers import postgres_queries as q
from providers.base import Finding, check
from providers.contract import CheckStatus, Health, ParamSpec
from providers.postgres_queries import fetch, query_text
from providers.units import human_duration

if TYPE_CHECKING:
    from psycopg import AsyncConnection

WARN_RATIO, FAIL_RATIO = 0.8, 0.95
READY_SHARE = 0.9  # postgres.ready gives up a little before run_check would, to say why

DATABASE_PARAM = ParamSpec("Database to look in (default: the target's)", str, None)


def connection_health(in_use: int, usable: int, warn: float = WARN_RATIO) -> tuple[Health, str]:
    """Health from client connections against the slots a non-superuser may take."""
    ratio = in_use / usable if usable else 1.0
    text = f"{in_use} of {usable} connections ({ratio:.0%})"
    if in_use >= usable or ratio >= FAIL_RATIO:
        return Health.FAILING, f"connection limit reached: {text}"
    if ratio >= warn:
        return Health.DEGRADED, f"connections near the limit: {text}"
    return Health.OK, text


_CHECK_STATUS = {Health.OK: CheckStatus.PASS, Health.DEGRADED: CheckStatus.WARN}


async def blocked_sessions(
    conn: AsyncConnection[Any], database: str | None
) -> tuple[list[dict[str, Any]], list[str]]:
    """Blocked sessions, each with the pids blocking it, and one chain line per wait."""
    blocked = await fetch(conn, q.BLOCKED, {"database": database})
    pids = sorted({pid for row in blocked for pid in row["blocked_by"]})
    blockers = {row["pid"]: row for row in await fetch(conn, q.SESSIONS, {"pids": pids})}
    lines = []
    for row in blocked:
        for pid in row["blocked_by"]:
            other = blockers.get(pid)
            what = "gone"
            if other is not None:
                what = f"{other['state']} {human_duration(other['state_seconds'] or 0)}"
                if other["state"] == "active":
                    what = f"{what}: {query_text(other, 60)}"
            lines.append(f"pid {row['pid']} ({query_text(row, 60)}) waits for pid {pid} ({what})")
    return blocked, lines


class PostgresChecks:
    """Mixed into PostgresProvider; relies on its `timeout`, `address`, `describe_error`,
    `_connect`, `_session` and its one turn (`_turn`, `_reuse`, `_keep`)."""

    if TYPE_CHECKING:
        timeout: float

        @property
        def address(self) -> str: ...

        def describe_error(self, error: BaseException) -> str: ...

        async def _connect(self, database: str | None = None) -> AsyncConnection[Any]: ...

        def _session(
            self, database: str | None = None
        ) -> AbstractAsyncContextManager[AsyncConnection[Any]]: ...

        def _turn(self) -> asyncio.Semaphore: ...

        async def _drop_kept(self, but: str | None = None) -> None: ...

        async def _reuse(self, database: str | None) -> AsyncConnection[Any] | None: ...

        def _keep(self, database: str | None, conn: AsyncConnection[Any]) -> bool: ...

    @check(
        "postgres.ready",
        "PostgreSQL accepts connections",
        "Connects as the target's user; tells refused, timeout, authentication failed, missing "
        "database and too many clients apart (fact `reason`); the version and whether the "
        "server is in recovery (pg_isready, psql -c 'select 1').",
        applies_to=("postgres.server",),
    )
    async def ready(self, params: Mapping[str, Any]) -> Finding:
        import psycopg

        loop = asyncio.get_running_loop()
        async with self._turn():  # the server's one turn: triage never holds two of its slots
            conn = await self._reuse(None)
            fresh = conn is None
            started = loop.time()
            if conn is None:
                try:
                    async with asyncio.timeout(self.timeout * READY_SHARE):
                        conn = await self._connect()
                except (TimeoutError, psycopg.OperationalError) as error:
                    reason = "timeout"
                    if not isinstance(error, TimeoutError):
                        reason = q.connect_reason(str(error))
                    failed = {"reason": reason, "address": self.address}
                    said = () if isinstance(error, TimeoutError) else (q.first_line(str(error)),)
                    return Finding(CheckStatus.FAIL, self.describe_error(error), failed, said)
            connect_ms = (loop.time() - started) * 1000
            try:
                server = (await fetch(conn, q.SERVER))[0]
                limits = (await fetch(conn, q.LIMITS))[0]
            except BaseException:
                await conn.close()
                raise
            if not self._keep(None, conn):  # the sweep's next check goes on with it
                await conn.close()
        role = "replica (in recovery)" if server["in_recovery"] else "primary"
        usable = limits["max_connections"] - limits["reserved"]
        facts: dict[str, Any] = {
            "reason": "ok",
            "address": self.address,
            "version": server["version"],
            "version_num": server["version_num"],
            "in_recovery": server["in_recovery"],
            "uptime_seconds": round(server["uptime_seconds"]),
            "in_use": limits["in_use"],
            "usable": usable,
        }
        how = (
            f"connected to {self.address} in {connect_ms:.1f} ms"
            if fresh
            else f"{self.address} answered on the connection triage keeps"
        )
        if fresh:
            facts["connect_ms"] = round(connect_ms, 2)
        evidence = (
            how,
            f"server_version {server['version']}, pg_is_in_recovery() = {server['in_recovery']}, "
            f"up {human_duration(server['uptime_seconds'])}",
            f"{limits['in_use']} client connections of {usable} usable (max_connections "
            f"{limits['max_connections']}, {limits['reserved']} reserved for superusers)",
        )
        if limits["in_use"] >= usable:
            # Triage's own connection answers, but a new client would be turned away.
            facts["reason"] = "too_many_clients"
            summary = (
                f"{self.address}: no free connection slot: {limits['in_use']} of {usable} in "
                "use; new clients are refused (too many clients)"
            )
            return Finding(CheckStatus.FAIL, summary, facts, evidence)
        summary = f"accepting connections: PostgreSQL {server['version']}, {role}"
        return Finding(CheckStatus.PASS, summary, facts, evidence)

    @check(
        "postgres.connections",
        "PostgreSQL connections against max_connections",
        "Client connections against max_connections minus the reserved slots, by state (with "
        "the oldest idle-in-transaction session), by application and by client address.",
        applies_to=("postgres.server",),
        params={
            "warn_ratio": ParamSpec("Share of the usable slots above which to warn", float, 0.8)
        },
    )
    async def connections(self, params: Mapping[str, Any]) -> Finding:
        async with self._session() as conn:
            limits = (await fetch(conn, q.LIMITS))[0]
            states = await fetch(conn, q.BY_STATE)
            oldest = await fetch(conn, q.OLDEST_IDLE_IN_TRANSACTION)
            apps = await fetch(conn, q.BY_APPLICATION)
            clients = await fetch(conn, q.BY_CLIENT)
        usable = limits["max_connections"] - limits["reserved"]
        by_state = {row["name"]: row["count"] for row in states}
        idle_tx = by_state.get("idle in transaction", 0)
        idle_tx += by_state.get("idle in transaction (aborted)", 0)
        facts = {
            "in_use": limits["in_use"],
            "max_connections": limits["max_connections"],
            "reserved": limits["reserved"],
            "usable": usable,
            "used_ratio": round(limits["in_use"] / usable, 4) if usable else 1.0,
            "by_state": by_state,
            "active": by_state.get("active", 0),
            "idle": by_state.get("idle", 0),
            "idle_in_transaction": idle_tx,
            "oldest_idle_in_transaction_seconds": round(oldest[0]["seconds"]) if oldest else None,
            "oldest_idle_in_transaction_pid": oldest[0]["pid"] if oldest else None,
            "top_applications": {row["name"]: row["count"] for row in apps},
            "top_clients": {row["name"]: row["count"] for row in clients},
        }
        health, summary = connection_health(limits["in_use"], usable, float(params["warn_ratio"]))
        evidence = [
            f"{limits['in_use']} client connections; max_connections {limits['max_connections']}, "
            f"{limits['reserved']} reserved for superusers",
            "by state: " + ", ".join(f"{name} {count}" for name, count in by_state.items()),
        ]
        if oldest:
            age = human_duration(oldest[0]["seconds"])
            evidence.append(f"oldest idle in transaction: pid {oldest[0]['pid']}, {age}")
            summary = f"{summary}, {idle_tx} idle in transaction (oldest {age})"
        evidence += [f"{row['count']:>5} from application {row['name']}" for row in apps]
        evidence += [f"{row['count']:>5} from {row['name']}" for row in clients]
        status = _CHECK_STATUS.get(health, CheckStatus.FAIL)
        return Finding(status, summary, facts, tuple(evidence))

    @check(
        "postgres.long_queries",
        "Queries running longer than a threshold",
        "Active queries older than threshold_seconds, with pid, duration, state and query text.",
        applies_to=("postgres.server", "postgres.database"),
        params={
            "threshold_seconds": ParamSpec("Report queries running longer than this", float, 30.0),
            "database": DATABASE_PARAM,
        },
    )
    async def long_queries(self, params: Mapping[str, Any]) -> Finding:
        threshold = float(params["threshold_seconds"])
        async with self._session() as conn:
            rows = await fetch(
                conn, q.LONG_QUERIES, {"threshold": threshold, "database": params["database"]}
            )
        queries = [
            {
                "pid": row["pid"],
                "user": row["user"],
                "application": row["application"],
                "state": row["state"],
                "wait_event": row["wait_event"],
                "duration_seconds": round(row["seconds"], 1),
                "query": query_text(row),
            }
            for row in rows
        ]
        facts = {
            "count": len(queries),
            "threshold_seconds": threshold,
            "longest_seconds": queries[0]["duration_seconds"] if queries else 0.0,
            "queries": queries,
        }
        evidence = tuple(
            f"pid {item['pid']} ({item['user']}, {item['application'] or 'no application'}) "
            f"{item['state']} {human_duration(item['duration_seconds'])}: {item['query']}"
            for item in queries
        )
        if not queries:
            return Finding(CheckStatus.PASS, f"no query running over {threshold:g}s", facts)
        longest = human_duration(queries[0]["duration_seconds"])
        summary = f"{len(queries)} queries running over {threshold:g}s (longest {longest})"
        return Finding(CheckStatus.WARN, summary, facts, evidence)

    @check(
        "postgres.blocked",
        "Sessions blocked by locks",
        "Sessions waiting on a lock (pg_blocking_pids) and the sessions holding it, as a chain.",
        applies_to=("postgres.server", "postgres.database"),
        params={"database": DATABASE_PARAM},
    )
    async def blocked(self, params: Mapping[str, Any]) -> Finding:
        async with self._session() as conn:
            rows, lines = await blocked_sessions(conn, params["database"])
        waiting = {row["pid"] for row in rows}
        roots = sorted({pid for row in rows for pid in row["blocked_by"]} - waiting)
        facts = {
            "count": len(rows),
            "blocked": [
                {
                    "pid": row["pid"],
                    "blocked_by": list(row["blocked_by"]),
                    "waiting_seconds": round(row["seconds"] or 0, 1),
                    "query": query_text(row),
                }
                for row in rows
            ],
            "root_blockers": roots,
        }
        if not rows:
            return Finding(CheckStatus.PASS, "no session is waiting on a lock", facts)
        summary = f"{len(rows)} sessions blocked; held up by pid {', '.join(map(str, roots))}"
        return Finding(CheckStatus.FAIL, summary, facts, tuple(lines))

    @check(
        "postgres.slow_statements",
        "Top statements by total time (pg_stat_statements)",
        "The statements that took the most time, from pg_stat_statements; skipped when the "
        "extension is not installed in the database.",
        applies_to=("postgres.database",),
        params={
            "limit": ParamSpec("How many statements", int, 5),
            "warn_mean_ms": ParamSpec("Warn when a top statement's mean is over", float, 1000.0),
            "database": DATABASE_PARAM,
        },
    )
    async def slow_statements(self, params: Mapping[str, Any]) -> Finding:
        import psycopg
        from psycopg import sql

        async with self._session(params["database"]) as conn:
            extension = await fetch(conn, q.STATEMENTS_EXTENSION)
            database = conn.info.dbname
            if not extension:
                summary = f"pg_stat_statements is not installed in database {database}"
                return Finding(CheckStatus.SKIPPED, summary, {"installed": False})
            new = conn.info.server_version >= 130000
            query = sql.SQL(q.TOP_STATEMENTS).format(
                schema=sql.Identifier(extension[0]["schema"]),
                total=sql.SQL("total_exec_time" if new else "total_time"),
                mean=sql.SQL("mean_exec_time" if new else "mean_time"),
            )
            try:
                rows = await fetch(conn, query, {"limit": int(params["limit"])})
            except psycopg.errors.ObjectNotInPrerequisiteState:
                summary = "pg_stat_statements is installed but not in shared_preload_libraries"
                return Finding(CheckStatus.SKIPPED, summary, {"installed": True, "loaded": False})
        statements = [
            {
                "queryid": row["queryid"],
                "calls": row["calls"],
                "total_ms": round(row["total_ms"], 2),
                "mean_ms": round(row["mean_ms"], 2),
                "rows": row["rows"],
                "query": query_text(row),
            }
            for row in rows
        ]
        facts = {"installed": True, "loaded": True, "statements": statements}
        evidence = tuple(
            f"{item['total_ms']:>10.1f} ms total, {item['calls']} calls, "
            f"{item['mean_ms']:.1f} ms mean: {item['query']}"
            for item in statements
        )
        slow = [item for item in statements if item["mean_ms"] > float(params["warn_mean_ms"])]
        if slow:
            summary = f"{len(slow)} top statements average over {params['warn_mean_ms']:g} ms"
            return Finding(CheckStatus.WARN, summary, facts, evidence)
        summary = f"top {len(statements)} statements of {database} by total time"
        return Finding(CheckStatus.PASS, summary, facts, evidence)
