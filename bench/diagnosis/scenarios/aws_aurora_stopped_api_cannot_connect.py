"""The Aurora cluster shop-prod-db was stopped (to save money over the weekend, and nobody
started it again): the API's tasks run but cannot connect to it. The operator pastes the API's
CloudWatch log, which names the cluster's endpoint."""

from bench.diagnosis import faults_aws_compose as f
from bench.diagnosis.scenario import Scenario

DB = "shop-prod-db"


def error_lines(endpoint: str, minutes_ago: float) -> list[str]:
    return [
        f"{f.log_time(minutes_ago)} ERROR [shop.db] could not get a connection for "
        "GET /v1/orders/88412",
        "Traceback (most recent call last):",
        '  File "/app/shop/db.py", line 27, in connect',
        "    return psycopg.connect(settings.DATABASE_URL, connect_timeout=5)",
        '  File "/usr/local/lib/python3.12/site-packages/psycopg/connection.py", line 119, '
        "in connect",
        "    raise last_ex.with_traceback(None)",
        f'psycopg.OperationalError: connection failed: connection to server at "{endpoint}" '
        "(10.0.3.41), port 5432 failed: Connection refused",
        "\tIs the server running on that host and accepting TCP/IP connections?",
    ]


def make(env):  # type: ignore[no-untyped-def]
    stack = f.ecs_service(env)
    f.secret_readable(stack)
    endpoint = f.aurora_cluster(stack, DB, stopped=True)
    for index, arn in enumerate(stack.running):
        f.api_logs(stack, arn, error_lines(endpoint, 0.5 + index), minutes_ago=0.5 + index)
    # The inventory's database target: the cluster's writer, through the bastion's tunnel
    # (nothing answers there while the cluster is stopped).
    env.dead_address(DB, "postgres", "postgresql")
    env.values["endpoint"] = endpoint
    env.values["at"] = f.log_time(0.5)


SCENARIO = Scenario(
    symptom=(
        "{at} ERROR [shop.db] could not get a connection for GET /v1/orders/88412\n"
        "Traceback (most recent call last):\n"
        '  File "/app/shop/db.py", line 27, in connect\n'
        "    return psycopg.connect(settings.DATABASE_URL, connect_timeout=5)\n"
        '  File "/usr/local/lib/python3.12/site-packages/psycopg/connection.py", line 119, in '
        "connect\n"
        "    raise last_ex.with_traceback(None)\n"
        'psycopg.OperationalError: connection failed: connection to server at "{endpoint}" '
        "(10.0.3.41), port 5432 failed: Connection refused\n"
        "\tIs the server running on that host and accepting TCP/IP connections?"
    ),
    style="paste",
    kind="postgres",
    cascade=True,
    expected=(
        "the Aurora cluster shop-prod-db is stopped: shop-prod-api cannot connect to its writer "
        "endpoint (the database is the root cause, not the API)"
    ),
    accept=(
        ("db-cannot-connect", "aurora-stopped"),
        ("db-cannot-connect", "server-down"),
        ("env-health", "database-down"),
        ("app-server-errors", "database-unavailable"),
        ("app-error-codes", "e001-database-connection-failed"),
    ),
    about=DB,
    make=make,
)
