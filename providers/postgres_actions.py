"""PostgreSQL actions, mixed into PostgresProvider: cancel or terminate backends, VACUUM ANALYZE.

Planning reads the sessions or the table an action would touch; only `apply` changes anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, ClassVar

from providers import postgres_queries as q
from providers.base import ActionPlan, action
from providers.contract import ActionOutcome, ActionPreview, ActionSpec, ParamSpec
from providers.postgres_queries import fetch, query_text
from providers.units import human_bytes, human_duration

if TYPE_CHECKING:
    from psycopg import AsyncConnection


class PostgresActions:
    """Mixed into PostgresProvider; relies on its `actions`, `address` and `_session`."""

    if TYPE_CHECKING:
        actions: ClassVar[dict[str, ActionSpec]]

        @property
        def address(self) -> str: ...

        def _session(
            self, database: str | None = None
        ) -> AbstractAsyncContextManager[AsyncConnection[Any]]: ...

    async def _session_row(self, pid: int) -> dict[str, Any]:
        async with self._session() as conn:
            rows = await fetch(conn, q.SESSIONS, {"pids": [pid]})
        if not rows:
            raise ValueError(f"{self.address}: no session with pid {pid}")
        return rows[0]

    def _signal_plan(self, name: str, pid: int, row: Mapping[str, Any], verb: str) -> ActionPlan:
        spec = self.actions[name]
        who = f"user {row['user']}, application {row['application'] or '(none)'}"
        summary = f"{verb} pid {pid} ({who}, {row['state'] or 'no state'}): {query_text(row)}"
        function = "pg_terminate_backend" if spec.destructive else "pg_cancel_backend"

        async def apply() -> ActionOutcome:
            async with self._session() as conn:
                done = (await fetch(conn, f"select {function}(%s) as ok", [pid]))[0]["ok"]
            said = f"{function}({pid}) returned {str(bool(done)).lower()}"
            return ActionOutcome(name, str(pid), bool(done), said)

        preview = ActionPreview(
            name, str(pid), summary, spec.destructive, (f"pid {pid}",), {"sessions": 1}
        )
        return ActionPlan(preview, apply)

    @action(
        "postgres.cancel_query",
        "Cancel a backend's running query",
        destructive=False,
        params={"pid": ParamSpec("Backend pid", int, required=True)},
    )
    async def cancel_query(self, params: Mapping[str, Any]) -> ActionPlan:
        """pg_cancel_backend(pid); the session stays. Preview target: str(pid)."""
        pid = int(params["pid"])
        return self._signal_plan(
            "postgres.cancel_query", pid, await self._session_row(pid), "cancel the query of"
        )

    @action(
        "postgres.terminate_backend",
        "Terminate a backend (its transaction is rolled back)",
        destructive=True,
        params={"pid": ParamSpec("Backend pid", int, required=True)},
    )
    async def terminate_backend(self, params: Mapping[str, Any]) -> ActionPlan:
        """pg_terminate_backend(pid). Preview target (the confirmation to type): str(pid)."""
        pid = int(params["pid"])
        return self._signal_plan(
            "postgres.terminate_backend", pid, await self._session_row(pid), "terminate"
        )

    @action(
        "postgres.terminate_idle_in_transaction",
        "Terminate sessions idle in transaction",
        destructive=True,
        params={
            "older_than_seconds": ParamSpec("Idle in transaction for longer than", float, 300.0)
        },
    )
    async def terminate_idle_in_transaction(self, params: Mapping[str, Any]) -> ActionPlan:
        """Terminate the sessions of the target's database idle in transaction for longer than
        older_than_seconds. Preview target (the confirmation to type): the database name.
        Apply ends exactly the pids listed, and only those still idle in transaction."""
        older = float(params["older_than_seconds"])
        async with self._session() as conn:
            rows = await fetch(conn, q.IDLE_IN_TRANSACTION_SESSIONS, {"older_than": older})
            database = conn.info.dbname
            wait = ", 1000" if conn.info.server_version >= 140000 else ""
        pids = [row["pid"] for row in rows]
        name = "postgres.terminate_idle_in_transaction"
        what = (
            f"sessions idle in transaction for over {human_duration(older)} in database {database}"
        )
        summary = f"terminate {len(pids)} {what}: pids {', '.join(map(str, pids))}"
        if not pids:
            summary = f"no {what}; nothing to terminate"
        touches = tuple(
            f"pid {row['pid']} ({row['user']}, {row['application'] or '(none)'}, idle "
            f"{human_duration(row['state_seconds'])}): {query_text(row, 80)}"
            for row in rows
        )

        async def apply() -> ActionOutcome:
            if not pids:
                return ActionOutcome(name, database, True, "nothing to terminate")
            query = q.TERMINATE_IDLE_IN_TRANSACTION.replace("{wait}", wait)
            async with self._session() as conn:
                done = await fetch(conn, query, {"pids": pids, "older_than": older})
            ended = [row["pid"] for row in done if row["terminated"]]
            skipped = sorted(set(pids) - set(ended))
            said = f"terminated {len(ended)} of {len(pids)} sessions"
            if skipped:
                said = (
                    f"{said}; left {', '.join(map(str, skipped))} (no longer idle in transaction)"
                )
            return ActionOutcome(
                name, database, True, said, tuple(f"pid {pid} terminated" for pid in ended)
            )

        preview = ActionPreview(name, database, summary, True, touches, {"sessions": len(pids)})
        return ActionPlan(preview, apply)

    @action(
        "postgres.vacuum_analyze",
        "VACUUM ANALYZE a table",
        destructive=False,
        params={"table": ParamSpec("Table, e.g. orders or billing.invoices", str, required=True)},
    )
    async def vacuum_analyze(self, params: Mapping[str, Any]) -> ActionPlan:
        """VACUUM ANALYZE one table (autocommit; identifier quoted). Preview target: the table."""
        from psycopg import sql

        table = str(params["table"])
        async with self._session() as conn:
            found = await fetch(conn, q.TABLE, {"table": table})
            stats = await fetch(conn, q.TABLE_STATS, {"table": table})
        if not found:
            raise ValueError(f'{self.address}: relation "{table}" does not exist')
        row = found[0]
        dead = stats[0]["dead_rows"] if stats else 0
        name = "postgres.vacuum_analyze"
        summary = (
            f"VACUUM ANALYZE {row['name']} ({human_bytes(row['size_bytes'])}, {dead:,} dead rows)"
        )
        statement = sql.SQL("VACUUM ANALYZE {}").format(
            sql.Identifier(row["schema"], row["relname"])
        )

        async def apply() -> ActionOutcome:
            async with self._session() as conn:
                await conn.execute(statement)
            return ActionOutcome(name, row["name"], True, f"vacuumed and analyzed {row['name']}")

        preview = ActionPreview(
            name, row["name"], summary, False, (row["name"],), {"tables": 1, "dead_rows": dead}
        )
        return ActionPlan(preview, apply)
