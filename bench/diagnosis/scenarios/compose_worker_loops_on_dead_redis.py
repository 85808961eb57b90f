"""Redis went away; the compose worker that needs it restarts in a loop. The operator only
asks about the worker."""

from bench.diagnosis.scenario import Scenario

REDIS_DOWN = (
    "Redis is down: the worker crash-loops because the cache does not answer (the cache is the "
    "root cause)"
)


def make(env):  # type: ignore[no-untyped-def]
    url = env.dead_address("cache", "redis", "redis")
    address = env.values["cache_address"]
    env.container(
        "worker",
        f"echo 'worker starting'; echo 'Error: connect ECONNREFUSED {address}'; exit 1",
        env={"REDIS_URL": url, "QUEUE": "orders"},
        restart=True,
    )


SCENARIO = Scenario(
    symptom="what is wrong with the worker? it keeps restarting",
    style="question",
    kind="redis",
    cascade=True,
    expected=REDIS_DOWN,
    accept=(
        ("redis-connection-errors", "redis-unreachable"),
        ("redis-connection-errors", "container-stopped"),
        ("compose-services-wont-start", "infrastructure-redis-down"),
        ("env-health", "redis-down"),
        ("app-server-errors", "redis-unavailable"),
        ("app-error-codes", "e002-redis-connection-failed"),
    ),
    about="cache",
    make=make,
)
