"""A container's log flood through the compose provider: every line in order, in batches, or an
exact count of the lines dropped when the consumer falls behind; a container that stops and
starts again shows each line once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
from typing import cast

import docker
import pytest

from providers.contract import FOLLOWING
from providers.streams import LineBatch
from tests.integration.compose_helpers import provider_on
from tests.servers.docker_engine import DockerEngine

pytestmark = pytest.mark.integration

LINES = 20_000
NODE = "compose:local/_standalone/flood"
NODE_AGAIN = "compose:local/_standalone/again"


def flood(engine: DockerEngine, then: str = "sleep 300") -> object:
    """A container that says `ready`, waits for /go, writes LINES numbered lines, `flood-done`."""
    script = (
        "echo ready; while [ ! -e /go ]; do sleep 0.05; done; "
        f"seq 1 {LINES} | sed 's/^/line /'; {then}"
    )
    return engine.run(["sh", "-c", script], name="flood")


async def test_a_flood_arrives_whole_and_in_order_in_batches(
    docker_engine: DockerEngine, docker_client: docker.DockerClient
) -> None:
    container = flood(docker_engine, then="echo flood-done; sleep 300")
    provider = provider_on(docker_engine)
    stream = cast(AsyncGenerator[LineBatch, None], provider.log_batches(NODE))
    texts: list[str] = []
    batches = dropped = 0
    try:
        first = await anext(stream)
        assert [line.text for line in first.lines] == ["ready"]
        container.exec_run(["touch", "/go"])  # type: ignore[attr-defined]
        async for batch in stream:
            texts += [line.text for line in batch.lines]
            batches, dropped = batches + 1, dropped + batch.dropped
            if texts and texts[-1] == "flood-done":
                break
    finally:
        await stream.aclose()
        await provider.close()

    assert texts == [*(f"line {n}" for n in range(1, LINES + 1)), "flood-done"]
    assert dropped == 0
    assert batches < LINES / 10  # handed over in batches, not line by line


async def test_a_consumer_that_falls_behind_is_told_exactly_how_many_lines_went(
    docker_engine: DockerEngine, docker_client: docker.DockerClient
) -> None:
    # The container writes everything and exits while the consumer takes nothing; with room
    # for 500 waiting lines, the rest go, and the batches say how many.
    container = flood(docker_engine, then="sleep 1; echo flood-done")
    provider = provider_on(docker_engine)
    provider.log_backlog = 500
    stream = cast(AsyncGenerator[LineBatch, None], provider.log_batches(NODE))
    numbers: list[int] = []
    gaps = dropped = 0
    try:
        first = await anext(stream)
        assert [line.text for line in first.lines] == ["ready"]
        container.exec_run(["touch", "/go"])  # type: ignore[attr-defined]
        container.wait()  # type: ignore[attr-defined]  # blocks the loop: nothing is taken
        done = False
        async for batch in stream:
            dropped += batch.dropped
            for line in batch.lines:
                # The stream's own line once the container has exited (its state set) ends the
                # run as well: "flood-done" may be one of the lines that went.
                if line.text == "flood-done" or line.state is not None:
                    done = True
                else:
                    number = int(line.text.removeprefix("line "))
                    gaps += number - (numbers[-1] if numbers else 0) - 1
                    numbers.append(number)
            if done:
                break
    finally:
        await stream.aclose()
        await provider.close()

    assert numbers == sorted(numbers)  # in order, whatever was dropped
    assert dropped == gaps + (LINES - numbers[-1])  # exactly the lines that never arrived
    assert len(numbers) + dropped == LINES
    assert dropped > 0


async def test_a_container_stopped_and_started_again_shows_each_line_once(
    docker_engine: DockerEngine, docker_client: docker.DockerClient
) -> None:
    # Thousands of lines a millisecond share microseconds; the stream is opened again when the
    # container starts, from the last line's microsecond.
    script = "echo ready; while [ ! -e /go ]; do sleep 0.05; done; seq 1 2000 | sed 's/^/line /'"
    container = docker_engine.run(["sh", "-c", script], name="again")
    provider = provider_on(docker_engine)
    stream = cast(AsyncGenerator[LineBatch, None], provider.log_batches(NODE_AGAIN))
    texts: list[str] = []
    states: list[str] = []

    async def read_until(enough: Callable[[], bool]) -> None:
        if enough():
            return
        async for batch in stream:
            texts.extend(line.text for line in batch.lines)
            states.extend(line.state for line in batch.lines if line.state)
            if enough():
                return

    async def until_seen(enough: Callable[[], bool]) -> None:
        """Lines read until `enough`; if they never come, what did (and what the engine
        holds) is the failure's message."""
        try:
            await asyncio.wait_for(read_until(enough), timeout=30)
        except TimeoutError:
            container.reload()  # type: ignore[attr-defined]
            held = container.logs(timestamps=True).decode(errors="replace").splitlines()  # type: ignore[attr-defined]
            pytest.fail(
                f"not seen in 30 s: {len(texts)} lines read, the last {texts[-3:]}, states "
                f"{states}; the container is {container.status}, its log holds "  # type: ignore[attr-defined]
                f"{len(held)} lines ending {held[-2:]}"
            )

    try:
        texts.extend(line.text for line in (await anext(stream)).lines)
        assert texts == ["ready"]
        container.exec_run(["touch", "/go"])  # type: ignore[attr-defined]
        await until_seen(lambda: "line 2000" in texts)
        await until_seen(lambda: len(states) == 1)  # it ended
        container.start()  # type: ignore[attr-defined]  # /go is still there: it writes at once
        await until_seen(lambda: texts.count("line 2000") == 2)
        await until_seen(lambda: len(states) == 3)  # ended again
    finally:
        await stream.aclose()
        await provider.close()

    run = ["ready", *(f"line {n}" for n in range(1, 2001))]
    stopped = "again stopped: container exited (0)"
    assert texts == [*run, stopped, "again started again: following its log", *run, stopped]
    assert states == ["stopped: container exited (0)", FOLLOWING, "stopped: container exited (0)"]
