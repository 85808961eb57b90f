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
    # The SDK imported later (httpx: http comes after redis in SDK_ORDER) is held back.
    assert environment.SDK_ORDER.index("redis") < environment.SDK_ORDER.index("http")
    http_sdk = threading.Event()
    plain_import = environment._import_all

    def slow_http(modules: Iterable[str]) -> None:
        modules = list(modules)
        if "httpx" in modules and "pika" not in modules:
            assert http_sdk.wait(10), "the test never let the http SDK load"
        plain_import(modules)

    monkeypatch.setattr(environment, "_import_all", slow_http)
    live = LiveEnvironment(inventory)
    shown: list[str] = []

    def on_tree(tree: Node) -> None:
        shown.append(tree.id)

    discovering = asyncio.ensure_future(live.discover(on_tree))
    try:
        async with asyncio.timeout(10):
            while "redis:cache" not in shown:
                await asyncio.sleep(0.01)
        assert shown == ["redis:cache"]  # http waits for its SDK; redis did not wait for it
        assert not discovering.done()
    finally:
        http_sdk.set()
    trees = await asyncio.wait_for(discovering, 10)
    assert [tree.id for tree in trees] == ["redis:cache", "http:api"]
    assert sorted(shown) == ["http:api", "redis:cache"]
    await live.close()
