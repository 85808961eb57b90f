"""The Redis provider against a real, private redis-server, healthy and with faults injected."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Iterator

import pytest
import redis as redis_client

from providers.contract import CheckCall, CheckStatus, Health
from providers.environment import LiveEnvironment, PlannedCheck
from providers.inventory import Environment, Inventory, Settings, Target
from providers.redis_provider import RedisProvider
from tests.servers.process import free_port
from tests.servers.redis import RedisServer
from tests.waiting import until

pytestmark = pytest.mark.integration


def provider_for(url: str, timeout: float = 2.0) -> RedisProvider:
    return RedisProvider(Target(kind="redis", name="cache", url=url, timeout=timeout))


@contextlib.asynccontextmanager
async def opened(url: str, timeout: float = 2.0) -> AsyncIterator[RedisProvider]:
    provider = provider_for(url, timeout)
    try:
        yield provider
    finally:
        await provider.close()


@contextlib.contextmanager
def silent_listener() -> Iterator[int]:
    """A port that accepts connections and never answers: a hung server."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield listener.getsockname()[1]


async def test_healthy_instance_passes_every_check_with_facts(redis_server: RedisServer) -> None:
    async with opened(redis_server.url) as provider:
        ping = await provider.run_check(CheckCall("redis.ping"))
        memory = await provider.run_check(CheckCall("redis.memory"))
        clients = await provider.run_check(CheckCall("redis.clients"))

    assert ping.status is CheckStatus.PASS, ping.summary
    assert 0 < ping.facts["rtt_ms"] < 100
    assert ping.evidence[0].startswith(f"PING {redis_server.address} -> PONG")
    assert memory.status is CheckStatus.PASS, memory.summary
    assert memory.facts["maxmemory_bytes"] == 0
    assert memory.facts["used_bytes"] > 0
    assert clients.status is CheckStatus.PASS, clients.summary
    assert clients.facts["connected"] >= 1
    assert clients.facts["maxclients"] > 0
    # triage names its connection, so an operator can tell it from the application's.
    assert clients.facts["top_sources"]["127.0.0.1 (triage)"] == 1


async def test_discovery_shows_the_instance_and_its_keyspace(redis_server: RedisServer) -> None:
    client = redis_server.client()
    client.set("plain", "1")
    client.set("expiring", "1", ex=600)
    redis_client.Redis(host=redis_server.host, port=redis_server.port, db=3).set("other", "x")

    async with opened(redis_server.url) as provider:
        root = await provider.discover()

    assert root.kind == "redis.instance"
    assert root.status.health is Health.OK
    assert root.status.reason.startswith("master, ")
    assert " up " not in root.status.reason  # no uptime: it would redraw the tree at every refresh
    assert [(child.name, child.status.reason) for child in root.children] == [
        ("db0", "2 keys, 1 with a TTL"),
        ("db3", "1 keys, 0 with a TTL"),
    ]
    assert [call.check for call in root.checks] == [
        "redis.ping",
        "redis.memory",
        "redis.clients",
        "redis.persistence",
        "redis.replication",
    ]


async def test_maxmemory_exhausted_fails_with_evidence(redis_server: RedisServer) -> None:
    redis_server.fill_to_maxmemory("2mb")

    async with opened(redis_server.url) as provider:
        memory = await provider.run_check(CheckCall("redis.memory"))
        root = await provider.discover()

    assert memory.status is CheckStatus.FAIL
    assert memory.summary.startswith("out of memory:")
    assert memory.facts["policy"] == "noeviction"
    assert memory.facts["maxmemory_bytes"] == 2 * 1024 * 1024
    assert memory.facts["used_ratio"] >= 0.95
    assert memory.facts["oom_errors"] >= 1
    assert any("maxmemory_policy:noeviction" in line for line in memory.evidence)
    assert root.status.health is Health.FAILING
    assert "noeviction rejects writes" in root.status.reason


