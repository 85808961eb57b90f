"""Nothing is wrong with the cache: a dashboard dip, and Redis answers, has room and clients."""

from bench.diagnosis.scenario import Scenario


def make(env):  # type: ignore[no-untyped-def]
    client = env.world.redis().client()
    for index in range(50):  # traffic as usual: carts cached with a TTL
        client.set(f"cart:{7000 + index}", '{"items": [3]}', ex=3600)
    env.later(client.delete, *[f"cart:{7000 + index}" for index in range(50)])


SCENARIO = Scenario(
    symptom="the cache hit rate on the dashboard dropped around 11:00, is redis ok?",
    style="question",
    kind="redis",
    expected="nothing: the cache Redis answers, with memory and clients well under its limits",
    make=make,
)
