"""The invoicing release went out before its migration: the shop database has no `invoices`
table (schema_migrations stops before the migration that creates it)."""

from bench.diagnosis.faults_stores import migrations_at
from bench.diagnosis.scenario import Scenario

QUERY = "SELECT id, customer_id, total FROM invoices WHERE period = $1"


def make(env):  # type: ignore[no-untyped-def]
    migrations_at(env, ["20261002101500", "20261019083000", "20261104120000"])


SCENARIO = Scenario(
    symptom=(
        "[2026-12-07 09:14:03,221] ERROR invoicing.jobs.monthly: monthly invoice run failed\n"
        "Traceback (most recent call last):\n"
        '  File "/app/invoicing/jobs/monthly.py", line 57, in run\n'
        "    cur.execute(SELECT_DUE, (period,))\n"
        '  File "/usr/local/lib/python3.12/site-packages/psycopg/cursor.py", line 97, in '
        "execute\n"
        "    raise ex.with_traceback(None)\n"
        'psycopg.errors.UndefinedTable: relation "invoices" does not exist\n'
        f"LINE 1: {QUERY}\n" + " " * (len("LINE 1: ") + QUERY.index("invoices")) + "^"
    ),
    style="paste",
    kind="postgres",
    expected=(
        "the invoices table does not exist in orders-db's shop database: the migration that "
        "creates it has not run"
    ),
    accept=(
        ("db-missing-relation", "migrations-not-run"),
        ("app-server-errors", "migrations-missing"),
    ),
    about="orders-db",
    make=make,
)
