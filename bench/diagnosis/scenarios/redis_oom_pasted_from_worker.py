"""The session cache filled up under noeviction; a worker's traceback is pasted."""

from bench.diagnosis.scenario import Scenario


def make(env):  # type: ignore[no-untyped-def]
    env.own_redis("cache").fill_to_maxmemory("2mb")


SCENARIO = Scenario(
    symptom=(
        'File "/app/cart/store.py", line 88, in save_cart\n'
        "redis.exceptions.ResponseError: OOM command not allowed when used memory > "
        "'maxmemory'."
    ),
    style="paste",
    kind="redis",
    expected="the cache Redis is at maxmemory with noeviction and refuses writes",
    accept=(("redis-out-of-memory", "maxmemory-noeviction"),),
    about="cache",
    make=make,
)
