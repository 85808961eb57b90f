"""Faults on the shop's stores and endpoints (Redis, PostgreSQL, RabbitMQ, HTTP), each undone
after its scenario: the helpers of the `stores_*` scenarios, every one taking the `ScenarioEnv`.

They break real servers the way production breaks: connections held until Redis or PostgreSQL
refuse more, a transaction left open holding a row lock, a replica cut off from its primary, a
password rotated under the clients, messages published where nothing consumes, a broker alarm,
an endpoint answering an error, slowly, or with an expired certificate.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.diagnosis.world import MQ_PASSWORD, ScenarioEnv
from tests.servers.process import free_port

# -- HTTP -----------------------------------------------------------------------------------------


def own_http(
    env: ScenarioEnv,
    routes: Mapping[str, Any],
    *,
    name: str = "storefront",
    path: str = "/health",
    tls: Any = None,
    options: Mapping[str, Any] | None = None,
) -> Any:
    """Target `name` becomes an HTTP server of the scenario's own answering `routes`."""
    from tests.servers.http import serve_http

    stack = contextlib.ExitStack()
    server = stack.enter_context(serve_http(routes, tls=tls))
    env.later(stack.close)
    env.targets[name] = {"kind": "http", "name": name, "url": server.url(path)}
    if options:
        env.targets[name]["options"] = dict(options)
    env.values[f"{name}_port"] = server.port
    env.values[f"{name}_url"] = server.url(path)
    return server


def expired_certificate(env: ScenarioEnv, days_ago: int = 3) -> Any:
    """A certificate for 127.0.0.1 and localhost that expired `days_ago` days ago."""
    from tests.servers.http import make_certificate

    now = datetime.now(UTC)
    return make_certificate(
        env.folder / "expired-cert",
        not_before=now - timedelta(days=365 + days_ago),
        not_after=now - timedelta(days=days_ago),
    )


def unreachable_port(env: ScenarioEnv) -> int:
    """A port whose connects time out (packets dropped), until the scenario ends."""
    from tests.servers.http import full_backlog_port

    stack = contextlib.ExitStack()
    port: int = stack.enter_context(full_backlog_port())
    env.later(stack.close)
    return port


# -- Redis ----------------------------------------------------------------------------------------


def hold_redis_clients(env: ScenarioEnv, server: Any, maxclients: int, name: str) -> list[Any]:
    """`maxclients` set low, then connections opened (named `name`) until Redis refuses more;
    they stay open until the scenario ends."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    server.client().config_set("maxclients", maxclients)
    held: list[Any] = []

    def release() -> None:
        for client in held:
            with contextlib.suppress(Exception):
                client.close()

    env.later(release)
    for _ in range(maxclients + 5):
        try:  # a single-connection client connects as it is made
            client = redis.Redis(
                host=server.host,
                port=server.port,
                single_connection_client=True,
                socket_timeout=5,
                retry=Retry(NoBackoff(), 0),
            )
            client.client_setname(name)
        except redis.exceptions.ConnectionError as error:
            if "max number of clients" in str(error):
                return held
            raise
        held.append(client)
    raise AssertionError(f"redis {server.address} accepted {len(held)} clients")


def replica_cut_off(env: ScenarioEnv, primary: Any, replica: Any, password: str) -> None:
    """`replica` follows `primary`, syncs, then loses its link: the primary starts requiring
    `password` (the replica has no masterauth) and drops its replica connection."""
    primary.client().config_set("repl-diskless-sync-delay", 0)  # sync now, not in 5 s
    link = replica.client()
    link.replicaof(primary.host, primary.port)
    deadline = time.monotonic() + 10
    while link.info("replication").get("master_link_status") != "up":
        if time.monotonic() > deadline:
            raise AssertionError("the replica never synced")
        time.sleep(0.05)
    primary.require_password(password)
    primary.client().execute_command("CLIENT", "KILL", "TYPE", "replica")
    deadline = time.monotonic() + 10
    while link.info("replication").get("master_link_status") != "down":
        if time.monotonic() > deadline:
            raise AssertionError("the replica link stayed up")
        time.sleep(0.05)


# -- PostgreSQL -----------------------------------------------------------------------------------


def shop_connect(env: ScenarioEnv, **options: Any) -> Any:
    """A session on the baseline's `shop` database (orders-db), closed after the scenario."""
    import psycopg

    server = env.world.postgres()
    options.setdefault("connect_timeout", 5)
    conn = psycopg.connect(server.dsn_with_password(server.password, dbname="shop"), **options)
    env.later(_close_quietly, conn)
    return conn


