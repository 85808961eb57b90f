"""The nightly disk clean-up unmounted the volume the session cache (Redis, target `cache`) writes
its snapshots to. Its next background save failed, and Redis, as configured
(stop-writes-on-bgsave-error), refuses every write since: reads still work, so logins succeed
against the database but the session is never stored, and the next page finds none. The
operator relays what customer support says."""

from bench.diagnosis.faults_heldout import saves_failing
from bench.diagnosis.scenario import Scenario


def make(env):  # type: ignore[no-untyped-def]
    server = env.own_redis("cache")
    client = server.client()
    for index in range(60):
        client.set(f"session:{41000 + index}", f'{{"customer_id": {900 + index}}}', ex=86400)
    for index in range(30):
        client.set(f"cart:{7300 + index}", '{"items": [4, 9]}', ex=86400)
    client.close()
    saves_failing(env, server)


SCENARIO = Scenario(
    symptom=(
        "support says since around 3am nobody can stay logged in: login works, then the very "
        "next click shows them logged out again. people who were already logged in are fine "
        "and can browse"
    ),
    style="vague",
    kind="redis",
    cascade=True,
    expected=(
        "the session cache Redis refuses every write (MISCONF): its background save fails (its "
        "data directory is gone) and stop-writes-on-bgsave-error is on, so new sessions are never "
        "stored"
    ),
    accept=(("redis-out-of-memory", "bgsave-failing"),),
    about="cache",
    make=make,
)
