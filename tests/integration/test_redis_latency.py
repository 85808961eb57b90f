"""redis.ping's verdict on latency: a real Redis behind a proxy that holds back its PONGs.

One slow round trip (a busy moment of this process, or of the network) is not a slow server;
every round trip slow is.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import pytest

from providers.contract import CheckCall, CheckStatus
from providers.inventory import Target
from providers.redis_provider import PING_TRIES, RedisProvider
from tests.servers.redis import RedisServer

pytestmark = pytest.mark.integration

HELD_SECONDS = 0.25  # over the 100 ms warning


@contextlib.asynccontextmanager
async def pong_holding_proxy(
    server: RedisServer, hold: Callable[[int], float]
) -> AsyncIterator[str]:
    """A proxy to `server` that holds its n-th PONG (from 1) for hold(n) seconds; the URL."""
    pongs = 0

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, replies: bool):
        nonlocal pongs
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                if replies and b"PONG" in data:
                    pongs += 1
                    await asyncio.sleep(hold(pongs))
                writer.write(data)
                await writer.drain()
        writer.close()

    async def serve(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter):
        server_reader, server_writer = await asyncio.open_connection(server.host, server.port)
        await asyncio.gather(
            pipe(client_reader, server_writer, replies=False),
            pipe(server_reader, client_writer, replies=True),
        )

    proxy = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = proxy.sockets[0].getsockname()[1]
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proxy.close()


async def ping_through(url: str) -> tuple[CheckStatus, str, tuple[str, ...], float]:
    provider = RedisProvider(Target(kind="redis", name="cache", url=url, timeout=5))
    try:
        result = await provider.run_check(CheckCall("redis.ping"))
    finally:
        await provider.close()
    return result.status, result.summary, result.evidence, result.facts["rtt_ms"]


async def test_one_slow_round_trip_is_not_a_slow_server(redis_server: RedisServer) -> None:
    # PONG 1 answers the connecting PING; PONG 2 is the first timed round trip.
    async with pong_holding_proxy(redis_server, lambda n: HELD_SECONDS if n == 2 else 0) as url:
        status, summary, evidence, rtt_ms = await ping_through(url)
    assert status is CheckStatus.PASS, summary
    assert rtt_ms < 100
    assert evidence[0].endswith("(best of 2)")


async def test_every_round_trip_slow_warns_with_the_best_of_them(
    redis_server: RedisServer,
) -> None:
    async with pong_holding_proxy(redis_server, lambda n: HELD_SECONDS if n > 1 else 0) as url:
        status, summary, evidence, rtt_ms = await ping_through(url)
    assert status is CheckStatus.WARN
    assert rtt_ms >= HELD_SECONDS * 1000
    assert summary == f"slow: PONG in {rtt_ms:.0f} ms (over 100 ms)"
    assert evidence[0].endswith(f"(best of {PING_TRIES})")
