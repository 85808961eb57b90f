"""A worker leaks Redis connections until the cache refuses new clients; the cart API's
traceback is pasted."""

from bench.diagnosis.faults_stores import hold_redis_clients
from bench.diagnosis.scenario import Scenario


def make(env):  # type: ignore[no-untyped-def]
    server = env.own_redis("cache")
    client = server.client()
    for index in range(30):
        client.set(f"cart:{8800 + index}", '{"items": [1, 2]}', ex=86400)
    client.close()
    hold_redis_clients(env, server, maxclients=40, name="invoice-worker")


SCENARIO = Scenario(
    symptom=(
        "2026-12-07 14:02:11,480 ERROR [cart.views] GET /cart/8812 failed\n"
        "Traceback (most recent call last):\n"
        '  File "/app/cart/views.py", line 41, in get_cart\n'
        '    raw = cache.get("cart:" + cart_id)\n'
        '  File "/usr/local/lib/python3.12/site-packages/redis/commands/core.py", line 1829, '
        "in get\n"
        '    return self.execute_command("GET", name, keys=[name])\n'
        '  File "/usr/local/lib/python3.12/site-packages/redis/client.py", line 545, in '
        "_send_command_parse_response\n"
        "    return self.parse_response(conn, command_name, **options)\n"
        '  File "/usr/local/lib/python3.12/site-packages/redis/client.py", line 584, in '
        "parse_response\n"
        "    response = connection.read_response()\n"
        '  File "/usr/local/lib/python3.12/site-packages/redis/connection.py", line 536, in '
        "read_response\n"
        "    raise response\n"
        "redis.exceptions.ConnectionError: max number of clients reached"
    ),
    style="paste",
    kind="redis",
    expected=(
        "the cache Redis is at maxclients (connections held open by a worker), so it refuses "
        "new connections"
    ),
    accept=(("redis-connection-errors", "maxclients-reached"),),
    about="cache",
    make=make,
)
