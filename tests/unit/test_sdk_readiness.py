"""Each kind's providers start once their own SDK is imported, not when every SDK is."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable

import pytest

from providers import environment
from providers.contract import Node
from providers.environment import LiveEnvironment
from providers.inventory import Environment, Inventory, Target
from tests.servers.process import free_port


async def test_a_target_shows_while_another_kinds_sdk_is_still_loading(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    closed = free_port()  # nothing listens: each target answers "refused" at once
    inventory = Inventory(
        environments={
            "local": Environment(
                targets=[
                    Target(kind="redis", name="cache", url=f"redis://127.0.0.1:{closed}"),
                    Target(kind="http", name="api", url=f"http://127.0.0.1:{closed}/health"),
                ]
            )
        },
        source="test",
    )
    redis_sdk = threading.Event()
    plain_import = environment._import_all

    def slow_redis(modules: Iterable[str]) -> None:
        modules = list(modules)
        if "redis.asyncio" in modules:
            assert redis_sdk.wait(10), "the test never let the redis SDK load"
        plain_import(modules)

    monkeypatch.setattr(environment, "_import_all", slow_redis)
    live = LiveEnvironment(inventory)
    shown: list[str] = []

    def on_tree(tree: Node) -> None:
        shown.append(tree.id)

    discovering = asyncio.ensure_future(live.discover(on_tree))
    try:
        async with asyncio.timeout(10):
            while "http:api" not in shown:
                await asyncio.sleep(0.01)
        assert shown == ["http:api"]  # redis waits for its SDK; http did not wait for it
        assert not discovering.done()
    finally:
        redis_sdk.set()
    trees = await asyncio.wait_for(discovering, 10)
    assert [tree.id for tree in trees] == ["redis:cache", "http:api"]
    assert sorted(shown) == ["http:api", "redis:cache"]
    await live.close()