def _close_quietly(conn: Any) -> None:
    with contextlib.suppress(Exception):
        conn.close()


def row_lock_held(env: ScenarioEnv, *, holder_app: str, waiter_app: str, waiters: int) -> None:
    """A transaction left open on `orders` row 42 (an UPDATE, never committed), and `waiters`
    sessions whose UPDATE of that row waits for it; all of it ended after the scenario."""
    holder = shop_connect(env, autocommit=False, application_name=holder_app)
    holder.execute("UPDATE orders SET total = total WHERE id = 42")

    threads: list[threading.Thread] = []

    def wait_for_row() -> None:
        with contextlib.suppress(Exception):
            conn = shop_connect(env, autocommit=True, application_name=waiter_app)
            conn.execute("SET statement_timeout = '120s'")
            conn.execute("UPDATE orders SET created_at = created_at WHERE id = 42")

    def release() -> None:
        with contextlib.suppress(Exception):
            holder.rollback()
        for thread in threads:
            thread.join(timeout=10)

    env.later(release)
    for _ in range(waiters):
        thread = threading.Thread(target=wait_for_row, daemon=True)
        thread.start()
        threads.append(thread)
    server = env.world.postgres()
    deadline = time.monotonic() + 10
    query = (
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
        "AND application_name = %s"
    )
    while server.execute(query, (waiter_app,))[0][0] < waiters:
        if time.monotonic() > deadline:
            raise AssertionError("the waiting sessions never blocked")
        time.sleep(0.05)


def rotate_password(env: ScenarioEnv, server: Any, new_password: str) -> None:
    """The server's password changes; the inventory's secret keeps the old one."""
    from psycopg import sql

    del env  # the inventory and its secret stay as they are: that is the fault
    server.execute(sql.SQL("ALTER ROLE postgres PASSWORD {}").format(sql.Literal(new_password)))
    server.password = new_password  # the bench's own handle (and its undo) follow the server


def idle_pool(env: ScenarioEnv, count: int, app: str) -> None:
    """`count` idle sessions of an application's pool on the shop database."""
    for _ in range(count):
        conn = shop_connect(env, autocommit=True, application_name=app)
        conn.execute("SELECT count(*) FROM orders")


def migrations_at(env: ScenarioEnv, versions: list[str]) -> None:
    """The shop database's `schema_migrations` lists `versions` (dropped after the scenario)."""
    server = env.world.postgres()
    with server.connect(dbname="shop") as conn:
        conn.execute("CREATE TABLE schema_migrations (version text PRIMARY KEY)")
        for version in versions:
            conn.execute("INSERT INTO schema_migrations VALUES (%s)", (version,))

    def drop() -> None:
        with server.connect(dbname="shop") as conn:
            conn.execute("DROP TABLE IF EXISTS schema_migrations")

    env.later(drop)


# -- RabbitMQ -------------------------------------------------------------------------------------


def backlog(env: ScenarioEnv, queue: str, count: int) -> None:
    """`count` messages published to a new `queue` nobody consumes (deleted after)."""
    broker = env.world.rabbitmq()
    broker.publish(queue, count, body=b'{"invoice": 1}')
    env.later(broker.delete_queue, queue)