async def test_near_maxclients_warns_and_at_the_limit_fails(redis_server: RedisServer) -> None:
    redis_server.client().config_set("maxclients", 8)
    held = [redis_server.client() for _ in range(6)]
    for client in held:
        client.ping()
    try:
        async with opened(redis_server.url) as provider:
            near = await provider.run_check(CheckCall("redis.clients"))
        assert near.status is CheckStatus.WARN, near.summary
        assert near.facts["maxclients"] == 8
        assert near.facts["connected"] >= 7
    finally:
        for client in held:
            client.close()


@pytest.mark.parametrize("check", ["redis.ping", "redis.memory", "redis.clients"])
async def test_stopped_server_is_an_error_naming_host_and_port(
    redis_server: RedisServer, check: str
) -> None:
    redis_server.stop()
    async with opened(redis_server.url) as provider:
        result = await provider.run_check(CheckCall(check))
    assert result.status is CheckStatus.ERROR
    assert result.summary == f"{redis_server.address}: connection refused"
    assert result.facts["address"] == redis_server.address
    assert result.duration < 2.0


async def test_nothing_listening_is_an_error_and_discovery_says_why() -> None:
    port = free_port()
    async with opened(f"redis://127.0.0.1:{port}/0") as provider:
        result = await provider.run_check(CheckCall("redis.ping"))
        root = await provider.discover()
    assert result.status is CheckStatus.ERROR
    assert result.summary == f"127.0.0.1:{port}: connection refused"
    assert root.status.health is Health.FAILING
    assert root.status.reason == f"127.0.0.1:{port}: connection refused"


async def test_a_hung_server_costs_one_timeout_and_never_more() -> None:
    with silent_listener() as port:
        async with opened(f"redis://127.0.0.1:{port}/0", timeout=0.5) as provider:
            started = time.monotonic()
            results = await asyncio.gather(
                *(provider.run_check(CheckCall(name)) for name in provider.checks)
            )
            elapsed = time.monotonic() - started
    assert {result.status for result in results} == {CheckStatus.ERROR}
    assert all(result.summary == f"127.0.0.1:{port}: no answer within 0.5s" for result in results)
    assert elapsed < 0.5 * 1.5


async def test_a_dead_target_does_not_delay_a_healthy_one(redis_server: RedisServer) -> None:
    with silent_listener() as port:
        inventory = Inventory(
            settings=Settings(check_timeout=1.0),
            environments={
                "prod": Environment(
                    targets=[
                        Target(kind="redis", name="hung", url=f"redis://127.0.0.1:{port}/0"),
                        Target(kind="redis", name="cache", url=redis_server.url),
                    ]
                )
            },
        )
        live = LiveEnvironment(inventory)
        try:
            healthy = asyncio.ensure_future(
                live.run_check(PlannedCheck("redis:cache", CheckCall("redis.ping")))
            )
            hung = asyncio.ensure_future(
                live.run_check(PlannedCheck("redis:hung", CheckCall("redis.ping")))
            )
            done, _ = await asyncio.wait({healthy, hung}, return_when=asyncio.FIRST_COMPLETED)
            assert done == {healthy}
            assert healthy.result().status is CheckStatus.PASS
            started = time.monotonic()
            assert (await hung).status is CheckStatus.ERROR
            assert time.monotonic() - started < 1.5
        finally:
            await live.close()


