"""SQL a guide gives, mixed into PostgresProvider: a read-only query check and a gated action.

- `postgres.query` runs one SELECT, WITH, VALUES, TABLE, SHOW or EXPLAIN inside a READ ONLY
  transaction that is always rolled back, under the connection's statement_timeout, and keeps
  at most `rows` rows as evidence. Anything else (a change, several statements, a function that
  acts on the server such as pg_terminate_backend) is refused before it reaches the server.
- `postgres.run_sql` runs one changing statement (REINDEX, VACUUM FULL, ALTER SYSTEM, CREATE
  INDEX, INSERT ...): destructive, so the database's name must be typed, and its preview shows
  the exact SQL. It runs outside a transaction block (autocommit), as psql -c would.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

from providers.base import ActionPlan, Finding, action, check
from providers.contract import ActionOutcome, ActionPreview, CheckStatus, ParamSpec
from providers.redact import redact
from providers.text import sanitize

if TYPE_CHECKING:
    from psycopg import AsyncConnection

DEFAULT_ROWS = 20
MAX_ROWS = 200
CELL_WIDTH = 80
READING = ("select", "with", "values", "table", "show", "explain")
# Functions that act on the server even in a read-only transaction.
ACTING_FUNCTIONS = re.compile(
    r"\b(pg_(?:terminate|cancel)_backend|pg_reload_conf|pg_rotate_logfile|pg_switch_wal|"
    r"pg_promote|pg_create_\w+|pg_drop_\w+|pg_replication_origin_\w+|pg_file_\w+|"
    r"pg_stat_reset\w*|pg_stat_statements_reset|pg_advisory_\w+|pg_notify|pg_logical_emit_\w+|"
    r"pg_wal_replay_\w+|pg_backup_\w+|set_config|lo_\w+|dblink\w*|nextval|setval)\s*\(",
    re.IGNORECASE,
)
_DOLLAR = re.compile(r"\$[A-Za-z_]*\$")


def statements(sql: str) -> list[str]:
    """The statements of a SQL text, split on `;` outside quotes, comments and $$ bodies;
    comments removed, empty statements dropped."""
    found: list[str] = []
    current: list[str] = []
    index, length = 0, len(sql)
    while index < length:
        char = sql[index]
        if sql.startswith("--", index):
            end = sql.find("\n", index)
            index = length if end < 0 else end
            continue
        if sql.startswith("/*", index):
            end = sql.find("*/", index + 2)
            index = length if end < 0 else end + 2
            current.append(" ")
            continue
        dollar = _DOLLAR.match(sql, index) if char == "$" else None
        if char in "'\"" or dollar:
            closer = dollar.group(0) if dollar else char
            end = sql.find(closer, index + len(closer))
            end = length if end < 0 else end + len(closer)
            current.append(sql[index:end])
            index = end
            continue
        if char == ";":
            found.append("".join(current).strip())
            current = []
        else:
            current.append(char)
        index += 1
    found.append("".join(current).strip())
    return [statement for statement in found if statement]


def _unquoted(statement: str) -> str:
    """The statement with its string literals and quoted names blanked (for keyword tests)."""
    return re.sub(
        r"'(?:[^']|'')*'|\"[^\"]*\"|\$[A-Za-z_]*\$.*?\$[A-Za-z_]*\$", "''", statement, flags=re.S
    )


def one_statement(sql: object) -> str:
    """The single statement of `sql`; ValueError when there is none or several."""
    found = statements(str(sql or ""))
    if not found:
        raise ValueError("no SQL statement given")
    if len(found) > 1:
        raise ValueError(f"one statement at a time: {len(found)} given")
    return found[0]


def _first_word(text: str) -> str:
    match = re.match(r"\s*\(*\s*(\w+)", text)
    return match.group(1).lower() if match else ""


def read_only_refusal(statement: str) -> str:
    """Why `postgres.query` will not run the statement, or "" when it reads only."""
    bare = _unquoted(statement)
    verb = _first_word(bare)
    if verb not in READING:
        return (
            f"{verb.upper() or 'this'} changes the database: postgres.query runs only SELECT, "
            "WITH, VALUES, TABLE, SHOW and EXPLAIN; use the action postgres.run_sql"
        )
    if verb == "explain" and re.search(r"\banalyze\b", bare, re.IGNORECASE):
        explained = re.sub(
            r"^\s*explain\b(?:\s*\([^)]*\)|\s+(?:analy[sz]e|verbose|costs|buffers)\b)*",
            "",
            bare,
            flags=re.IGNORECASE,
        )
        inner = _first_word(explained)
        if inner not in {"select", "with", "values", "table"}:
            return f"EXPLAIN ANALYZE runs the statement, and {inner.upper()} changes the database"
    if verb == "with" and re.search(r"\b(insert|update|delete|merge)\b", bare, re.IGNORECASE):
        return "a WITH that changes rows (INSERT, UPDATE, DELETE, MERGE): use postgres.run_sql"
    if verb == "select" and re.search(r"\binto\b", bare, re.IGNORECASE):
        return "SELECT INTO creates a table: use postgres.run_sql"
    acting = ACTING_FUNCTIONS.search(bare)
    if acting:
        return f"{acting.group(1)}() acts on the server: postgres.query only reads"
    return ""


def _cell(value: Any) -> str:
    text = sanitize(redact("NULL" if value is None else str(value)))
    return text if len(text) <= CELL_WIDTH else text[: CELL_WIDTH - 1] + "…"


def _shown(sql: str) -> str:
    """The statement on one line, as previews and summaries show it."""
    return sanitize(redact(" ".join(sql.split())))


class PostgresSql:
    """Mixed into PostgresProvider; relies on its `address` and `_session`."""

    if TYPE_CHECKING:

        @property
        def address(self) -> str: ...

        def _session(
            self, database: str | None = None
        ) -> AbstractAsyncContextManager[AsyncConnection[Any]]: ...

    @check(
        "postgres.query",
        "A read-only query's rows",
        "Runs one SELECT/WITH/SHOW/EXPLAIN in a READ ONLY transaction that is rolled back, "
        'within the statement timeout, and shows the first rows (psql -c "SELECT ...").',
        applies_to=("postgres.server", "postgres.database"),
        params={
            "sql": ParamSpec("The statement to run (read-only)", str, required=True),
            "database": ParamSpec("Database to run it in; default: the target's", str, None),
            "rows": ParamSpec(f"Rows to keep (at most {MAX_ROWS})", int, DEFAULT_ROWS),
            "warn_when_rows": ParamSpec(
                "Warn when it returns any row (a query that lists problems)", bool, False
            ),
        },
    )
    async def query(self, params: Mapping[str, Any]) -> Finding:
        statement = one_statement(params.get("sql"))
        refusal = read_only_refusal(statement)
        if refusal:
            raise ValueError(f"not run: {refusal}")
        limit = max(1, min(MAX_ROWS, int(params.get("rows") or DEFAULT_ROWS)))
        database = params.get("database") or None
        async with self._session(database) as conn, conn.transaction(force_rollback=True):
            await conn.execute("set transaction read only")
            cursor = await conn.execute(statement)
            columns = [column.name for column in cursor.description or []]
            fetched = await cursor.fetchmany(limit + 1) if columns else []
        rows = [dict(zip(columns, row, strict=True)) for row in fetched[:limit]]
        more = len(fetched) > limit
        facts: dict[str, Any] = {
            "row_count": len(rows),
            "more_rows": more,
            "columns": columns,
            "rows": [{key: _cell(value) for key, value in row.items()} for row in rows],
        }
        if len(rows) == 1 and columns:
            facts.update({f"first_{key}": value for key, value in facts["rows"][0].items()})
        evidence = [" | ".join(columns)] if columns else []
        evidence += [" | ".join(_cell(row[c]) for c in columns) for row in rows]
        if more:
            evidence.append(f"(more rows; the first {limit} shown)")
        counted = f"{len(rows)}{'+' if more else ''} rows"
        summary = f"{counted} from {_shown(statement)[:100]}"
        status = CheckStatus.WARN if rows and params.get("warn_when_rows") else CheckStatus.PASS
        return Finding(status, summary, facts, tuple(evidence))

    @action(
        "postgres.run_sql",
        "Run a changing SQL statement (REINDEX, VACUUM FULL, ALTER SYSTEM, CREATE INDEX ...)",
        destructive=True,
        params={
            "sql": ParamSpec("The one statement to run, exactly as shown", str, required=True),
            "database": ParamSpec("Database to run it in; default: the target's", str, None),
        },
    )
    async def run_sql(self, params: Mapping[str, Any]) -> ActionPlan:
        """The preview names the database (what to type) and shows the exact statement."""
        statement = one_statement(params.get("sql"))
        database = params.get("database") or None
        async with self._session(database) as conn:  # the database exists and answers
            cursor = await conn.execute("select current_database()")
            row = await cursor.fetchone()
        name = str(row[0]) if row else str(database or "")
        shown = _shown(statement)
        preview = ActionPreview(
            action="postgres.run_sql",
            target=name,
            summary=f"run on database {name} at {self.address}: {shown}",
            destructive=True,
            touches=(f"database {name}", f"SQL: {shown}"),
            counts={"statements": 1},
        )

        async def apply() -> ActionOutcome:
            async with self._session(database) as conn:
                cursor = await conn.execute(statement)
                status = sanitize(str(cursor.statusmessage or "done"))
                rows = await cursor.fetchmany(DEFAULT_ROWS) if cursor.description else []
            output = tuple(" | ".join(_cell(value) for value in row) for row in rows)
            return ActionOutcome("postgres.run_sql", name, True, f"{name}: {status}", output)

        return ActionPlan(preview, apply)
