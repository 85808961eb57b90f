"""The compose provider's log streams and actions on the private Docker engine."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import cast

import docker
import pytest

from providers.base import ConfirmationRequired
from providers.compose_model import parse_time
from providers.compose_provider import ComposeProvider
from providers.contract import FOLLOWING, LogLine
from tests.integration.compose_helpers import (
    HEALTH_INTERVAL_NS,
    provider_on,
    run_service,
    state,
    until,
)
from tests.servers.docker_engine import DockerEngine

pytestmark = pytest.mark.integration

API = {"project": "shop", "service": "api"}


@contextlib.asynccontextmanager
async def following(
    provider: ComposeProvider, node_id: str, since: datetime | None = None
) -> AsyncIterator[list[LogLine]]:
    """Collect a node's log lines in the background while the block runs."""
    seen: list[LogLine] = []
    stream = cast(AsyncGenerator[LogLine, None], provider.logs(node_id, since=since))

    async def pump() -> None:
        async for line in stream:
            seen.append(line)

    task = asyncio.create_task(pump())
    try:
        yield seen
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await stream.aclose()


def texts(lines: list[LogLine]) -> list[str]:
    return [line.text for line in lines]


async def test_service_logs_merge_its_containers_and_follow_live(
    docker_engine: DockerEngine, docker_client: docker.DockerClient
) -> None:
    run_service(docker_engine, "shop", "api", "echo api one up; sleep 300")
    second = run_service(docker_engine, "shop", "api", "echo api two up; sleep 300", number=2)
    provider = provider_on(docker_engine)
    try:
        async with following(provider, "compose:local/shop/api") as lines:
            await until(lambda: len(lines) >= 2, what="both containers' first lines")
            assert sorted(texts(lines)) == ["shop-api-1 | api one up", "shop-api-2 | api two up"]
            assert {line.level for line in lines} == {"out"}
            started = time.monotonic()
            second.exec_run(["sh", "-c", "echo live-marker >/proc/1/fd/1"])
            second.exec_run(["sh", "-c", "echo err-marker >/proc/1/fd/2"])
            await until(lambda: len(lines) >= 4, timeout=5, what="the live lines")
            elapsed = time.monotonic() - started
        async with following(provider, "compose:local/shop/api/shop-api-1") as single:
            await until(lambda: len(single) >= 1, what="one container's history")
    finally:
        await provider.close()

    assert elapsed < 1.0, f"live lines took {elapsed:.2f}s"
    live = {line.text: line for line in lines[2:]}
    assert live["shop-api-2 | live-marker"].level == "out"
    assert live["shop-api-2 | err-marker"].level == "err"
    assert live["shop-api-2 | err-marker"].source == "shop-api-2"
    assert abs(live["shop-api-2 | live-marker"].time - datetime.now(UTC)) < timedelta(seconds=30)
    assert texts(single) == ["api one up"]
    assert single[0].source == "shop-api-1"


async def test_a_killed_container_ends_its_log_saying_how_and_is_followed_when_it_runs_again(
    docker_engine: DockerEngine, docker_client: docker.DockerClient
) -> None:
    api = run_service(docker_engine, "shop", "api", "echo api up; sleep 300")
    provider = provider_on(docker_engine)
    try:
        async with following(provider, "compose:local/shop/api/shop-api-1") as lines:
            await until(lambda: "api up" in texts(lines), what="the first run's line")
            api.kill()  # SIGKILL, as `docker kill` sends
            await until(
                lambda: any(line.state for line in lines),
                what="a line saying the container stopped",
                seen=lambda: texts(lines),
            )
            api.start()
            await until(
                lambda: texts(lines).count("api up") == 2,
                what="the second run's line",
                seen=lambda: texts(lines),
            )
    finally:
        await provider.close()

    stopped = "shop-api-1 stopped: container killed by SIGKILL (137)"
    running = "shop-api-1 started again: following its log"
    assert texts(lines) == ["api up", stopped, running, "api up"]
    assert [(line.level, line.state) for line in lines] == [
        ("out", None),
        ("error", "stopped: container killed by SIGKILL (137)"),
        ("info", FOLLOWING),
        ("out", None),
    ]
    # When the engine says it stopped and started (not when the follower noticed).
    engine = state(api)
    assert (lines[1].time, lines[2].time) == (
        parse_time(engine["FinishedAt"]),
        parse_time(engine["StartedAt"]),
    )


