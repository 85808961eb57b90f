"""A target whose URL names a port no one can connect to stays in the tree, failing, with the
reason; the other targets are shown and checked as usual."""

from __future__ import annotations

import pytest

from providers.contract import CheckStatus, Health
from providers.inventory import Target
from tests.servers.redis import RedisServer
from tests.tui.conftest import inventory_of, wait_until
from tui.app import TriageApp
from tui.screens.main_screen import MainScreen
from tui.widgets.check_results import CheckResults
from tui.widgets.service_tree import ServiceTree

pytestmark = pytest.mark.integration

BAD = {
    "redis:cache": (
        "redis://127.0.0.1:99999/0",
        "target cache: port 99999 is out of range 1-65535",
    ),
    "postgres:orders-db": (
        "postgresql://h:-5/db",
        "target orders-db: port -5 is out of range 1-65535",
    ),
    "http:api": ("http://127.0.0.1:abc/health", "target api: port 'abc' is not a number"),
}


async def test_bad_ports_stay_in_the_tree_failing_with_their_reason(
    redis_server: RedisServer,
) -> None:
    targets = [
        Target(kind=root.split(":")[0], name=root.split(":")[1], url=url, timeout=2)
        for root, (url, _) in BAD.items()
    ]
    good = Target(kind="redis", name="sessions", url=redis_server.url, timeout=2)
    app = TriageApp(inventory_of(*targets, good))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        assert isinstance(screen, MainScreen)
        tree = app.query_one(ServiceTree)
        roots = [*BAD, "redis:sessions"]
        await wait_until(
            pilot,
            lambda: all(tree.node_by_id(root) is not None for root in roots),
            state=lambda: [str(line.label) for line in tree.root.children],
        )
        for root, (_, reason) in BAD.items():
            node = tree.node_by_id(root)
            assert node is not None
            assert (node.status.health, node.status.reason) == (Health.FAILING, reason)
        labels = [str(line.label) for line in tree.root.children]
        assert labels[:3] == [f"✖ failing {root}  {reason}" for root, (_, reason) in BAD.items()]
        # The reachable target is discovered as usual.

        def health(root: str) -> Health | None:
            node = tree.node_by_id(root)
            return None if node is None else node.status.health

        await wait_until(pilot, lambda: health("redis:sessions") is Health.OK)

        # The first target is selected: its one result says why, like any check's.
        await wait_until(pilot, lambda: "target.url" in app.query_one(CheckResults).results)
        result = app.query_one(CheckResults).results["target.url"]
        assert (result.status, result.summary) == (CheckStatus.ERROR, BAD["redis:cache"][1])
