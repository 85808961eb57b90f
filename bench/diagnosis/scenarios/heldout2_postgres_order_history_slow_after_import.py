"""Last night the team imported the old shop's order history into orders-db: a script bulk-loaded
1.3 million rows into a new `order_lines` table (about 200 MB) and was meant to be followed by
the migration that adds its indexes, which nobody ran. The storefront's "my orders" page reads
order_lines by order_id on every visit, so every visit is a sequential scan of the whole table:
the page takes seconds, while the health endpoint and the rest of the site stay fast. The
operator relays what customers and support say."""

from bench.diagnosis.faults_heldout2 import (
    MIB,
    imported_without_index,
    shop_database,
    storefront_reads,
)
from bench.diagnosis.faults_stores import own_http
from bench.diagnosis.scenario import Scenario
from tests.servers.http import Route

ORDER_LINES = (
    "SELECT line_no, sku, quantity, unit_price, description FROM order_lines "
    "WHERE order_id = %s ORDER BY line_no"
)
ORDERS_PAGE = (
    "<!doctype html><html><head><title>My orders | Shop</title></head><body><h1>My orders</h1>"
    "<ol><li>#118204, 3 items</li><li>#117933, 1 item</li></ol></body></html>"
)


def make(env):  # type: ignore[no-untyped-def]
    server = env.own_postgres("orders-db", max_connections=40)
    shop_database(env, server)
    imported_without_index(server, rows=1_300_000, min_bytes=150 * MIB)
    own_http(
        env,
        {
            "/health": Route(200, '{"status": "ok", "db": "ok", "cache": "ok"}'),
            "/": Route(200, "<!doctype html><html><body>Shop</body></html>", delay=0.08),
            "/account/orders": Route(200, ORDERS_PAGE, delay=2.6),
        },
    )
    storefront_reads(env, server, ORDER_LINES)


SCENARIO = Scenario(
    symptom=(
        "since last night's import of the old shop's order history, the 'my orders' page on "
        "the storefront takes 6-8 seconds to open and sometimes times out. the rest of the "
        "site feels normal"
    ),
    style="vague",
    kind="postgres",
    cascade=True,
    expected=(
        "orders-db's imported order_lines table (about 200 MB, 1.3 M rows) has no index: every "
        "'my orders' request reads it by sequential scan (a missing index on order_id)"
    ),
    accept=(
        ("db-slow-queries", "missing-index"),
        ("app-slow-responses", "slow-statements"),
    ),
    about="orders-db",
    make=make,
)
