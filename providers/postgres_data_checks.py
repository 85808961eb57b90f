"""PostgreSQL checks of storage and replication, mixed into PostgresProvider.

A database's size and its large tables never read through an index, whether a table exists
(and in which schemas if not on the search_path), and the replication role and lag.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

from providers import postgres_queries as q
from providers.base import Finding, check
from providers.contract import CheckStatus, ParamSpec
from providers.postgres_checks import DATABASE_PARAM
from providers.postgres_queries import fetch
from providers.units import human_bytes, human_duration

if TYPE_CHECKING:
    from psycopg import AsyncConnection


class PostgresDataChecks:
    """Mixed into PostgresProvider; relies on its `_session`."""

    if TYPE_CHECKING:

        def _session(
            self, database: str | None = None
        ) -> AbstractAsyncContextManager[AsyncConnection[Any]]: ...

    @check(
        "postgres.database_size",
        "Database size and large tables never index-scanned",
        "pg_database_size, and tables of at least min_bytes that are read by sequential scans "
        "only (idx_scan = 0, seq_scan > 0): a missing index.",
        applies_to=("postgres.database",),
        params={
            "min_bytes": ParamSpec("Smallest table to report", int, 100 * 1024 * 1024),
            "database": DATABASE_PARAM,
        },
    )
    async def database_size(self, params: Mapping[str, Any]) -> Finding:
        async with self._session(params["database"]) as conn:
            size = (await fetch(conn, q.DATABASE_SIZE))[0]
            tables = await fetch(conn, q.UNINDEXED_TABLES, {"min_bytes": int(params["min_bytes"])})
        facts = {
            "database": size["database"],
            "size_bytes": size["size_bytes"],
            "unindexed_tables": [dict(row) for row in tables],
            "unindexed_count": len(tables),
        }
        summary = f"database {size['database']} is {human_bytes(size['size_bytes'])}"
        evidence = tuple(
            f"{row['name']}: {human_bytes(row['size_bytes'])}, {row['seq_scan']} sequential "
            f"scans, 0 index scans" + (f", ~{row['rows']:,} rows" if row["rows"] else "")
            for row in tables
        )
        if not tables:
            return Finding(CheckStatus.PASS, summary, facts, (summary,))
        summary = f"{summary}; {len(tables)} large tables are never read through an index"
        return Finding(CheckStatus.WARN, summary, facts, evidence)

    @check(
        "postgres.table_exists",
        "A table exists",
        "Whether a table (schema-qualified or found on the search_path) exists: the `relation "
        "does not exist` of a migration that never ran; names other schemas that have it.",
        applies_to=("postgres.database",),
        params={
            "table": ParamSpec("Table, e.g. orders or billing.invoices", str, required=True),
            "database": DATABASE_PARAM,
        },
    )
    async def table_exists(self, params: Mapping[str, Any]) -> Finding:
        table = str(params.get("table") or "")
        if not table:
            return Finding(CheckStatus.ERROR, "postgres.table_exists needs the parameter table")
        async with self._session(params["database"]) as conn:
            found = await fetch(conn, q.TABLE, {"table": table})
            search_path = (await fetch(conn, q.SEARCH_PATH))[0]["search_path"]
            elsewhere = [] if found else await fetch(conn, q.TABLE_ELSEWHERE, {"table": table})
            database = conn.info.dbname
        if found:
            row = found[0]
            facts = {"table": table, "exists": True, "name": row["name"], "schema": row["schema"]}
            summary = f"{row['name']} exists in {database} ({human_bytes(row['size_bytes'])})"
            return Finding(CheckStatus.PASS, summary, facts, (summary,))
        others = [row["name"] for row in elsewhere]
        facts = {"table": table, "exists": False, "other_schemas": others, "database": database}
        summary = f'relation "{table}" does not exist in database {database}'
        evidence = [f"search_path = {search_path}"]
        if others:
            evidence.append(f"a table of that name exists as {', '.join(others)}")
            summary = f"{summary} (found as {', '.join(others)}, not on the search_path)"
        return Finding(CheckStatus.FAIL, summary, facts, tuple(evidence))

    @check(
        "postgres.database_exists",
        "A database exists on the server",
        'Whether a database a client names (`FATAL: database "NAME" does not exist`) is on '
        "the server, asked of pg_database on triage's own connection; the databases there.",
        applies_to=("postgres.server", "postgres.database"),
        params={"database": ParamSpec("The database a client asks for", str, "")},
    )
    async def database_exists(self, params: Mapping[str, Any]) -> Finding:
        wanted = str(params.get("database") or "")
        if not wanted:
            return Finding(CheckStatus.SKIPPED, "no database named to look for", {})
        async with self._session() as conn:
            names = [row["name"] for row in await fetch(conn, q.DATABASE_NAMES)]
        facts = {"database": wanted, "exists": wanted in names, "databases": names}
        there = f"databases here: {', '.join(names)}"
        if wanted in names:
            return Finding(CheckStatus.PASS, f"database {wanted} exists", facts, (there,))
        return Finding(
            CheckStatus.FAIL, f'database "{wanted}" does not exist on this server', facts, (there,)
        )

    @check(
        "postgres.replication",
        "Replication role and lag",
        "Primary or replica; on a primary its replicas and their lag (pg_stat_replication), on "
        "a replica how far replay is behind.",
        applies_to=("postgres.server",),
        params={
            "warn_seconds": ParamSpec("Replay lag above which to warn", float, 30.0),
            "fail_seconds": ParamSpec("Replay lag above which to fail", float, 300.0),
        },
    )
    async def replication(self, params: Mapping[str, Any]) -> Finding:
        async with self._session() as conn:
            in_recovery = (await fetch(conn, q.SERVER))[0]["in_recovery"]
            rows = await fetch(conn, q.REPLICA_LAG if in_recovery else q.REPLICAS)
        warn, fail = float(params["warn_seconds"]), float(params["fail_seconds"])
        if in_recovery:
            row = rows[0]
            lag = row["replay_lag_seconds"] or 0.0
            facts = {
                "role": "replica",
                "replay_lag_seconds": round(lag, 1),
                "lag_bytes": row["lag_bytes"],
                "receiver_status": row["receiver_status"],
            }
            receiver = row["receiver_status"] or "not running"
            behind = (
                f"replay {human_duration(lag)} behind, {human_bytes(row['lag_bytes'] or 0)} "
                f"received but not replayed; WAL receiver {receiver}"
            )
            status = CheckStatus.PASS
            if lag >= fail or row["receiver_status"] != "streaming":
                status = CheckStatus.FAIL if lag >= fail else CheckStatus.WARN
            elif lag >= warn:
                status = CheckStatus.WARN
            summary = f"replica, replay {human_duration(lag)} behind"
            return Finding(status, summary, facts, (behind,))
        replicas = [dict(row) for row in rows]
        worst = max((row["replay_lag_seconds"] for row in replicas), default=0.0)
        facts = {"role": "primary", "replicas": replicas, "max_replay_lag_seconds": worst}
        evidence = tuple(
            f"{row['name']} ({row['client']}): {row['state']}, {row['sync_state']}, replay lag "
            f"{human_duration(row['replay_lag_seconds'])}, {human_bytes(row['lag_bytes'] or 0)}"
            for row in replicas
        )
        status = CheckStatus.PASS
        if worst >= fail:
            status = CheckStatus.FAIL
        elif worst >= warn or any(row["state"] != "streaming" for row in replicas):
            status = CheckStatus.WARN
        summary = f"primary with {len(replicas)} replicas" if replicas else "primary, no replicas"
        if replicas:
            summary = f"{summary}, most lag {human_duration(worst)}"
        return Finding(status, summary, facts, evidence)
