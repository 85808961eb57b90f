"""The cache Redis became unreachable (connections time out: packets dropped); the storefront
waits on it for every request and its health check times out. Only the probe's alert is given."""

from bench.diagnosis.faults_stores import own_http, unreachable_port
from bench.diagnosis.scenario import Scenario
from tests.servers.http import Route


def make(env):  # type: ignore[no-untyped-def]
    port = unreachable_port(env)
    env.targets["cache"] = {"kind": "redis", "name": "cache", "url": f"redis://127.0.0.1:{port}/0"}
    body = '{"status": "error", "checks": {"cache": "Timeout connecting to server"}}'
    own_http(env, {"/health": Route(503, body, delay=10)})


SCENARIO = Scenario(
    symptom=("[Synthetics] storefront /health: HTTP check timed out after 10s from 3/3 locations"),
    style="alert",
    kind="redis",
    cascade=True,
    expected=(
        "the cache Redis is unreachable (connections time out), and the storefront hangs "
        "waiting for it"
    ),
    accept=(
        ("redis-connection-errors", "redis-unreachable"),
        ("env-health", "redis-down"),
        ("app-server-errors", "redis-unavailable"),
        ("app-slow-responses", "cache-not-working"),
        ("app-error-codes", "e002-redis-connection-failed"),
    ),
    about="cache",
    make=make,
)
