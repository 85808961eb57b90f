"""Faults the second set of held-out scenarios (`scenarios/heldout2_*`) needs and the other
helpers do not make, each undone after its scenario: a large table imported without its index
and read by sequential scans, the error a client really gets from a server, and a published port
that reaches nothing inside its container.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from bench.diagnosis.world import ScenarioEnv

MIB = 1024 * 1024


def _until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not reached in {timeout:.0f} s: {what}")
        time.sleep(0.1)


# -- PostgreSQL -----------------------------------------------------------------------------------


def shop_database(env: ScenarioEnv, server: Any, name: str = "orders-db") -> None:
    """`server` (a scenario's own PostgreSQL) holds the shop's database as the baseline's does
    (customers, orders), and target `name` names that database."""
    server.execute("CREATE DATABASE shop")
    with server.connect(dbname="shop") as conn:
        conn.execute(
            "CREATE TABLE customers (id serial PRIMARY KEY, email text NOT NULL);"
            "CREATE TABLE orders (id serial PRIMARY KEY, customer_id int REFERENCES "
            "customers, total numeric NOT NULL, created_at timestamptz DEFAULT now());"
            "INSERT INTO customers (email) SELECT 'c' || n || '@shop.test' "
            "FROM generate_series(1, 5000) n;"
            "INSERT INTO orders (customer_id, total) SELECT 1 + n % 5000, n % 400 "
            "FROM generate_series(1, 220000) n;"
        )
    env.targets[name]["url"] = server.dsn_without_password.rsplit("/", 1)[0] + "/shop"


def imported_without_index(server: Any, *, rows: int, min_bytes: int) -> int:
    """An `order_lines` table bulk-loaded into the shop database as a legacy import does it:
    the rows, and no index at all (the migration that adds them was never run). Returns its size
    in bytes, which must reach `min_bytes`."""
    with server.connect(dbname="shop") as conn:
        conn.execute(
            "CREATE TABLE order_lines (order_id int NOT NULL, line_no int NOT NULL, "
            "sku text NOT NULL, quantity int NOT NULL, unit_price numeric(10, 2) NOT NULL, "
            "description text)"
        )
        conn.execute(
            "INSERT INTO order_lines SELECT 1 + n / 6, n %% 6, 'SKU-' || lpad((n %% 9973)::text, "
            "6, '0'), 1 + n %% 3, (n %% 20000) / 100.0, 'legacy import: ' || md5(n::text) || "
            "' / ' || md5((n * 7)::text) FROM generate_series(1, %s) n",
            (rows,),
        )
        conn.execute("ANALYZE order_lines")
        row = conn.execute("SELECT pg_total_relation_size('order_lines')").fetchone()
    size = int(row[0]) if row else 0
    if size < min_bytes:
        raise AssertionError(f"order_lines is only {size / MIB:.0f} MiB")
    return size


def storefront_reads(
    env: ScenarioEnv, server: Any, query: str, *, pause: float = 1.0, scans: int = 5
) -> None:
    """A storefront's requests: `query` (one order id each time) run again and again on the
    shop database until the scenario ends; returns once `scans` sequential scans of
    order_lines are counted (PostgreSQL's statistics see them)."""
    import psycopg

    stop = threading.Event()

    def serve() -> None:
        with contextlib.suppress(psycopg.Error):
            conn = psycopg.connect(
                server.dsn_with_password(server.password, dbname="shop"),
                autocommit=True,
                application_name="storefront",
                connect_timeout=5,
            )
            with conn:
                order = 1000
                while not stop.is_set():
                    conn.execute(query, (order,)).fetchall()
                    order = order * 7 % 210_000 + 1
                    stop.wait(pause)

    thread = threading.Thread(target=serve, daemon=True)

    def end() -> None:
        stop.set()
        thread.join(timeout=30)

    env.later(end)
    thread.start()

    def scanned_in_shop() -> bool:
        with server.connect(dbname="shop") as conn:
            row = conn.execute(
                "SELECT seq_scan, coalesce(idx_scan, 0) FROM pg_stat_user_tables "
                "WHERE relname = 'order_lines'"
            ).fetchone()
        return row is not None and int(row[0]) >= scans and int(row[1]) == 0

    _until(scanned_in_shop, 120, f"{scans} sequential scans of order_lines counted")


# -- Redis ----------------------------------------------------------------------------------------


def redis_refusal(server: Any) -> str:
    """What a client without the password gets from `server` now (a RESP2 client, as most
    application libraries are): the error's text."""
    import redis

    client = redis.Redis(host=server.host, port=server.port, protocol=2, socket_timeout=5)
    try:
        client.ping()
    except redis.exceptions.AuthenticationError as error:
        return str(error)
    finally:
        client.close()
    raise AssertionError(f"redis {server.address} still answers without a password")


# -- RabbitMQ -------------------------------------------------------------------------------------


def vhost_gone(env: ScenarioEnv, vhost: str) -> str:
    """The shared broker has no virtual host `vhost` (it was deleted; any left by a run before
    goes too). Returns the error a client connecting to it gets, as pika words it."""
    import pika.exceptions

    broker = env.world.rabbitmq()
    if broker.api("GET", f"/api/vhosts/{vhost}").status_code == 200:
        broker.delete_vhost(vhost)
    _until(
        lambda: broker.api("GET", f"/api/vhosts/{vhost}").status_code == 404,
        15,
        f"vhost {vhost} gone",
    )
    try:
        broker.connect(vhost=vhost).close()
    except pika.exceptions.AMQPConnectionError as error:
        return f"{type(error).__module__}.{type(error).__name__}: {error}"
    raise AssertionError(f"the broker still opens vhost {vhost}")


# -- Compose --------------------------------------------------------------------------------------


def published_port_reaches_nothing(port: int) -> bool:
    """A connect to the host port succeeds (the engine's proxy holds it) but an HTTP request
    gets no answer at all: the proxy finds nothing listening behind it and drops the
    connection."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.settimeout(5)
            sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            return sock.recv(1024) == b""
    except ConnectionResetError:
        return True
    except OSError:
        return False
