"""The session cache (target cache, Redis) went down. checkout-api's readiness endpoint checks
Redis, so both pods run but answer their probe with 503, leave the Service's endpoints, and
customers get 503s. Redis is the cause; the operator only has the customers' complaint."""

from bench.diagnosis import faults_kube as f
from bench.diagnosis.scenario import Scenario

RS = "5f7c8d6b9"
PROBE = "Readiness probe failed: HTTP probe failed with statuscode: 503"


def log(address: str, client: str) -> str:
    refused = f"Error 111 connecting to {address}. Connection refused."
    return f"""\
2026-12-07 14:10:02,114 WARNING checkout.health: readiness failed: redis: {refused}
2026-12-07 14:10:02,115 INFO uvicorn.access: {client}:48812 - "GET /health/ready HTTP/1.1" 503
2026-12-07 14:10:04,551 ERROR checkout.api: POST /api/cart/items failed
Traceback (most recent call last):
  File "/app/checkout/api/cart.py", line 57, in add_item
    cart = await carts.load(session_id)
  File "/app/checkout/carts.py", line 22, in load
    raw = await self.redis.get(f"cart:{{session_id}}")
  File "/usr/local/lib/python3.12/site-packages/redis/asyncio/client.py", line 612, in \
execute_command
    conn = self.connection or await pool.get_connection(command_name, **options)
  File "/usr/local/lib/python3.12/site-packages/redis/asyncio/connection.py", line 294, in connect
    raise ConnectionError(self._error_message(e))
redis.exceptions.ConnectionError: {refused}
2026-12-07 14:10:12,117 WARNING checkout.health: readiness failed: redis: {refused}
2026-12-07 14:10:12,118 INFO uvicorn.access: {client}:48830 - "GET /health/ready HTTP/1.1" 503"""


def make(env):  # type: ignore[no-untyped-def]
    url = env.dead_address("cache", "redis", "redis")
    address = env.values["cache_address"]
    app = "checkout-api"
    container = f.app_container(
        app, "2.14.0", extra_env=[f.plain("REDIS_URL", url), f.plain("CART_TTL_SECONDS", "86400")]
    )
    pods = [
        f.app_pod(
            app,
            RS,
            suffix,
            container,
            [f.up(container, ready=False, since=260_000)],
            node=node,
            age_seconds=260_000,
        )
        for node, suffix in ((0, "bq7rx"), (1, "lz4nc"))
    ]
    env.kube_put(
        f.app_deployment(
            app,
            container,
            replicas=2,
            ready=0,
            status={"unavailableReplicas": 2},
            conditions=[
                f.condition(
                    "Available",
                    "False",
                    "MinimumReplicasUnavailable",
                    "Deployment does not have minimum availability.",
                    1300,
                ),
                f.condition(
                    "Progressing",
                    "True",
                    "NewReplicaSetAvailable",
                    f'ReplicaSet "{app}-{RS}" has successfully progressed.',
                    260_000,
                ),
            ],
        )
    )
    f.replace_pods(env, app, *pods)
    f.service_endpoints(env, app, [], f.ips_of(*pods))
    for pod in pods:
        name = pod["metadata"]["name"]
        f.metrics(env, name, "35m", "126Mi")
        f.put_events(env, f.pod_event(name, "Unhealthy", PROBE, count=131, seconds_ago=4))
        f.add_log(env, name, log(address, pod["status"]["hostIP"]))


SCENARIO = Scenario(
    symptom=("customers can't check out since about 14:10, the site shows a 503 on the cart page"),
    style="vague",
    kind="redis",
    cascade=True,
    expected=(
        "the cache Redis is down (connection refused): checkout-api's readiness check needs it, "
        "so its pods are not ready and checkout answers 503"
    ),
    accept=(
        ("redis-connection-errors", "redis-unreachable"),
        ("redis-connection-errors", "container-stopped"),
        ("env-health", "redis-down"),
        ("app-server-errors", "redis-unavailable"),
        ("app-error-codes", "e002-redis-connection-failed"),
        ("compose-services-wont-start", "infrastructure-redis-down"),
        ("app-slow-responses", "cache-not-working"),
        ("host-full-system-recovery", "redis-down"),
    ),
    about="cache",
    make=make,
)