async def test_wrong_password_is_reported_as_authentication_failure(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    redis_server.client().config_set("requirepass", "right-password")
    monkeypatch.setenv("TRIAGE_TEST_REDIS_PASSWORD", "wrong-password")
    provider = RedisProvider(
        Target(
            kind="redis",
            name="cache",
            url=redis_server.url,
            password={"env": "TRIAGE_TEST_REDIS_PASSWORD"},
            timeout=2,
        )
    )
    try:
        result = await provider.run_check(CheckCall("redis.ping"))
    finally:
        await provider.close()
    assert result.status is CheckStatus.ERROR
    assert result.summary == f"{redis_server.address}: authentication failed"
    assert "wrong-password" not in repr(result)


async def test_slow_log_streams_existing_entries_then_only_new_ones(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("providers.redis_slowlog.SLOWLOG_POLL_SECONDS", 0.05)
    client = redis_server.client()
    client.config_set("slowlog-log-slower-than", 0)
    client.set("before", "1")

    async with opened(redis_server.url) as provider:
        stream = provider.logs(provider.root_id)
        banner = await anext(stream)
        assert banner.text == (
            f"following the slow log of {redis_server.address}: commands slower than 0 ms "
            "(slowlog-log-slower-than)"
        )
        history = [await anext(stream) for _ in range(2)]
        assert [line.text.split("  ")[1] for line in history] == [
            "CONFIG SET slowlog-log-slower-than 0",
            "SET before 1",
        ]
        client.set("after", "2")
        fresh = await asyncio.wait_for(anext(stream), timeout=5)
        # The poll itself is slow-logged too; what matters is that nothing repeats.
        seen = [fresh.text]
        while "SET after 2" not in " ".join(seen):
            seen.append((await asyncio.wait_for(anext(stream), timeout=5)).text)
        assert not any("SET before 1" in text for text in seen)
        await stream.aclose()


def slowlog_reads(redis_server: RedisServer) -> int:
    stats = redis_server.client().info("commandstats")
    return int(stats.get("cmdstat_slowlog|get", {}).get("calls", 0))


async def until_reads_pause(redis_server: RedisServer, seconds: float) -> None:
    """Wait until `seconds` pass without a SLOWLOG GET: the follower polls at its quiet pace."""
    last, since = slowlog_reads(redis_server), time.monotonic()
    deadline = since + 30
    while time.monotonic() - since < seconds:
        assert time.monotonic() < deadline, "the slow log was never polled less"
        await asyncio.sleep(0.05)
        if (reads := slowlog_reads(redis_server)) != last:
            last, since = reads, time.monotonic()


@contextlib.asynccontextmanager
async def followed_slow_log(provider: RedisProvider) -> AsyncIterator[list[str]]:
    """The texts of the slow log's lines, collected in the background while the block runs."""
    lines: list[str] = []

    async def follow() -> None:
        async for line in provider.logs(provider.root_id):
            lines.append(line.text)

    following = asyncio.create_task(follow())
    try:
        yield lines
    finally:
        following.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await following


async def test_a_quiet_slow_log_is_polled_less_until_a_new_entry(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("providers.redis_slowlog.SLOWLOG_POLL_SECONDS", 0.05)
    monkeypatch.setattr("providers.redis_slowlog.SLOWLOG_QUIET_AFTER_SECONDS", 0.5)
    monkeypatch.setattr("providers.redis_slowlog.SLOWLOG_QUIET_POLL_SECONDS", 3.0)
    client = redis_server.client()
    client.config_set("slowlog-log-slower-than", 1_000_000)  # nothing is slow: a quiet log
    client.slowlog_reset()

    async with opened(redis_server.url) as provider, followed_slow_log(provider) as lines:
        await until(lambda: slowlog_reads(redis_server) >= 4, what="polls every 0.05 s")
        # Nothing new for 0.5 s: then every 3 s, so a whole second goes by without a poll.
        await until_reads_pause(redis_server, 1.0)

        client.config_set("slowlog-log-slower-than", 0)  # this and the SET are logged
        client.set("slow", "1")
        client.config_set("slowlog-log-slower-than", 1_000_000)
        written = time.monotonic()
        await until(lambda: any("SET slow 1" in text for text in lines), seen=lambda: lines[-10:])
        assert time.monotonic() - written <= 3.0 + 1.0  # one quiet poll at most
        before = slowlog_reads(redis_server)
        # The fast pace is back: three polls in less time than one quiet poll takes.
        await until(lambda: slowlog_reads(redis_server) - before >= 3, timeout=2.5)


async def test_slow_log_follows_on_after_slowlog_reset(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("providers.redis_slowlog.SLOWLOG_POLL_SECONDS", 0.05)
    client = redis_server.client()
    client.config_set("slowlog-log-slower-than", 0)  # every command is slow
    for number in range(50):
        client.set(f"before:{number}", number)

    async with opened(redis_server.url) as provider, followed_slow_log(provider) as lines:
        await until(
            lambda: any("SET before:49 49" in text for text in lines), seen=lambda: lines[-10:]
        )
        client.slowlog_reset()
        client.set("after", "reset")
        await until(
            lambda: any("SET after reset" in text for text in lines), seen=lambda: lines[-10:]
        )

    emptied = (
        f"the slow log of {redis_server.address} was emptied (SLOWLOG RESET or a restart): "
        "following its new entries"
    )
    assert emptied in lines
    assert lines.index(emptied) < next(i for i, t in enumerate(lines) if "SET after reset" in t)
    assert len([text for text in lines if "SET before:7 7" in text]) == 1  # nothing shown twice


async def test_slow_log_follows_a_restarted_server_from_its_first_entry(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("providers.redis_slowlog.SLOWLOG_POLL_SECONDS", 0.05)
    client = redis_server.client()
    client.config_set("slowlog-log-slower-than", 0)
    for number in range(200):  # ids far past those the restarted server will give
        client.set(f"before:{number}", number)

    async with opened(redis_server.url) as provider, followed_slow_log(provider) as lines:
        await until(
            lambda: any("SET before:199 199" in text for text in lines), seen=lambda: lines[-10:]
        )
        redis_server.stop()
        redis_server.start()  # the same port; its slow log begins at id 0
        client = redis_server.client()
        client.config_set("slowlog-log-slower-than", 0)
        client.set("after", "restart")  # id 1 or so
        await until(
            lambda: any("SET after restart" in text for text in lines), seen=lambda: lines[-10:]
        )

    restarted = (
        f"{redis_server.address} restarted (a new run id): following its slow log from the start"
    )
    assert restarted in lines
    assert lines.index(restarted) < next(i for i, t in enumerate(lines) if "SET after restart" in t)


async def test_slow_log_reports_a_lost_server_once_and_recovers(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("providers.redis_slowlog.SLOWLOG_POLL_SECONDS", 0.05)
    async with opened(redis_server.url, timeout=1) as provider:
        stream = provider.logs(provider.root_id)
        await anext(stream)  # the banner
        redis_server.stop()
        lost = await asyncio.wait_for(anext(stream), timeout=5)
        assert lost.level == "error"
        # The pooled connection notices the close first, or a new one is refused.
        assert lost.text in {
            f"slow log unavailable: {redis_server.address}: {reason}; retrying"
            for reason in ("connection refused", "connection closed by the server")
        }
        redis_server.start()
        back = await asyncio.wait_for(anext(stream), timeout=10)
        assert back.text == "slow log reachable again"
        await stream.aclose()


async def test_a_big_write_refused_below_the_limit_fails_while_it_is_recent(
    redis_server: RedisServer,
) -> None:
    client = redis_server.client()
    client.config_set("maxmemory-policy", "noeviction")
    used = int(client.info("memory")["used_memory"])
    client.config_set("maxmemory", str(used * 4))  # a quarter full: far from the 95% line

    async with opened(redis_server.url) as provider:
        before = await provider.run_check(CheckCall("redis.memory"))
        with pytest.raises(redis_client.exceptions.OutOfMemoryError):
            # Twice what is there, then more: Redis refuses writes once over the limit.
            for index in range(100):
                client.set(f"big:{index}", b"x" * used)
        after = await provider.run_check(CheckCall("redis.memory"))

    assert before.status is CheckStatus.PASS, before.summary
    assert after.facts["used_ratio"] < 0.95
    assert after.status is CheckStatus.FAIL
    assert after.summary.startswith("out of memory for writes: OOM rejections in the last minute")

    # A provider that first looks after the rejections cannot tell when they were: a warning.
    async with opened(redis_server.url) as provider:
        later = await provider.run_check(CheckCall("redis.memory"))
    assert later.status is CheckStatus.WARN
    assert later.summary.endswith("writes were rejected with OOM since start")