async def test_a_service_pane_stops_only_when_every_container_stopped(
    docker_engine: DockerEngine, docker_client: docker.DockerClient
) -> None:
    first = run_service(docker_engine, "shop", "api", "echo one up; sleep 300")
    run_service(docker_engine, "shop", "api", "echo two up; exit 3", number=2)
    provider = provider_on(docker_engine)
    try:
        async with following(provider, "compose:local/shop/api") as lines:
            await until(
                lambda: "shop-api-2 stopped: container exited (3)" in texts(lines),
                what="the second container's end",
                seen=lambda: texts(lines),
            )
            assert [line.state for line in lines if line.state] == []  # one still runs
            first.stop(timeout=0)
            await until(
                lambda: any(line.state for line in lines),
                what="the pane's end",
                seen=lambda: texts(lines),
            )
    finally:
        await provider.close()

    (ended,) = [line for line in lines if line.state]
    assert ended.state == "stopped: all 2 containers"
    assert ended.text.startswith("shop-api-1 stopped: container killed by SIGKILL (137)")


async def test_engine_events_tell_deaths_oom_kills_health_and_restarts(
    docker_engine: DockerEngine, docker_client: docker.DockerClient
) -> None:
    provider = provider_on(docker_engine)
    since = datetime.now(UTC) - timedelta(seconds=1)
    try:
        async with following(provider, "compose:local", since=since) as lines:
            run_service(
                docker_engine, "shop", "worker", "exit 3",
                restart_policy={"Name": "on-failure", "MaximumRetryCount": 1},
            )  # fmt: skip
            run_service(
                docker_engine, "shop", "cache", "head -c 67108864 /dev/zero > /dev/shm/fill",
                mem_limit="8m",
            )  # fmt: skip
            sick = run_service(
                docker_engine, "shop", "api", "sleep 300",
                healthcheck={
                    "test": ["CMD-SHELL", "exit 1"], "interval": HEALTH_INTERVAL_NS, "retries": 1,
                },
            )  # fmt: skip
            wanted = (
                "shop-worker-1 died with exit code 3",
                "shop-worker-1 restarted (after exit code 3)",
                "shop-cache-1 killed: out of memory (OOM)",
                "shop-api-1 health check turned unhealthy",
            )
            await until(
                lambda: all(text in texts(lines) for text in wanted),
                timeout=15,
                what=f"the events {wanted}",
                seen=lambda: texts(lines),
            )
            assert state(sick)["Health"]["Status"] == "unhealthy"
    finally:
        await provider.close()

    by_text = {line.text: line for line in lines}
    assert by_text["shop-worker-1 died with exit code 3"].level == "error"
    assert by_text["shop-worker-1 died with exit code 3"].source == "shop/shop-worker-1"
    assert by_text["shop-cache-1 killed: out of memory (OOM)"].level == "error"
    assert by_text["shop-worker-1 restarted (after exit code 3)"].level == "warn"
    assert by_text["shop-api-1 health check turned unhealthy"].level == "error"
    assert "shop-api-1 started" in by_text


