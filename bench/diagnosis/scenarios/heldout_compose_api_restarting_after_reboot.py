"""Last night's kernel patching rebooted the shop's compose host. The `db` service (PostgreSQL,
orders-db) has no restart policy: it shut down cleanly with the host and never came back, so
nothing listens on the database port. The api (restart: always) comes back, cannot connect to
the database at start, exits, and restarts in a loop. The operator only sees the api."""

from bench.diagnosis import faults_aws_compose as f
from bench.diagnosis.scenario import Scenario

DB_SCRIPT = """
cat <<LOG
2026-12-09 02:14:07.512 UTC [1] LOG:  starting PostgreSQL 16.4 on x86_64-pc-linux-musl
2026-12-09 02:14:07.513 UTC [1] LOG:  listening on IPv4 address "0.0.0.0", port 5432
2026-12-09 02:14:07.531 UTC [1] LOG:  database system is ready to accept connections
2026-12-09 03:02:41.118 UTC [1] LOG:  received fast shutdown request
2026-12-09 03:02:41.121 UTC [1] LOG:  aborting any active transactions
2026-12-09 03:02:41.140 UTC [1] LOG:  background worker "logical replication launcher" (PID 31) \
exited with exit code 1
2026-12-09 03:02:41.142 UTC [26] LOG:  shutting down
2026-12-09 03:02:41.199 UTC [26] LOG:  checkpoint starting: shutdown immediate
2026-12-09 03:02:41.288 UTC [26] LOG:  checkpoint complete: wrote 212 buffers (1.3%)
2026-12-09 03:02:41.301 UTC [1] LOG:  database system is shut down
LOG
exit 0
"""

API_SCRIPT = """
echo "$(date -u '+%F %T'),201 INFO  shop.api: starting shop-api 2.8.1 on :8000"
echo "$(date -u '+%F %T'),233 INFO  shop.db: connecting to $DB_HOST:$DB_PORT/shop"
echo "$(date -u '+%F %T'),240 CRITICAL shop.api: cannot start without the database"
echo "psycopg.OperationalError: connection failed: connection to server at \\"$DB_HOST\\", \
port $DB_PORT failed: Connection refused"
echo "	Is the server running on that host and accepting TCP/IP connections?"
exit 1
"""


def make(env):  # type: ignore[no-untyped-def]
    url = env.dead_address("orders-db", "postgres", "postgresql")
    host, port = env.values["orders-db_address"].rsplit(":", 1)
    db = env.container(
        "db",
        DB_SCRIPT,
        env={
            "POSTGRES_DB": "shop",
            "POSTGRES_USER": "shop",
            "PGDATA": "/var/lib/postgresql/data/pgdata",
            "PGPORT": port,
        },
    )
    f.until(lambda: f.state(db)["Status"] == "exited", what="db exited")
    api = env.container(
        "api",
        API_SCRIPT,
        env={
            "DATABASE_URL": url.rstrip("/") + "/shop",
            "DB_HOST": host,
            "DB_PORT": port,
            "REDIS_URL": env.targets["cache"]["url"],
            "API_PORT": "8000",
        },
        restart=True,
    )
    f.restarted(api, 3)


SCENARIO = Scenario(
    symptom=(
        "since last night's patching reboot the shop api on the compose box won't stay up, "
        "`docker ps` keeps showing it as Restarting (1). can someone look?"
    ),
    style="vague",
    kind="postgres",
    cascade=True,
    expected=(
        "the db container (PostgreSQL, orders-db) did not come back after the reboot (exited, no "
        "restart policy): nothing listens on the database port, so the api cannot connect at "
        "start and crash-loops (the database is the root cause)"
    ),
    accept=(
        ("db-cannot-connect", "database-container-stopped"),
        ("db-cannot-connect", "server-down"),
        ("compose-services-wont-start", "infrastructure-postgres-down"),
        ("env-health", "database-down"),
        ("app-server-errors", "database-unavailable"),
        ("app-error-codes", "e001-database-connection-failed"),
        ("host-full-system-recovery", "database-down"),
    ),
    about="db",
    make=make,
)