def slow_consumer(
    env: ScenarioEnv, queue: str, *, backlog_size: int, per_message: float, publish_every: float
) -> None:
    """A queue with a consumer that handles one message per `per_message` seconds while a
    publisher adds one every `publish_every` seconds: connected, and falling behind."""
    broker = env.world.rabbitmq()
    broker.publish(queue, backlog_size, body=b'{"shipment": 1}')
    stop = threading.Event()

    def consume() -> None:
        connection = broker.connect()
        channel = connection.channel()
        channel.basic_qos(prefetch_count=1)

        def handle(ch: Any, method: Any, properties: Any, body: bytes) -> None:
            del properties, body
            connection.sleep(per_message)
            ch.basic_ack(method.delivery_tag)

        channel.basic_consume(queue, handle)
        while not stop.is_set():
            connection.process_data_events(time_limit=0.1)
        with contextlib.suppress(Exception):
            connection.close()

    def produce() -> None:
        connection = broker.connect()
        channel = connection.channel()
        while not stop.is_set():
            channel.basic_publish(exchange="", routing_key=queue, body=b'{"shipment": 2}')
            connection.sleep(publish_every)
        with contextlib.suppress(Exception):
            connection.close()

    threads = [threading.Thread(target=run, daemon=True) for run in (consume, produce)]

    def end() -> None:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
        with contextlib.suppress(Exception):
            broker.delete_queue(queue)

    env.later(end)
    for thread in threads:
        thread.start()
    time.sleep(1.0)  # the consumer attached, the publisher going


def memory_alarm(env: ScenarioEnv, publisher_queue: str = "") -> None:
    """The shared broker's memory high watermark set below what it uses: the memory alarm
    goes off and publishers are blocked; with `publisher_queue`, a publisher's connection sends
    one message there and is blocked. After: the default watermark (0.4), then the publisher
    closed (a blocked connection cannot close until the alarm clears)."""
    broker = env.world.rabbitmq()
    broker.rabbitmqctl("set_vm_memory_high_watermark", "0.0001")
    connection = None

    def undo() -> None:
        broker.rabbitmqctl("set_vm_memory_high_watermark", "0.4")
        _wait_for_alarm(broker, raised=False)
        if connection is not None:
            _close_quietly(connection)

    env.later(undo)
    _wait_for_alarm(broker, raised=True)
    if publisher_queue:
        connection = broker.connect()
        channel = connection.channel()
        channel.basic_publish(exchange="", routing_key=publisher_queue, body=b'{"order": 1}')
        connection.process_data_events(time_limit=0.5)


def _wait_for_alarm(broker: Any, *, raised: bool) -> None:
    deadline = time.monotonic() + 15
    while True:
        nodes = broker.api("GET", "/api/nodes").json()
        if all(bool(node.get("mem_alarm")) == raised for node in nodes):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"memory alarm never {'raised' if raised else 'cleared'}")
        time.sleep(0.2)


def dead_broker(env: ScenarioEnv, name: str = "broker") -> str:
    """Target `name` (the same user and password) points at an AMQP port and a management port
    where nothing listens any more: the broker is down."""
    user = env.world.rabbitmq().user
    env.dead_address(name, "rabbitmq", "amqp")
    port = env.values[f"{name}_port"]
    url = f"amqp://{user}@127.0.0.1:{port}/%2F"
    env.targets[name]["url"] = url
    env.targets[name]["password"] = {"env": MQ_PASSWORD}
    env.targets[name]["options"] = {"management_url": f"http://127.0.0.1:{free_port()}"}
    return url


def burst(env: ScenarioEnv, queue: str, count: int) -> None:
    """`count` messages published to `queue` (which has a consumer), then drained by it."""
    broker = env.world.rabbitmq()
    with contextlib.closing(broker.connect()) as connection:
        channel = connection.channel()
        for _ in range(count):
            channel.basic_publish(exchange="", routing_key=queue, body=b'{"to": "c1@shop.test"}')
        deadline = time.monotonic() + 15
        while channel.queue_declare(queue=queue, passive=True).method.message_count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{queue} was not drained")
            connection.sleep(0.1)
