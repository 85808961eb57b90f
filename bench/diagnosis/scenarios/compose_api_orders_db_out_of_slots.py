"""orders-db has every connection slot taken (a batch job's pool leaked them): the compose api
stays up but every request that needs the database fails. The operator hears 500s on orders."""

from bench.diagnosis.scenario import Scenario

SCRIPT = """
echo "$(date -u '+%F %T') INFO  shop.api: listening on :8000 (db pool 10)"
n=88400
while true; do
  n=$((n + 1))
  echo "$(date -u '+%F %T') ERROR shop.api.orders: GET /orders/$n -> 500"
  echo "psycopg.OperationalError: connection failed: connection to server at \\"127.0.0.1\\", \
port $DB_PORT failed: FATAL:  sorry, too many clients already"
  sleep 1
done
"""


def make(env):  # type: ignore[no-untyped-def]
    db = env.own_postgres("orders-db", max_connections=12)
    url = db.dsn_with_password(db.password)
    db.exhaust_connections()
    env.container(
        "api",
        SCRIPT,
        env={
            "DATABASE_URL": url,
            "DB_PORT": str(db.port),
            "REDIS_URL": env.targets["cache"]["url"],
            "API_PORT": "8000",
        },
        restart=True,
    )


SCENARIO = Scenario(
    symptom="every order page of the shop api answers 500 since about ten minutes ago",
    style="vague",
    kind="postgres",
    cascade=True,
    expected=(
        "orders-db (PostgreSQL) has no connection slot left (too many clients): the api cannot "
        "get a connection (the database is the root cause)"
    ),
    accept=(
        ("db-connection-pool-exhausted", "limit-reached"),
        ("db-cannot-connect", "too-many-clients"),
        ("env-health", "pools-or-memory-pressure"),
        ("app-server-errors", "database-unavailable"),
        ("app-error-codes", "e001-database-connection-failed"),
    ),
    about="orders-db",
    make=make,
)
