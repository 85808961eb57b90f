"""The tree follows a backend's own change feed: a container that appears shows at once."""

from __future__ import annotations

import time

import pytest

from providers.contract import Health
from providers.inventory import Environment, Inventory, Settings, Target
from tests.servers.docker_engine import DockerEngine
from tests.tui.conftest import wait_until
from tui.app import TriageApp
from tui.widgets.service_tree import ServiceTree

pytestmark = pytest.mark.integration

LABELS = {"com.docker.compose.project": "shop", "com.docker.compose.container-number": "1"}


async def test_an_engine_event_updates_the_tree_without_waiting_for_a_sweep(
    docker_engine: DockerEngine,
    docker_client: object,  # removes the containers afterwards
) -> None:
    docker_engine.run(
        ["sleep", "300"], name="shop-api-1", labels={**LABELS, "com.docker.compose.service": "api"}
    )
    inventory = Inventory(
        settings=Settings(refresh_interval=600),  # no sweep will come to the rescue
        environments={
            "prod": Environment(
                targets=[
                    Target(kind="compose", name="docker", url=docker_engine.base_url, timeout=5)
                ]
            )
        },
        source="test",
    )
    app = TriageApp(inventory)
    async with app.run_test(size=(100, 30)) as pilot:
        tree = app.query_one(ServiceTree)
        await wait_until(pilot, lambda: tree.node_by_id("compose:docker/shop/api") is not None)
        assert tree.node_by_id("compose:docker/shop/worker") is None

        started = time.monotonic()
        docker_engine.run(
            ["sh", "-c", "exit 3"],
            name="shop-worker-1",
            labels={**LABELS, "com.docker.compose.service": "worker"},
        )
        await wait_until(
            pilot, lambda: tree.node_by_id("compose:docker/shop/worker") is not None, timeout=10
        )
        await wait_until(
            pilot,
            lambda: (
                tree.node_by_id("compose:docker/shop/worker").status.health  # type: ignore[union-attr]
                is Health.FAILING
            ),
            timeout=10,
        )
        assert time.monotonic() - started < 10  # well before the next sweep, 600 s away
