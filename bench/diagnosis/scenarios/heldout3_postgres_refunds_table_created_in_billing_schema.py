"""Yesterday the team moved its migrations to a new tool, whose config for the shop database
names `schema: billing` (copied from the billing service's repository). The first migration it
ran, the one for this week's refunds feature, created `refunds` in a new schema `billing` of
orders-db instead of in `public`. The api connects with the default search_path ("$user",
public), so every refund request fails: relation "refunds" does not exist. The table is there,
with the right columns, one schema away; the rest of the api works. The operator pastes the
compose api's log."""

from bench.diagnosis import faults_aws_compose as f
from bench.diagnosis.faults_heldout3 import client_error
from bench.diagnosis.scenario import Scenario

INSERT = (
    "INSERT INTO refunds (order_id, amount, reason, requested_by) VALUES (118204, 42.90, "
    "'damaged', 'support') RETURNING id"
)

API = """
at() {{ date -u -d "@$(( $(date +%s) - $1 ))" '+%F %T'; }}
echo "$(at 5400),104 INFO  shop.api: starting shop-api 1.9.0 (workers=4)"
echo "$(at 5400),388 INFO  shop.api.db: connected to orders-db (pool 10)"
echo "$(at 5399),002 INFO  uvicorn: Uvicorn running on http://0.0.0.0:8000"
echo "$(at 240),551 INFO  uvicorn.access: 10.0.4.17 - \\"GET /orders/118204 HTTP/1.1\\" 200"
echo "$(at 96),212 ERROR shop.api.refunds: refund for order 118204 failed"
echo "Traceback (most recent call last):"
echo '  File "/app/shop/api/refunds.py", line 57, in create_refund'
echo '    row = await conn.execute(INSERT_REFUND, params)'
echo '  File "/usr/local/lib/python3.12/site-packages/psycopg/cursor_async.py", line 97, in execute'
echo '    raise ex.with_traceback(None)'
cat /etc/shop/refund-error
echo "$(at 96),230 INFO  uvicorn.access: 10.0.4.17 - \\"POST /orders/118204/refunds HTTP/1.1\\" 500"
echo "$(at 31),877 INFO  uvicorn.access: 10.0.4.22 - \\"GET /health HTTP/1.1\\" 200"
sleep 86400
"""


def make(env):  # type: ignore[no-untyped-def]
    server = env.world.postgres()
    with server.connect(dbname="shop") as conn:
        conn.execute(
            "CREATE SCHEMA billing;"
            "CREATE TABLE billing.refunds (id serial PRIMARY KEY, order_id int NOT NULL "
            "REFERENCES public.orders, amount numeric(10, 2) NOT NULL, reason text NOT NULL, "
            "requested_by text NOT NULL, created_at timestamptz DEFAULT now());"
            "CREATE TABLE billing.schema_version (version text PRIMARY KEY, applied_at "
            "timestamptz DEFAULT now());"
            "INSERT INTO billing.schema_version (version) VALUES ('20261206_create_refunds')"
        )

    def drop() -> None:
        with server.connect(dbname="shop") as conn:
            conn.execute("DROP SCHEMA IF EXISTS billing CASCADE")

    env.later(drop)
    error = client_error(server, INSERT)
    if 'relation "refunds" does not exist' not in error:
        raise AssertionError(error)
    errors = env.folder / "refund-error"
    errors.write_text(error + "\n")
    api = env.container(
        "api",
        API.format(),
        env={"DATABASE_URL": env.targets["orders-db"]["url"], "REDIS_URL": "redis://cache:6379/0"},
        volumes={str(errors): {"bind": "/etc/shop/refund-error", "mode": "ro"}},
    )
    f.until(lambda: b"POST /orders/118204/refunds" in api.logs(), what="api logged the refund")
    lines = api.logs().decode().splitlines()
    first = next(i for i, line in enumerate(lines) if "refund for order" in line)
    last = next(i for i, line in enumerate(lines) if "POST /orders/118204/refunds" in line)
    env.values["api_log"] = "\n".join(f"api-1  | {line}" for line in lines[first : last + 1])


SCENARIO = Scenario(
    symptom=(
        "refunds are broken since yesterday's release, support can't refund anyone. "
        "rest of the api is fine. from docker compose logs api:\n"
        "{api_log}"
    ),
    style="paste",
    kind="postgres",
    cascade=True,
    expected=(
        "the refunds table exists in orders-db, but in schema `billing` (where the new migration "
        "tool created it), which is not on the api's search_path: the table is in the wrong "
        "schema"
    ),
    accept=(("db-missing-relation", "wrong-schema"),),
    about="orders-db",
    make=make,
)
