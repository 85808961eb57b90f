"""SQL text of the PostgreSQL provider, `fetch` to run it, and the helpers that read its answers.

Every query reads the catalogue or the statistics views only; the few that change anything
(cancel, terminate, vacuum) are named as such. Intervals come back as float seconds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from providers.redact import redact
from providers.text import sanitize

if TYPE_CHECKING:
    from psycopg import AsyncConnection

CLIENTS = "backend_type = 'client backend'"
IDLE_IN_TRANSACTION = "state in ('idle in transaction', 'idle in transaction (aborted)')"

TIMEOUTS = """
select set_config('statement_timeout', %(millis)s, false),
       set_config('lock_timeout', %(millis)s, false)
"""

SERVER = """
select split_part(current_setting('server_version'), ' ', 1) as version,
       current_setting('server_version_num')::int as version_num,
       pg_is_in_recovery() as in_recovery,
       extract(epoch from now() - pg_postmaster_start_time())::float8 as uptime_seconds,
       current_database() as database
"""

LIMITS = f"""
select current_setting('max_connections')::int as max_connections,
       current_setting('superuser_reserved_connections')::int
         + coalesce(nullif(current_setting('reserved_connections', true), ''), '0')::int
         as reserved,
       (select count(*) from pg_stat_activity where {CLIENTS})::int as in_use,
       (select count(*) from pg_stat_activity
         where cardinality(pg_blocking_pids(pid)) > 0)::int as blocked
"""

BY_STATE = f"""
select coalesce(state, 'unknown') as name, count(*)::int as count
from pg_stat_activity where {CLIENTS} group by 1 order by 2 desc, 1
"""

OLDEST_IDLE_IN_TRANSACTION = f"""
select pid, usename as user, extract(epoch from now() - state_change)::float8 as seconds
from pg_stat_activity where {CLIENTS} and {IDLE_IN_TRANSACTION}
order by state_change limit 1
"""

BY_APPLICATION = f"""
select coalesce(nullif(application_name, ''), '(none)') as name, count(*)::int as count
from pg_stat_activity where {CLIENTS} group by 1 order by 2 desc, 1 limit 5
"""

BY_CLIENT = f"""
select coalesce(host(client_addr), 'local socket') as name, count(*)::int as count
from pg_stat_activity where {CLIENTS} group by 1 order by 2 desc, 1 limit 5
"""

_SESSION_COLUMNS = """
pid, usename as user, coalesce(application_name, '') as application,
coalesce(state, '') as state, datname as database, query_start,
extract(epoch from now() - query_start)::float8 as seconds,
extract(epoch from now() - state_change)::float8 as state_seconds,
left(query, 200) as query
"""

LONG_QUERIES = f"""
select {_SESSION_COLUMNS}, wait_event_type, wait_event
from pg_stat_activity
where {CLIENTS} and pid <> pg_backend_pid() and state = 'active'
  and query_start < now() - make_interval(secs => %(threshold)s)
  and (%(database)s::text is null or datname = %(database)s::text)
order by query_start
"""

BLOCKED = f"""
select {_SESSION_COLUMNS}, pg_blocking_pids(pid) as blocked_by
from pg_stat_activity
where cardinality(pg_blocking_pids(pid)) > 0
  and (%(database)s::text is null or datname = %(database)s::text)
order by query_start, pid
"""

SESSIONS = f"select {_SESSION_COLUMNS} from pg_stat_activity where pid = any(%(pids)s)"

IDLE_IN_TRANSACTION_SESSIONS = f"""
select {_SESSION_COLUMNS} from pg_stat_activity
where datname = current_database() and pid <> pg_backend_pid() and {IDLE_IN_TRANSACTION}
  and state_change < now() - make_interval(secs => %(older_than)s)
order by state_change, pid
"""

# Changes: ends exactly the sessions listed, and only if they are still idle in transaction.
TERMINATE_IDLE_IN_TRANSACTION = f"""
select pid, pg_terminate_backend(pid{{wait}}) as terminated from pg_stat_activity
where pid = any(%(pids)s) and datname = current_database() and {IDLE_IN_TRANSACTION}
  and state_change < now() - make_interval(secs => %(older_than)s)
order by pid
"""

# Each database with the names its clients give themselves (application_name), triage's own
# and psql's left out: who uses a database, read live.
DATABASES = f"""
select d.datname as name,
       case when has_database_privilege(d.datname, 'CONNECT')
            then pg_database_size(d.datname) end as size_bytes,
       array(select distinct a.application_name from pg_stat_activity a
             where a.datname = d.datname and {CLIENTS} and a.application_name <> ''
               and a.application_name not in ('triage', 'psql')
             order by 1 limit 20) as clients
