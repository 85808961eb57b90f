"""Carts are read from a replica whose link to the primary broke (the primary started requiring
a password the replica was not given); writes go on at the primary, reads stay old."""

from bench.diagnosis.faults_stores import replica_cut_off
from bench.diagnosis.scenario import Scenario

PASSWORD_ENV = "BENCH_CACHE_PRIMARY_PASSWORD"
PASSWORD = "cache-primary-hardened-2026"


def make(env):  # type: ignore[no-untyped-def]
    primary = env.own_redis("cache")
    replica = env.own_redis("cache-replica")
    writer = primary.client()
    for index in range(40):
        writer.set(f"cart:{5100 + index}", '{"items": [11, 12, 13]}', ex=86400)
    replica_cut_off(env, primary, replica, PASSWORD)
    env.targets["cache"]["password"] = {"env": PASSWORD_ENV}
    env.shell[PASSWORD_ENV] = PASSWORD
    writer = primary.client()  # authenticated now
    for index in range(0, 40, 2):  # customers remove items: the primary has it, not the replica
        writer.set(f"cart:{5100 + index}", '{"items": [11]}', ex=86400)


SCENARIO = Scenario(
    symptom=(
        "customers say items they removed from their cart come back after a page reload, "
        "started this morning"
    ),
    style="vague",
    kind="redis",
    expected=(
        "the cache-replica Redis that carts are read from has lost its link to the primary "
        "(master_link_status down), so it serves stale carts"
    ),
    accept=(("redis-cache-inconsistency", "replica-link-down"),),
    about="cache-replica",
    make=make,
)
