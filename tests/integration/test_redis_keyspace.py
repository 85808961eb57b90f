"""Redis keys, persistence, replication, latency and the actions that delete, on real servers."""

from __future__ import annotations

import asyncio
import re
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis as redis_client

from providers.base import ConfirmationRequired
from providers.contract import CheckCall, CheckStatus
from providers.inventory import Target
from providers.redis_provider import RedisProvider
from tests.servers.redis import RedisServer, start_redis

pytestmark = pytest.mark.integration


@pytest.fixture
async def provider(redis_server: RedisServer) -> AsyncIterator[RedisProvider]:
    opened = RedisProvider(Target(kind="redis", name="cache", url=redis_server.url, timeout=5))
    yield opened
    await opened.close()


def seed_token_cache(server: RedisServer) -> None:
    client = server.client()
    for tenant in range(1, 13):
        client.set(f"tenant:{tenant:03d}:oauth:token", "t", ex=3600)
    for tenant in (4, 9):
        client.persist(f"tenant:{tenant:03d}:oauth:token")  # a token that never expires
    for user in range(30):
        client.set(f"ratelimit:user:{user}", 1, ex=60)


async def test_keys_are_counted_with_their_ttls(
    redis_server: RedisServer, provider: RedisProvider
) -> None:
    seed_token_cache(redis_server)
    tokens = await provider.run_check(
        CheckCall("redis.keys", {"pattern": "tenant:*:oauth:token", "expect_ttl": True})
    )
    assert tokens.status is CheckStatus.WARN
    assert tokens.summary == "12 keys match tenant:*:oauth:token, 2 without a TTL"
    assert tokens.facts["matched"] == 12
    assert tokens.facts["without_ttl"] == 2
    assert tokens.facts["truncated"] is False
    assert 3500 < tokens.facts["max_ttl"] <= 3600
    assert len(tokens.facts["sample"]) == 10
    assert all(key.startswith("tenant:") for key in tokens.facts["sample"])

    limits = await provider.run_check(CheckCall("redis.keys", {"pattern": "ratelimit:*"}))
    assert limits.status is CheckStatus.PASS
    assert (limits.facts["matched"], limits.facts["without_ttl"]) == (30, 0)
    assert limits.facts["max_ttl"] <= 60

    none = await provider.run_check(CheckCall("redis.keys", {"pattern": "nothing:*"}))
    assert none.status is CheckStatus.PASS and none.summary == "no keys match nothing:*"


async def test_keys_of_another_database_and_a_count_limit(
    redis_server: RedisServer, provider: RedisProvider
) -> None:
    other = redis_client.Redis(host=redis_server.host, port=redis_server.port, db=2)
    for index in range(25):
        other.set(f"session:{index}", "x")
    capped = await provider.run_check(
        CheckCall("redis.keys", {"pattern": "session:*", "db": 2, "limit": 10})
    )
    assert capped.facts["matched"] == 10 and capped.facts["truncated"] is True
    assert capped.summary.startswith("10+ keys match session:*")
    db0 = await provider.run_check(CheckCall("redis.keys", {"pattern": "session:*"}))
    assert db0.facts["matched"] == 0


async def test_discovered_databases_offer_a_key_check(
    redis_server: RedisServer, provider: RedisProvider
) -> None:
    seed_token_cache(redis_server)
    root = await provider.discover()
    (db0,) = root.children
    assert [(call.check, dict(call.params)) for call in db0.checks] == [("redis.keys", {"db": 0})]


async def test_persistence_passes_then_fails_when_a_background_save_fails(
    redis_server: RedisServer, provider: RedisProvider, tmp_path: Path
) -> None:
    healthy = await provider.run_check(CheckCall("redis.persistence"))
    assert healthy.status is CheckStatus.PASS
    assert healthy.facts["rdb_last_bgsave_status"] == "ok"

    gone = tmp_path / "vanishing"
    gone.mkdir()
    client = redis_server.client()
    client.config_set("dir", str(gone))
    shutil.rmtree(gone)  # the save directory disappears under the server
    client.set("k", "v")
    client.bgsave()
    deadline = time.monotonic() + 10
    while client.info("persistence")["rdb_bgsave_in_progress"] and time.monotonic() < deadline:
        await asyncio.sleep(0.05)

    failing = await provider.run_check(CheckCall("redis.persistence"))
    assert failing.status is CheckStatus.FAIL
    assert failing.facts["rdb_last_bgsave_status"] == "err"
    assert failing.summary == "persistence failing: rdb_last_bgsave_status=err"
    assert "rdb_last_bgsave_status:err" in failing.evidence