async def test_service_actions_preview_refuse_then_restart_stop_and_start(
    docker_engine: DockerEngine, docker_client: docker.DockerClient
) -> None:
    first = run_service(docker_engine, "shop", "api", "sleep 300")
    second = run_service(docker_engine, "shop", "api", "sleep 300", number=2)
    before = {c.name: state(c)["StartedAt"] for c in (first, second)}
    provider = provider_on(docker_engine)
    params = {**API, "stop_timeout": 0}
    try:
        restart = await provider.plan_action("compose.restart_service", params)
        # Not destructive: the service it changes, never a bare yes.
        assert restart.confirmation_word() == "shop/api"
        for wrong in (None, "no", "yes", "api"):
            with pytest.raises(ConfirmationRequired, match="not run; type 'shop/api' to run it"):
                await provider.run_action(restart, confirmation=wrong)
        assert {c.name: state(c)["StartedAt"] for c in (first, second)} == before
        restarted = await provider.run_action(restart, confirmation="shop/api")
        after_restart = {c.name: state(c) for c in (first, second)}

        stop = await provider.plan_action("compose.stop_service", params)
        with pytest.raises(ConfirmationRequired, match="type 'shop/api' to run it"):
            await provider.run_action(stop, confirmation="yes")
        assert {state(c)["Status"] for c in (first, second)} == {"running"}
        stopped = await provider.run_action(stop, confirmation="shop/api")
        after_stop = {c.name: state(c)["Status"] for c in (first, second)}

        start = await provider.plan_action("compose.start_service", params)
        with pytest.raises(ConfirmationRequired, match="type 'shop/api' to run it"):
            await provider.run_action(start, confirmation="yes")
        assert {state(c)["Status"] for c in (first, second)} == {"exited"}
        started = await provider.run_action(start, confirmation="shop/api")
        after_start = {c.name: state(c)["Status"] for c in (first, second)}
        with pytest.raises(ValueError, match="needs service"):
            await provider.plan_action("compose.restart_service", {"project": "shop"})
    finally:
        await provider.close()

    assert restart.preview.summary == (
        "restart 2 containers of service shop/api: shop-api-1 (running), shop-api-2 (running)"
    )
    assert restart.preview.destructive is False
    assert restart.preview.touches == ("shop-api-1 (running)", "shop-api-2 (running)")
    assert dict(restart.preview.counts) == {"containers": 2}
    assert restarted.ok, restarted.summary
    assert restarted.summary == "restarted 2 containers of shop/api"
    for name, found in after_restart.items():
        assert found["Status"] == "running"
        assert found["StartedAt"] != before[name]
    assert stop.preview.counts["containers"] == 2
    assert stopped.ok and stopped.summary == "stopped 2 containers of shop/api"
    assert after_stop == {"shop-api-1": "exited", "shop-api-2": "exited"}
    assert start.preview.touches == ("shop-api-1 (exited)", "shop-api-2 (exited)")
    assert started.ok and started.summary == "started 2 containers of shop/api"
    assert after_start == {"shop-api-1": "running", "shop-api-2": "running"}


async def test_prune_previews_bytes_and_names_and_needs_the_target_name(
    docker_engine: DockerEngine, docker_client: docker.DockerClient
) -> None:
    keep = run_service(docker_engine, "shop", "api", "sleep 300")
    old = run_service(docker_engine, "shop", "job", "head -c 1048576 /dev/zero > /blob")
    await until(lambda: state(old)["Status"] == "exited")
    image = old.commit()  # no repository: a dangling image
    image_short = image.id.removeprefix("sha256:")[:12]
    provider = provider_on(docker_engine)
    try:
        plan = await provider.plan_action("compose.prune", {})
        # Destructive and engine-wide: the target's name with what it prunes (the target).
        assert plan.confirmation_word() == "local/local"
        for wrong in (None, "yes", "shop", "local"):
            with pytest.raises(ConfirmationRequired, match="type 'local/local' to run it"):
                await provider.run_action(plan, confirmation=wrong)
        assert [c.name for c in docker_client.containers.list(all=True)].count("shop-job-1") == 1
        outcome = await provider.run_action(plan, confirmation="local/local")
    finally:
        await provider.close()

    assert plan.preview.destructive is True
    assert plan.preview.target == "local"
    assert plan.preview.touches == ("container shop-job-1", f"image {image_short}")
    assert plan.preview.counts["containers"] == 1
    assert plan.preview.counts["images"] == 1
    reclaimable = plan.preview.counts["reclaimable_bytes"]
    assert reclaimable >= 2 * 1024 * 1024  # the container's 1 MiB and the image's copy of it
    assert plan.preview.summary.startswith(
        "remove 1 stopped containers and 1 dangling images on local, reclaiming "
    )
    assert outcome.ok, outcome.summary
    assert outcome.output == ("removed container shop-job-1", f"removed image {image_short}")
    assert [c.name for c in docker_client.containers.list(all=True)] == ["shop-api-1"]
    assert image.id not in {i.id for i in docker_client.images.list(all=True)}
    assert state(keep)["Status"] == "running"
