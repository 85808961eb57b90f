"""Healthy twin: the api's connection pool keeps twelve connections to orders-db open at all
times (its minimum size), so that a request never waits for a connect. Between requests they sit
in pg_stat_activity as `idle` (autocommit: no transaction left open, no lock held), for hours at
night. orders-db allows 100 connections and has plenty of room; every query is fast. Someone new
on call sees them, thinks of a connection leak, and asks before killing them."""

from bench.diagnosis.faults_heldout4 import pool_sessions, shop_schema
from bench.diagnosis.scenario import Scenario


def make(env):  # type: ignore[no-untyped-def]
    server = env.own_postgres("orders-db", max_connections=100)
    shop_schema(server)
    env.targets["orders-db"]["url"] = server.dsn_without_password.rsplit("/", 1)[0] + "/shop"
    pool_sessions(env, server, count=12, app="shop-api")


SCENARIO = Scenario(
    symptom=(
        "quick sanity check before I do something dumb: orders-db has a dozen connections from "
        "shop-api that just sit there as `idle` in pg_stat_activity and never go away, even at "
        "4am with zero traffic. is the api leaking connections? should I kill them before they "
        "use up all the slots?"
    ),
    style="question",
    kind="postgres",
    expected=(
        "nothing is wrong: those are the api pool's idle connections (its minimum size), with "
        "no transaction open, 12 of 100 slots; killing them only makes the pool reconnect"
    ),
    about="orders-db",
    make=make,
)
