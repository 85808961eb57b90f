"""Check fan-out: 100 checks at once, one dead host among them, through LiveEnvironment.run_checks.

The dead host accepts connections and never answers (a host behind a dead load balancer); its
checks must cost one check timeout, and the healthy ones must not wait for them. Goal: the
wall time of all 100 <= the check timeout + 10%. The same checks with no dead host are run
first (which also loads the SDKs), for reference.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections import Counter
from pathlib import Path

from bench.harness import Figure
from bench.servers import PG_PASSWORD_ENV, Servers

CHECKS = 100


def measure(servers: Servers, results_dir: Path, *, quick: bool) -> list[Figure]:
    timeout = 1.0 if quick else 2.0
    with socket.socket() as dead:
        dead.bind(("127.0.0.1", 0))
        dead.listen(256)
        dead_address = f"127.0.0.1:{dead.getsockname()[1]}"
        healthy_wall, _ = asyncio.run(_run(servers, timeout, None))
        wall, statuses = asyncio.run(_run(servers, timeout, dead_address))
    return [
        Figure(
            "check fan-out: 100 checks, 1 dead host",
            wall,
            "s",
            goal=timeout * 1.1,
            anchor=timeout,
            anchor_name="the check timeout",
            note=f"timeout {timeout:g}s",
            extra={
                "timeout": timeout,
                "checks": CHECKS,
                "wall_without_dead_host": healthy_wall,
                "statuses": statuses,
            },
        )
    ]


async def _run(
    servers: Servers, timeout: float, dead_address: str | None
) -> tuple[float, dict[str, int]]:
    import os

    from providers.environment import LiveEnvironment, PlannedCheck
    from providers.inventory import Environment, Inventory, Settings, Target

    redis, postgres, http = servers.redis(), servers.postgres(), servers.http()
    os.environ.update(servers.env)
    # Each check once, on enough targets to make 100: a real environment has many targets, and
    # two checks of one PostgreSQL at once already cost two of its connections.
    targets = [Target(kind="redis", name=f"cache-{n}", url=redis.url) for n in range(20)]
    targets += [
        Target(
            kind="postgres",
            name=f"db-{n}",
            url=postgres.dsn_without_password,
            password={"env": PG_PASSWORD_ENV},  # type: ignore[arg-type]
        )
        for n in range(2)
    ]
    targets += [Target(kind="http", name=f"api-{n}", url=http.url("/health")) for n in range(10)]
    dead = []
    if dead_address is not None:
        dead = [Target(kind="redis", name="dead-cache", url=f"redis://{dead_address}/0")]
    inventory = Inventory(
        settings=Settings(check_timeout=timeout),
        environments={"bench": Environment(targets=targets + dead)},
    )
    live = LiveEnvironment(inventory)
    try:
        by_target = {p.target.name: p for p in live.providers}
        planned = [
            PlannedCheck(by_target[t.name].root_id, call)
            for t in dead
            for call in by_target[t.name].root_checks()
        ]
        healthy = [
            PlannedCheck(by_target[t.name].root_id, call)
            for t in reversed(targets)  # http and postgres first; redis fills up to 100
            for call in by_target[t.name].root_checks()
        ]
        planned += healthy[: CHECKS - len(planned)]
        started = time.monotonic()
        results = await live.run_checks(planned)
        wall = time.monotonic() - started
    finally:
        await live.close()
    statuses = Counter(f"{r.target}:{r.status.value}" for r in results)
    return wall, dict(sorted(statuses.items()))
