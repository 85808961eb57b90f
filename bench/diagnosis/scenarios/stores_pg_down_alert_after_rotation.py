"""The database password was rotated on the server; the secret the exporter, the apps and the
inventory read still holds the old one. The exporter's alert fires."""

from bench.diagnosis.faults_stores import rotate_password
from bench.diagnosis.scenario import Scenario


def make(env):  # type: ignore[no-untyped-def]
    server = env.own_postgres("orders-db")
    server.execute("CREATE DATABASE shop")
    env.targets["orders-db"]["url"] = server.dsn_without_password.replace("/postgres", "/shop")
    rotate_password(env, server, "rotated-2026-12-07-Qm4x")


SCENARIO = Scenario(
    symptom=(
        "[FIRING:1] PostgresqlDown (instance={orders-db_address} job=postgres-exporter "
        "severity=critical)\n"
        "summary: Postgresql down (instance {orders-db_address})\n"
        "description: Postgresql instance is down\n"
        "  VALUE = 0"
    ),
    style="alert",
    kind="postgres",
    expected=(
        "orders-db is up but refuses the password (it was rotated on the server, the secret "
        "still holds the old one): password authentication failed"
    ),
    accept=(("db-cannot-connect", "wrong-credentials"),),
    about="orders-db",
    make=make,
)
