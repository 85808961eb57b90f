"""Faults the held-out scenarios (`scenarios/heldout_*`) need and the other helpers do not make,
each undone after its scenario: a Redis that cannot persist and so refuses writes, a broker
that no longer answers on either of its ports.
"""

from __future__ import annotations

import shutil
import time
from typing import Any

from bench.diagnosis.faults_stores import unreachable_port
from bench.diagnosis.world import MQ_PASSWORD, ScenarioEnv


def saves_failing(env: ScenarioEnv, server: Any) -> None:
    """`server` (a scenario's own Redis) snapshots as production Redis does (save points,
    stop-writes-on-bgsave-error), and its data directory disappears from under it (the volume
    unmounted): the next background save fails and Redis refuses every write (MISCONF)."""
    import redis

    client = server.client()
    client.config_set("save", "3600 1 300 100 60 10000")
    client.config_set("stop-writes-on-bgsave-error", "yes")
    data = env.folder / "redis-data"
    data.mkdir()
    client.config_set("dir", str(data))
    shutil.rmtree(data)
    client.bgsave()
    deadline = time.monotonic() + 10
    while True:
        persistence = client.info("persistence")
        if (
            not persistence["rdb_bgsave_in_progress"]
            and persistence["rdb_last_bgsave_status"] == "err"
        ):
            break
        if time.monotonic() > deadline:
            raise AssertionError("the background save never failed")
        time.sleep(0.05)
    try:
        client.set("session:probe", "x")
    except redis.exceptions.ResponseError as error:
        if "MISCONF" not in str(error):
            raise
    else:
        raise AssertionError("redis still accepts writes after a failed save")


def hung_broker(env: ScenarioEnv, name: str = "broker") -> int:
    """Target `name` (same user and password) points at an AMQP port and a management port that
    accept no connection: connects time out, as they do to a hung broker. Returns the AMQP
    port."""
    user = env.world.rabbitmq().user
    amqp, management = unreachable_port(env), unreachable_port(env)
    env.targets[name] = {
        "kind": "rabbitmq",
        "name": name,
        "url": f"amqp://{user}@127.0.0.1:{amqp}/%2F",
        "password": {"env": MQ_PASSWORD},
        "options": {"management_url": f"http://127.0.0.1:{management}"},
    }
    env.values[f"{name}_address"] = f"127.0.0.1:{amqp}"
    env.values[f"{name}_port"] = amqp
    return amqp
