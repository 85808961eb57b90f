"""orders-db is out of connection slots (every one held by leaked sessions); the storefront's
health endpoint answers 500 with the driver's error. The operator only says checkout fails."""

from bench.diagnosis.faults_stores import own_http
from bench.diagnosis.scenario import Scenario
from tests.servers.http import Route


def make(env):  # type: ignore[no-untyped-def]
    server = env.own_postgres("orders-db", max_connections=12)
    server.exhaust_connections()
    host, port = server.address.split(":")
    body = (
        '{"status": "error", "checks": {"db": "connection failed: connection to server at '
        f'\\"{host}\\", port {port} failed: FATAL:  sorry, too many clients already", '
        '"cache": "ok"}}'
    )
    own_http(env, {"/health": Route(500, body, headers={"Content-Type": "application/json"})})


SCENARIO = Scenario(
    symptom="checkout is failing for everyone since 14:05, the storefront shows an error page",
    style="vague",
    kind="postgres",
    cascade=True,
    expected=(
        "orders-db has no free connection slot (too many clients), so the storefront's "
        "database calls fail with 500"
    ),
    accept=(
        ("db-connection-pool-exhausted", "limit-reached"),
        ("db-cannot-connect", "too-many-clients"),
        ("app-server-errors", "database-unavailable"),
        ("app-error-codes", "e001-database-connection-failed"),
        ("env-health", "database-down"),
    ),
    about="orders-db",
    make=make,
)
