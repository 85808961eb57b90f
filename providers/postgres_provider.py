"""PostgreSQL through psycopg 3 (AsyncConnection): the server, its databases, sessions and locks.

Every call holds a connection while it runs (application_name `triage`, autocommit, a connect
timeout and a statement timeout within the target's timeout). One call at a time holds one, for
the whole server (the others wait their turn within their own timeout, so a dead server still
costs one timeout), and it is kept between calls (checked with a round trip before reuse; a call
on another database closes it first): a sweep or a diagnosis holds at most one of the server's
connection slots, which matters most on a server that has none to spare. `postgres.ready` says
whether a new client would get in: a fresh connection when none is kept, else the free slots
counted on the kept one.
This module holds the connections, error descriptions and discovery; the checks, actions and
log stream are mixins from `postgres_checks`, `postgres_data_checks`, `postgres_actions` and
`postgres_watch`, and the SQL text lives in `postgres_queries`.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from providers import postgres_queries as q
from providers.base import CommandTarget, Provider
from providers.contract import CheckCall, Health, Node, Status
from providers.inventory import SecretError
from providers.postgres_actions import PostgresActions
from providers.postgres_checks import WARN_RATIO, PostgresChecks, connection_health
from providers.postgres_data_checks import PostgresDataChecks
from providers.postgres_queries import fetch
from providers.postgres_sql import PostgresSql
from providers.postgres_watch import PostgresWatch
from providers.redact import redact
from providers.units import human_bytes

if TYPE_CHECKING:
    from psycopg import AsyncConnection

DEFAULT_URL = "postgresql://127.0.0.1:5432/postgres"
APPLICATION_NAME = "triage"
# Connections to one server in use at once, and kept idle between calls: every check of a sweep
# or a diagnosis takes its turn on it, so triage holds one slot of a server that may have none
# to spare (a server at max_connections is what it is diagnosing).
SESSIONS_AT_ONCE = 1


# The catalogue lists checks and actions in the order of these mixins.
class PostgresProvider(
    PostgresChecks, PostgresDataChecks, PostgresActions, PostgresSql, PostgresWatch, Provider
):
    """One PostgreSQL server reached by URL or libpq DSN; its databases are the children."""

    kind = "postgres"
    command_tools = ("psql", "pg_isready", "pg_dump", "pg_restore", "vacuumdb", "reindexdb")
    command_variables = ("DATABASE_URL", "PGHOST", "PGPORT", "PGDATABASE", "PGUSER")
    command_shadows = ("DATABASE_URL", "PG*")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The idle connection kept between calls, by the database it is on ("" the default one),
        # and the turn every call waits for.
        self._kept_connections: dict[str, list[AsyncConnection[Any]]] = {}
        self._gates: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Semaphore]] = {}

    @property
    def url(self) -> str:
        return self.target.resolve_url(DEFAULT_URL)

    @property
    def address(self) -> str:
        """host:port/dbname, never anything from the user or password part."""
        from psycopg.conninfo import conninfo_to_dict

        try:
            parts = conninfo_to_dict(self.url)
        except SecretError as error:
            return f"{self.target.name} ({error})"
        except Exception:  # an unparsable DSN: its text may hold a secret, so say nothing of it
            return f"{self.target.name} (invalid connection string)"
        dbname = parts.get("dbname") or self.target.username or parts.get("user") or "postgres"
        host = str(parts.get("host") or "127.0.0.1")
        if host.startswith("/"):
            return f"{host}/.s.PGSQL.{parts.get('port') or 5432}/{dbname}"
        return f"{host}:{parts.get('port') or 5432}/{dbname}"

    async def command_target(self, params: Mapping[str, Any]) -> CommandTarget:
        """libpq's own variables (PGHOST, PGPORT, ...) and a DATABASE_URL without the password,
        which psql reads from PGPASSWORD instead. A runbook's `database` names the database."""
        from psycopg.conninfo import conninfo_to_dict

        parts = {key: str(value) for key, value in conninfo_to_dict(self.url).items() if value}
        user = self.target.username or parts.get("user") or ""
        password = self.target.resolve_password() or parts.get("password")
        database = str(params.get("database") or "") or parts.get("dbname") or user or "postgres"
        host, port = parts.get("host") or "127.0.0.1", parts.get("port") or "5432"
        variables = {"PGHOST": host, "PGPORT": port, "PGDATABASE": database}
        if user:
            variables["PGUSER"] = user
        if parts.get("sslmode"):
            variables["PGSSLMODE"] = parts["sslmode"]
        who = f"{quote(user, safe='')}@" if user else ""
        if host.startswith("/"):  # a socket folder: libpq takes it as the `host` query parameter
            where = f"{who}/{quote(database, safe='')}?host={quote(host, safe='')}&port={port}"
        else:
            shown_host = f"[{host}]" if ":" in host else host
            where = f"{who}{shown_host}:{port}/{quote(database, safe='')}"
        variables["DATABASE_URL"] = f"postgresql://{where}"
        return CommandTarget(
            self.target.name,
            self.kind,
            self.address,
            variables=variables,
            secrets={"PGPASSWORD": password} if password else {},
        )

    def root_checks(self) -> tuple[CheckCall, ...]:
        names = ("ready", "connections", "long_queries", "blocked", "replication")
        return tuple(CheckCall(f"postgres.{name}") for name in names)

    # -- connections ------------------------------------------------------------------------

    async def _connect(self, database: str | None = None) -> AsyncConnection[Any]:
        import psycopg

        millis = max(1, int(self.timeout * 1000))
        kwargs: dict[str, Any] = {
            "autocommit": True,
            "connect_timeout": max(2, math.ceil(self.timeout)),
            "application_name": APPLICATION_NAME,
        }
        password = self.target.resolve_password()
        if password:
            kwargs["password"] = password
        if self.target.username:
            kwargs["user"] = self.target.username
        if database:
            kwargs["dbname"] = database
        conn = await psycopg.AsyncConnection.connect(self.url, **kwargs)
        try:  # a SET, not the `options` startup parameter, which PgBouncer refuses
            await conn.execute(q.TIMEOUTS, {"millis": str(millis)})
        except BaseException:
            await conn.close()
            raise
        return conn

    @contextlib.asynccontextmanager
    async def _session(self, database: str | None = None) -> AsyncIterator[AsyncConnection[Any]]:
        """A connection for one call, once the server's turn is free: the kept one when it is
        on this database and still answers, else a new one (the kept one closed first). Kept
        afterwards only if the call left it clean (no error, no open transaction)."""
        async with self._turn():
            conn = await self._reuse(database)
            if conn is None:
                conn = await self._connect(database)
            try:
                yield conn
            except BaseException:
                await conn.close()
                raise
            if not self._keep(database, conn):
                await conn.close()

    def _turn(self) -> asyncio.Semaphore:
        """The server's turns: SESSIONS_AT_ONCE calls at once, whatever their database."""
        loop = asyncio.get_running_loop()  # a semaphore serves the loop it first waited on
        held = self._gates.get("")
        if held is None or held[0] is not loop:
            held = self._gates[""] = (loop, asyncio.Semaphore(SESSIONS_AT_ONCE))
        return held[1]

    async def _drop_kept(self, but: str | None = None) -> None:
        """Close the kept connection (unless it is on database `but`): one at a time."""
        for other in [key for key in self._kept_connections if but is None or key != but]:
            for conn in self._kept_connections.pop(other):
                with contextlib.suppress(Exception):  # it may be gone already
                    await conn.close()

    async def _reuse(self, database: str | None) -> AsyncConnection[Any] | None:
        await self._drop_kept(but=database or "")
        kept = self._kept_connections.get(database or "")
        while kept:
            conn = kept.pop()
            try:  # one round trip, so a connection the server dropped is never handed out
                await conn.execute("SELECT 1")
            except Exception:  # dropped or broken: the next one, or a new one
                await conn.close()
                continue
            except BaseException:  # cancelled (the check's timeout): nothing is left open
                await conn.close()
                raise
            return conn
        return None

    def _keep(self, database: str | None, conn: AsyncConnection[Any]) -> bool:
        from psycopg.pq import TransactionStatus

        kept = self._kept_connections.setdefault(database or "", [])
        idle = not conn.closed and conn.info.transaction_status == TransactionStatus.IDLE
        if not idle or len(kept) >= SESSIONS_AT_ONCE:
            return False
        kept.append(conn)
        return True

    async def close(self) -> None:
        kept = self._kept_connections
        connections = [conn for idle in kept.values() for conn in idle]
        kept.clear()
        for conn in connections:
            with contextlib.suppress(Exception):  # closing: the server may be gone already
                await conn.close()
        await super().close()

    def _scrub(self, text: str) -> str:
        with contextlib.suppress(SecretError):
            password = self.target.resolve_password()
            if password:
                text = text.replace(password, "***")
        return redact(text)

    def describe_error(self, error: BaseException) -> str:
        import psycopg

        if isinstance(error, SecretError):
            return f"{self.target.name}: {error}"
        if isinstance(error, TimeoutError | psycopg.errors.ConnectionTimeout):
            return f"{self.address}: no answer within {self.timeout:g}s"
        if isinstance(error, psycopg.errors.QueryCanceled):
            return self._scrub(f"{self.address}: query canceled ({q.first_line(str(error))})")
        if not isinstance(error, psycopg.Error):
            return self._scrub(super().describe_error(error))
        message = str(error)
        reason = q.connect_reason(message) if isinstance(error, psycopg.OperationalError) else ""
        text = {
            "refused": "connection refused",
            "timeout": f"no answer within {self.timeout:g}s",
            "auth_failed": f'authentication failed for user "{q.quoted(message, "user")}"',
            "no_database": f'database "{q.quoted(message, "database")}" does not exist',
            "too_many_clients": "too many clients (max_connections reached)",
        }.get(reason) or q.first_line(message)
        if isinstance(error, psycopg.ProgrammingError) and error.sqlstate is None:
            text = "invalid connection string"  # its text may quote the DSN
        return self._scrub(f"{self.address}: {text}")

    # -- the tree ---------------------------------------------------------------------------

    async def discover(self) -> Node:
        root_name = f"{self.target.name} ({self.address})"
        try:
            async with asyncio.timeout(self.timeout), self._session() as conn:
                server = (await fetch(conn, q.SERVER))[0]
                limits = (await fetch(conn, q.LIMITS))[0]
                databases = await fetch(conn, q.DATABASES)
        except Exception as error:  # the tree shows why, instead of failing discovery
            status = Status(Health.FAILING, self.describe_error(error))
            return self._root(root_name, status, ())
        return self._root(root_name, self._status(server, limits), self._databases(databases))

    def _root(self, name: str, status: Status, children: tuple[Node, ...]) -> Node:
        return Node(
            id=self.root_id,
            kind="postgres.server",
            name=name,
            status=status,
            children=children,
            checks=self.root_checks(),
            has_logs=True,
        )

    def _status(self, server: Mapping[str, Any], limits: Mapping[str, Any]) -> Status:
        usable = limits["max_connections"] - limits["reserved"]
        warn = float(self.target.options.get("connections_warn_ratio", WARN_RATIO))
        health, reason = connection_health(limits["in_use"], usable, warn)
        if limits["blocked"]:
            blocked = f"{limits['blocked']} sessions blocked by locks"
            reason = blocked if health is Health.OK else f"{reason}; {blocked}"
            health = Health.FAILING if health is Health.FAILING else Health.DEGRADED
        if health is not Health.OK:
            return Status(health, reason)
        role = "replica" if server["in_recovery"] else "primary"
        return Status(Health.OK, f"PostgreSQL {server['version']}, {role}, {reason}")

    def _databases(self, rows: list[dict[str, Any]]) -> tuple[Node, ...]:
        nodes = []
        for row in rows:
            size = "size unknown (no CONNECT privilege)"
            if row["size_bytes"] is not None:
                size = human_bytes(row["size_bytes"])
            db = {"database": row["name"]}
            nodes.append(
                Node(
                    id=f"{self.root_id}/{row['name']}",
                    kind="postgres.database",
                    name=row["name"],
                    status=Status(Health.OK, size),
                    checks=tuple(
                        CheckCall(f"postgres.{name}", db)
                        for name in ("database_size", "long_queries", "blocked", "slow_statements")
                    ),
                    has_logs=True,
                    detail=size,
                    params=tuple(db.items()),
                    clients=tuple(row.get("clients") or ()),
                )
            )
        return tuple(nodes)
