"""Healthy twin: `cache` is the storefront's page cache, and runs as a cache should: a memory
limit and the allkeys-lru policy, so that once full it makes room for new pages by evicting the
ones nobody looked at for longest. It filled up this morning (the catalogue grew) and has been
evicting since, as designed: every write is accepted, the pages customers are looking at are
there, clients connect. A memory alert written for the time when the same Redis also held the
sessions (and had to be kept well below its limit) still fires at 90 %. The operator, new on
call, forwards the alert and asks whether to act."""

from bench.diagnosis.faults_heldout3 import cache_at_its_limit
from bench.diagnosis.scenario import Scenario


def make(env):  # type: ignore[no-untyped-def]
    server = env.own_redis("cache")
    cache_at_its_limit(server, maxmemory="8mb", evicted=500)


SCENARIO = Scenario(
    symptom=(
        "[FIRING:1] RedisMemoryHigh (instance=cache, severity=warning)\n"
        "Redis memory usage is above 90% of its limit for more than 10 minutes (current: 98%)\n"
        "evicted keys are climbing too. do I need to do something about this before it falls "
        "over?"
    ),
    style="alert",
    kind="redis",
    expected=(
        "nothing is broken: the page cache is at its memory limit and evicts least recently "
        "used pages (allkeys-lru), as a cache is meant to; writes succeed and clients connect"
    ),
    about="cache",
    make=make,
)
