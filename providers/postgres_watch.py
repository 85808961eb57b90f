"""The PostgreSQL log stream, mixed into PostgresProvider: pg_stat_activity polled for changes.

Each poll compares with the last one, so a long query, a blocked session, connections crossing
the warn ratio and the server lost or back are each told once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from providers import postgres_queries as q
from providers.contract import LogLine, utc_now
from providers.inventory import SecretError, Target
from providers.postgres_checks import WARN_RATIO, blocked_sessions
from providers.postgres_queries import fetch, query_text
from providers.units import human_duration

if TYPE_CHECKING:
    from psycopg import AsyncConnection

POLL_SECONDS = 3.0  # how often logs() reads pg_stat_activity; tests make it shorter
LONG_QUERY_SECONDS = 30.0


class PostgresWatch:
    """Mixed into PostgresProvider; relies on its `target`, `timeout`, `root_id`, `address`,
    `describe_error`, `_connect` and `_scrub`."""

    if TYPE_CHECKING:
        target: Target
        timeout: float

        @property
        def root_id(self) -> str: ...

        @property
        def address(self) -> str: ...

        def describe_error(self, error: BaseException) -> str: ...

        async def _connect(self, database: str | None = None) -> AsyncConnection[Any]: ...

        def _scrub(self, text: str) -> str: ...

    async def logs(self, node_id: str, *, since: datetime | None = None) -> AsyncIterator[LogLine]:
        """pg_stat_activity, polled every POLL_SECONDS: new long queries, new blocked sessions,
        connections crossing the warn ratio, and the server lost and back (once each)."""
        import psycopg

        prefix = f"{self.root_id}/"
        database = node_id[len(prefix) :] if node_id.startswith(prefix) else None
        options = self.target.options
        threshold = float(options.get("long_query_seconds", LONG_QUERY_SECONDS))
        warn = float(options.get("connections_warn_ratio", WARN_RATIO))
        source = self.target.name if database is None else f"{self.target.name}/{database}"
        conn: AsyncConnection[Any] | None = None
        failing, announced, high = False, False, False
        seen_long: set[tuple[int, Any]] = set()
        seen_blocked: set[tuple[int, Any]] = set()

        def line(level: str, text: str) -> LogLine:
            return LogLine(utc_now(), source, level, self._scrub(text))

        try:
            while True:
                try:
                    async with asyncio.timeout(self.timeout):
                        if conn is None or conn.closed:
                            conn = await self._connect()
                        limits = (await fetch(conn, q.LIMITS))[0]
                        params = {"threshold": threshold, "database": database}
                        long = await fetch(conn, q.LONG_QUERIES, params)
                        blocked, chains = await blocked_sessions(conn, database)
                except (TimeoutError, psycopg.Error, SecretError) as error:
                    if conn is not None:
                        with contextlib.suppress(Exception):
                            await conn.close()
                        conn = None
                    if not failing:
                        failing = True
                        yield line("error", f"unreachable: {self.describe_error(error)}; retrying")
                else:
                    if not announced:
                        announced = True
                        yield line(
                            "info",
                            f"following pg_stat_activity of {self.address}: queries over "
                            f"{threshold:g}s, blocked sessions, connections over {warn:.0%}",
                        )
                    if failing:
                        failing = False
                        yield line("info", f"{self.address} reachable again")
                    usable = limits["max_connections"] - limits["reserved"]
                    ratio = limits["in_use"] / usable if usable else 1.0
                    share = f"{limits['in_use']} of {usable} in use ({ratio:.0%})"
                    if ratio >= warn and not high:
                        high = True
                        yield line("warn", f"connections over {warn:.0%}: {share}")
                    elif ratio < warn and high:
                        high = False
                        yield line("info", f"connections back below {warn:.0%}: {share}")
                    current = {(row["pid"], row["query_start"]) for row in long}
                    for row in long:
                        if (row["pid"], row["query_start"]) not in seen_long:
                            yield line(
                                "warn",
                                f"long query: pid {row['pid']} ({row['user']}, "
                                f"{row['application'] or 'no application'}) running "
                                f"{human_duration(row['seconds'])}: {query_text(row)}",
                            )
                    seen_long = current
                    current = {(row["pid"], row["query_start"]) for row in blocked}
                    for row in blocked:
                        if (row["pid"], row["query_start"]) not in seen_blocked:
                            for chain in chains:
                                if chain.startswith(f"pid {row['pid']} "):
                                    yield line("warn", f"blocked: {chain}")
                    seen_blocked = current
                await asyncio.sleep(POLL_SECONDS)
        finally:
            if conn is not None:
                with contextlib.suppress(Exception):
                    await conn.close()
