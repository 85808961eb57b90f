"""The main screen on three container platforms, pinned: compose, Kubernetes and ECS.

The pictures replay recordings/platforms.json (record_platforms.py recorded it from the real
providers against a private Docker engine, the fake Kubernetes API and the moto server).
What the tree says is asserted before each picture; behaviour against the live backends is in
test_platforms_live.py.
"""

from __future__ import annotations

import copy

import pytest

from providers.inventory import Target
from tests.tui import recorded
from tests.tui.conftest import inventory_of, wait_for_group, wait_until
from tui.app import TriageApp
from tui.widgets.log_tail import LogTail
from tui.widgets.service_tree import NodeDetail, ServiceTree

TARGETS = ("docker", "eks", "aws")
WORKER = "recorded:docker/shop/worker"
SERVICE = "recorded:aws/shop-prod/shop-prod-api"
HEALTH = {
    "recorded:docker": "failing",
    "recorded:docker/shop": "failing",
    "recorded:docker/shop/api": "ok",
    WORKER: "failing",
    "recorded:eks": "degraded",
    "recorded:eks/prod": "degraded",
    "recorded:eks/prod/deployment/checkout": "degraded",
    "recorded:eks/prod/pod/checkout-7c9f8d6b5-aaaaa0": "ok",
    "recorded:eks/prod/pod/checkout-7c9f8d6b5-bbbbb1": "failing",
    "recorded:aws": "failing",
    "recorded:aws/shop-prod": "failing",
    SERVICE: "failing",
}


def platforms_app() -> TriageApp:
    targets = [
        Target(kind="recorded", name=name, options={"recording": "platforms"}) for name in TARGETS
    ]
    return TriageApp(inventory_of(*targets, name="prod"))


async def select(pilot, node_id: str, lines: int) -> None:  # type: ignore[no-untyped-def]
    """Wait for the first sweep, assert the tree's health, then choose a node with the keys."""
    app = pilot.app
    await wait_until(pilot, lambda: getattr(app.screen, "selected", None) is not None)
    tree = app.query_one(ServiceTree)
    await wait_until(pilot, lambda: all(tree.node_by_id(node) for node in HEALTH))
    health = {node: tree.node_by_id(node).status.health.value for node in HEALTH}  # type: ignore[union-attr]
    assert health == HEALTH
    tree.focus()
    tree.point_at(node_id)
    await pilot.press("enter")
    await wait_until(pilot, lambda: app.screen.selected.id == node_id)
    await wait_for_group(app, "checks")
    tail = app.query_one(LogTail)
    await wait_until(pilot, lambda: tail.view.line_count == lines)
    view = tail.view

    detail = app.query_one(NodeDetail)

    def settled() -> bool:
        """The log following, its scrollbars laid out for its lines, at its bottom; the line
        under the tree shown exactly when the tree cuts the cursor's line."""
        wide = view.virtual_size.width > view.scrollable_content_region.width
        laid_out = view.show_horizontal_scrollbar == wide
        cursor = tree.cursor_node
        cut = cursor is not None and tree.cut_off(cursor)
        tall = tree.virtual_size.height > tree.scrollable_content_region.height
        return (
            view.following
            and laid_out
            and view.scroll_y == view.max_scroll_y
            and detail.display == cut
            and tree.show_vertical_scrollbar == tall  # the tree laid out for that line too
            and not tree.is_scrolling  # nor still scrolling to the cursor
        )

    await wait_until(pilot, settled)
    await pilot.pause()


@pytest.mark.usefixtures("recorded_kind")
class TestPlatforms:
    @pytest.mark.parametrize("size", [(80, 24), (120, 40)])
    def test_compose_kubernetes_and_ecs_in_one_tree(  # type: ignore[no-untyped-def]
        self, snap_compare, size: tuple[int, int]
    ) -> None:
        async def crash_looping_worker(pilot) -> None:  # type: ignore[no-untyped-def]
            await select(pilot, WORKER, 8)
            tail = pilot.app.query_one(LogTail)
            assert any("QUEUE_URL is not set" in text for text in tail.view.visible_texts())
            tree = pilot.app.query_one(ServiceTree)
            reason = tree.node_by_id("recorded:eks/prod/pod/checkout-7c9f8d6b5-bbbbb1").status  # type: ignore[union-attr]
            assert reason.reason.startswith("CrashLoopBackOff (last: OOMKilled, exit code 137)")

        assert snap_compare(platforms_app(), terminal_size=size, run_before=crash_looping_worker)

    @pytest.mark.parametrize("size", [(80, 24), (120, 40)])
    def test_ecs_service_with_its_cloudwatch_tail(  # type: ignore[no-untyped-def]
        self, snap_compare, size: tuple[int, int]
    ) -> None:
        async def ecs_service(pilot) -> None:  # type: ignore[no-untyped-def]
            await select(pilot, SERVICE, 5)
            texts = pilot.app.query_one(LogTail).view.visible_texts()
            assert any("following CloudWatch Logs /ecs/shop-prod/api" in text for text in texts)
            assert any("SIGTERM received" in text for text in texts)
            tree = pilot.app.query_one(ServiceTree)
            service = tree.node_by_id(SERVICE)
            assert service is not None and service.status.reason.startswith("0/2 running")
            tasks = [child.status.reason for child in service.children]
            assert len(tasks) == 2 and all("CannotPullContainerError" in r for r in tasks)

        assert snap_compare(platforms_app(), terminal_size=size, run_before=ecs_service)


async def test_a_log_line_that_matches_a_runbook_becomes_a_problem(
    recorded_kind: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The signatures are looked for off the event loop; what they find reaches the list."""
    recording = copy.deepcopy(recorded._recording("platforms"))
    worker = recording["logs"]["compose:docker/shop/worker"]
    worker.append([worker[-1][0], "shop-worker-1", "err", "Failed to obtain OAuth token"])
    monkeypatch.setattr(recorded, "_recording", lambda name="incident": recording)
    app = platforms_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await select(pilot, WORKER, lines=9)
        main = app.screen
        await wait_until(
            pilot,
            lambda: any(p.origin == "log" for p in main.problems),
            state=lambda: (
                app.library is not None,
                main.selected.id if main.selected else None,
                main.query_one(LogTail).view.visible_texts()[-2:],
                [(p.origin, p.text) for p in main.problems],
            ),
        )
        found = [p for p in main.problems if p.origin == "log"]
        assert [(p.node_id, p.text) for p in found] == [(WORKER, "Failed to obtain OAuth token")]
        main.post_message(main.LogProblems(WORKER, found))  # found again (a rescan): one problem
        await pilot.pause()
        assert [p for p in main.problems if p.origin == "log"] == found
        assert found[0].suggestions[0].runbook.id == "api-genesys-integration"