from pg_database d where not d.datistemplate and d.datallowconn order by d.datname
"""

DATABASE_SIZE = """
select current_database() as database, pg_database_size(current_database()) as size_bytes
"""

UNINDEXED_TABLES = """
select schemaname || '.' || relname as name, pg_total_relation_size(relid) as size_bytes,
       seq_scan, coalesce(idx_scan, 0) as idx_scan, n_live_tup as rows
from pg_stat_user_tables
where coalesce(idx_scan, 0) = 0 and seq_scan > 0
  and pg_total_relation_size(relid) >= %(min_bytes)s
order by 2 desc, 1 limit 10
"""

TABLE = """
select c.oid::regclass::text as name, n.nspname as schema, c.relname as relname,
       pg_total_relation_size(c.oid) as size_bytes
from pg_class c join pg_namespace n on n.oid = c.relnamespace
where c.oid = to_regclass(%(table)s)
"""

TABLE_ELSEWHERE = """
select n.nspname || '.' || c.relname as name
from pg_class c join pg_namespace n on n.oid = c.relnamespace
where c.relname = (parse_ident(%(table)s))[cardinality(parse_ident(%(table)s))]
  and c.relkind in ('r', 'p', 'v', 'm', 'f')
order by 1
"""

SEARCH_PATH = "select current_setting('search_path') as search_path"

DATABASE_NAMES = """
select datname as name from pg_database where not datistemplate order by datname
"""

TABLE_STATS = """
select n_dead_tup as dead_rows, n_live_tup as live_rows
from pg_stat_all_tables where relid = to_regclass(%(table)s)
"""

REPLICAS = """
select coalesce(nullif(application_name, ''), '(unnamed)') as name,
       coalesce(host(client_addr), 'local') as client, state, sync_state,
       coalesce(extract(epoch from replay_lag)::float8, 0) as replay_lag_seconds,
       pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint as lag_bytes
from pg_stat_replication order by 1
"""

REPLICA_LAG = """
select case when pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() then 0
            else extract(epoch from now() - pg_last_xact_replay_timestamp())::float8
       end as replay_lag_seconds,
       pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::bigint
         as lag_bytes,
       (select status from pg_stat_wal_receiver limit 1) as receiver_status
"""

STATEMENTS_EXTENSION = """
select n.nspname as schema, e.extversion as version
from pg_extension e join pg_namespace n on n.oid = e.extnamespace
where e.extname = 'pg_stat_statements'
"""

# {schema} is a psycopg.sql.Identifier; {total}/{mean} name the columns of the server version.
TOP_STATEMENTS = """
select queryid, calls, {total} as total_ms, {mean} as mean_ms, rows,
       left(regexp_replace(query, '\\s+', ' ', 'g'), 200) as query
from {schema}.pg_stat_statements
where dbid = (select oid from pg_database where datname = current_database())
order by {total} desc limit %(limit)s
"""

# -- reading errors ------------------------------------------------------------------------------

_REASONS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("refused", re.compile(r"connection refused", re.I)),
    ("timeout", re.compile(r"timeout expired|timed out", re.I)),
    (
        "auth_failed",
        re.compile(
            r"authentication failed|no password supplied|no pg_hba\.conf entry|"
            r"role \".*\" does not exist",
            re.I,
        ),
    ),
    ("no_database", re.compile(r"database \".*\" does not exist", re.I)),
    ("too_many_clients", re.compile(r"too many clients|remaining connection slots", re.I)),
)


def connect_reason(message: str) -> str:
    """Why a connection failed, as one of the `reason` facts of postgres.ready."""
    for reason, pattern in _REASONS:
        if pattern.search(message):
            return reason
    return "other"


def quoted(message: str, after: str) -> str:
    """The name quoted after `after` in a server message (`for user "x"` -> x), or ''."""
    found = re.search(after + r' "([^"]*)"', message)
    return found.group(1) if found else ""


def first_line(message: str) -> str:
    """The server's own words, without libpq's `connection to server at ... failed:` prefix."""
    line = message.strip().splitlines()[0] if message.strip() else ""
    line = re.sub(r"^connection failed: ", "", line)
    line = re.sub(r"^connection to server (at|on) .*? failed: ", "", line)
    return re.sub(r"^(FATAL|ERROR):\s+", "", line)


def query_text(row: Mapping[str, Any], width: int = 200) -> str:
    """A session's query made safe to show: one line, `PASSWORD '...'` and secrets masked."""
    return sanitize(redact(str(row.get("query") or "")))[:width]


async def fetch(conn: AsyncConnection[Any], query: Any, params: Any = None) -> list[dict[str, Any]]:
    """The rows of one statement as dicts; [] for a statement that returns none."""
    from psycopg.rows import dict_row

    async with conn.cursor(row_factory=dict_row) as cursor:
        await cursor.execute(query, params)
        return await cursor.fetchall() if cursor.description else []
