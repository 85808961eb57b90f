"""Last night's database maintenance was a planned failover: the replica was promoted to be the
new primary, and the old primary, rebuilt from it, rejoined as a streaming replica. The switch of
the application's database address to the new primary was the runbook's last step, and it was
skipped: checkout-api (Kubernetes, namespace shop) and the team's inventory still name the old
host, orders-db, which is now a hot standby. It accepts connections and answers every read
(browsing, search, order history), and refuses every write: each checkout fails with "cannot
execute INSERT in a read-only transaction". The operator pastes checkout-api's log."""

from datetime import UTC, datetime, timedelta

from bench.diagnosis import faults_kube as f
from bench.diagnosis.faults_heldout3 import client_error
from bench.diagnosis.faults_heldout4 import shop_schema, streaming_replica
from bench.diagnosis.scenario import Scenario

APP = "checkout-api"
INSERT = "INSERT INTO orders (customer_id, total) VALUES (42, 118.40) RETURNING id"


def log(refused: str) -> str:
    """checkout-api's last minutes: reads answered, every order refused."""
    now = datetime.now(UTC)

    def t(seconds_ago: float) -> str:
        at = now - timedelta(seconds=seconds_ago)
        return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"

    lines = [
        f"{t(212.4)} INFO  checkout.api: GET /cart/c1042 -> 200 (14 ms)",
        f"{t(188.0)} INFO  checkout.api: POST /checkout customer=c1042 items=3",
        f"{t(187.9)} ERROR checkout.orders: could not save order for customer c1042: {refused}",
        f"{t(187.9)} ERROR checkout.api: POST /checkout customer=c1042 -> 500",
        f"{t(131.7)} INFO  checkout.api: GET /orders/history/c0877 -> 200 (22 ms)",
        f"{t(96.2)} INFO  checkout.api: POST /checkout customer=c0877 items=1",
        f"{t(96.1)} ERROR checkout.orders: could not save order for customer c0877: {refused}",
        f"{t(96.1)} ERROR checkout.api: POST /checkout customer=c0877 -> 500",
    ]
    return "\n".join(lines)


def make(env):  # type: ignore[no-untyped-def]
    # The new primary (promoted last night; nobody's configuration names it yet).
    primary = env.world.new_postgres()
    env.later(primary.stop)
    shop_schema(primary)
    # The old primary, rebuilt as its replica: what orders-db's address reaches now.
    replica = streaming_replica(env, primary)
    variable = "BENCH_ORDERS_DB_OLD_PRIMARY_PASSWORD"
    env.shell[variable] = replica.password
    env.targets["orders-db"] = {
        "kind": "postgres",
        "name": "orders-db",
        "url": replica.dsn_without_password.rsplit("/", 1)[0] + "/shop",
        "password": {"env": variable},
    }
    refused = client_error(replica, INSERT)
    if "read-only transaction" not in refused:
        raise AssertionError(refused)
    if replica.execute("SELECT 1") != [(1,)]:
        raise AssertionError("the replica does not answer reads")
    container = f.app_container(
        APP,
        "2.14.1",
        extra_env=[
            f.plain("DATABASE_URL", f"postgresql://shop@{replica.address}/shop"),
            f.plain("REDIS_URL", "redis://cache.shop.svc:6379/1"),
        ],
    )
    pods = [
        f.app_pod(APP, "6f8b9d7c5", suffix, container, [f.up(container, since=4 * 86400)], node=n)
        for n, suffix in ((0, "r2k9m"), (1, "w7q4t"))
    ]
    env.kube_put(f.app_deployment(APP, container, replicas=2, ready=2))
    f.replace_pods(env, APP, *pods)
    f.service_endpoints(env, APP, f.ips_of(*pods))
    text = log(refused)
    for pod in pods:
        f.add_log(env, pod["metadata"]["name"], text)
    env.values["checkout_log"] = text


SCENARIO = Scenario(
    symptom=(
        "since the database maintenance last night every checkout fails with a 500. browsing, "
        "search and order history all work fine, nothing was deployed on our side. from "
        "checkout-api:\n"
        "$ kubectl logs -n shop deploy/checkout-api --since=5m | grep -v /health\n"
        "{checkout_log}"
    ),
    style="paste",
    kind="postgres",
    cascade=True,
    expected=(
        "orders-db, the database checkout-api writes to, is no longer the primary: after last "
        "night's failover it rejoined as a streaming replica (in recovery, read-only), so every "
        "INSERT is refused while reads work; the application still points at the old host"
    ),
    accept=(
        ("db-cannot-connect", "wrong-endpoint"),
        ("db-corruption", "running-in-recovery"),
    ),
    about="orders-db",
    make=make,
)
