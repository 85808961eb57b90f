"""An engineer's psql session updated an order and never committed: its transaction holds the
row lock, and the order service's updates of that row wait behind it."""

from bench.diagnosis.faults_stores import idle_pool, row_lock_held
from bench.diagnosis.scenario import Scenario


def make(env):  # type: ignore[no-untyped-def]
    idle_pool(env, 4, "order-service")  # the service's pool, idle between requests
    row_lock_held(env, holder_app="psql", waiter_app="order-service", waiters=3)


SCENARIO = Scenario(
    symptom="since about 14:00 order status updates hang and never finish, the admin page spins",
    style="vague",
    kind="postgres",
    expected=(
        "a transaction left open on orders-db (a psql session, idle in transaction) holds a "
        "row lock on orders; the order service's UPDATEs wait for it"
    ),
    accept=(
        ("db-slow-queries", "lock-contention"),
        ("db-connection-pool-exhausted", "idle-in-transaction-leak"),
    ),
    about="orders-db",
    make=make,
)