async def test_replication_link_up_then_down(redis_server: RedisServer, tmp_path: Path) -> None:
    (tmp_path / "replica").mkdir()
    with start_redis(tmp_path / "replica") as replica_server:
        replica_client = replica_server.client()
        replica_client.replicaof(redis_server.host, redis_server.port)
        deadline = time.monotonic() + 15
        while replica_client.info("replication").get("master_link_status") != "up":
            assert time.monotonic() < deadline, "replica never linked"
            await asyncio.sleep(0.1)
        replica = RedisProvider(
            Target(kind="redis", name="replica", url=replica_server.url, timeout=5)
        )
        primary = RedisProvider(Target(kind="redis", name="primary", url=redis_server.url))
        try:
            linked = await replica.run_check(CheckCall("redis.replication"))
            assert linked.status is CheckStatus.PASS
            assert linked.facts["role"] == "slave" and linked.facts["link"] == "up"
            assert linked.facts["primary"] == redis_server.address

            on_primary = await primary.run_check(CheckCall("redis.replication"))
            assert on_primary.facts["role"] == "master"
            assert on_primary.facts["replicas"] == 1

            redis_server.stop()
            while replica_client.info("replication").get("master_link_status") != "down":
                assert time.monotonic() < deadline + 15, "replica never noticed"
                await asyncio.sleep(0.1)
            broken = await replica.run_check(CheckCall("redis.replication"))
            assert broken.status is CheckStatus.FAIL
            assert broken.summary == f"replica of {redis_server.address}, link down"
        finally:
            await replica.close()
            await primary.close()


async def test_latency_is_measured(provider: RedisProvider) -> None:
    result = await provider.run_check(CheckCall("redis.latency", {"samples": 5}))
    assert result.status in {CheckStatus.PASS, CheckStatus.WARN}  # depends on machine load
    assert 0 < result.facts["median_ms"] <= result.facts["max_ms"]
    assert result.evidence[0].startswith("5 PINGs: median ")


async def test_delete_keys_previews_exactly_and_refuses_without_the_server_and_pattern_typed(
    redis_server: RedisServer, provider: RedisProvider
) -> None:
    seed_token_cache(redis_server)
    plan = await provider.plan_action("redis.delete_keys", {"pattern": "tenant:*:oauth:token"})
    assert plan.preview.summary == (
        f"delete 12 keys matching tenant:*:oauth:token on {redis_server.address} (42 in db0)"
    )
    assert plan.preview.destructive is True
    assert plan.preview.counts == {"keys": 12, "db_keys": 42}
    assert len(plan.preview.touches) == 10
    assert plan.preview.server == f"cache ({redis_server.address})"
    assert plan.confirmation_word() == "cache/tenant:*:oauth:token"

    # The bare pattern (the old word) and the pattern on another server are refused too.
    wrong_words = (
        None,
        "",
        "yes",
        "tenant:*",
        "tenant:*:oauth:token",
        "other/tenant:*:oauth:token",
    )
    for wrong in wrong_words:
        with pytest.raises(ConfirmationRequired, match="type 'cache/tenant:\\*:oauth:token'"):
            await provider.run_action(plan, confirmation=wrong)
    assert len(redis_server.client().keys("tenant:*")) == 12  # nothing was touched

    outcome = await provider.run_action(plan, confirmation="cache/tenant:*:oauth:token")
    assert outcome.ok and outcome.summary == "deleted 12 keys matching tenant:*:oauth:token"
    assert redis_server.client().keys("tenant:*") == []
    assert len(redis_server.client().keys("ratelimit:*")) == 30


async def test_flushdb_previews_the_key_count_and_needs_server_database_and_count_typed(
    redis_server: RedisServer, provider: RedisProvider
) -> None:
    seed_token_cache(redis_server)
    plan = await provider.plan_action("redis.flushdb", {})
    assert plan.preview.summary == (
        f"delete all 42 keys of db0 on {redis_server.address} (FLUSHDB)"
    )
    assert plan.confirmation_word() == "cache/db0/42-keys"
    for wrong in ("yes", "db0", "cache/db0", "cache/db0/41-keys", "other/db0/42-keys"):
        with pytest.raises(ConfirmationRequired, match="type 'cache/db0/42-keys'"):
            await provider.run_action(plan, confirmation=wrong)
    assert redis_server.client().dbsize() == 42
    outcome = await provider.run_action(plan, confirmation="cache/db0/42-keys")
    assert outcome.ok and redis_server.client().dbsize() == 0


async def test_kill_client_by_address(redis_server: RedisServer, provider: RedisProvider) -> None:
    victim = redis_server.client()
    victim.client_setname("stuck-worker")
    addr = next(c["addr"] for c in victim.client_list() if c["name"] == "stuck-worker")
    plan = await provider.plan_action("redis.kill_client", {"addr": addr})
    assert plan.preview.destructive is False
    assert plan.preview.summary.startswith(f"disconnect client {addr} from {redis_server.address}")
    assert "name=stuck-worker" in plan.preview.summary
    assert plan.confirmation_word() == addr  # not destructive: the client's address, never yes
    for wrong in (None, "yes"):
        with pytest.raises(ConfirmationRequired, match=f"type '{re.escape(addr)}'"):
            await provider.run_action(plan, confirmation=wrong)
    assert "stuck-worker" in [c["name"] for c in redis_server.client().client_list()]
    outcome = await provider.run_action(plan, confirmation=addr)
    assert outcome.ok
    names = [c["name"] for c in redis_server.client().client_list()]
    assert "stuck-worker" not in names


async def test_an_action_missing_its_parameter_is_refused(provider: RedisProvider) -> None:
    with pytest.raises(ValueError, match=r"redis\.delete_keys needs pattern"):
        await provider.plan_action("redis.delete_keys", {})
    with pytest.raises(KeyError, match=r"no action named 'redis\.nope'"):
        await provider.plan_action("redis.nope", {})
