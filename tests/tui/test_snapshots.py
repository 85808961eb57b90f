"""What the main screen looks like, pinned. Behaviour is asserted before each picture."""

from __future__ import annotations

import pytest

from providers.inventory import Target
from tests.tui.conftest import inventory_of, wait_for_group, wait_until
from tui.app import TriageApp
from tui.widgets.log_tail import LogTail
from tui.widgets.service_tree import ServiceTree

TARGETS = ("cache", "orders-db", "broker", "api")


def recorded_app(*names: str) -> TriageApp:
    targets = [Target(kind="recorded", name=name) for name in names or ("cache",)]
    return TriageApp(inventory_of(*targets, name="prod"))


async def settle(pilot) -> None:  # type: ignore[no-untyped-def]
    app = pilot.app
    await wait_until(pilot, lambda: app.screen.selected is not None)
    await wait_for_group(app, "checks")
    tail = app.query_one(LogTail)
    await wait_until(pilot, lambda: tail.view.line_count == 4)
    await pilot.pause()


@pytest.mark.usefixtures("recorded_kind")
class TestMainScreen:
    @pytest.mark.parametrize("size", [(80, 24), (120, 40)])
    def test_redis_at_maxmemory(self, snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
        assert snap_compare(recorded_app(), terminal_size=size, run_before=settle)

    def test_memory_check_evidence(self, snap_compare) -> None:  # type: ignore[no-untyped-def]
        async def select_memory(pilot) -> None:  # type: ignore[no-untyped-def]
            await settle(pilot)
            await pilot.press("tab", "tab", "down")
            await pilot.pause()

        assert snap_compare(recorded_app(), terminal_size=(80, 24), run_before=select_memory)

    @pytest.mark.parametrize("size", [(80, 24), (120, 40)])
    def test_an_incident_across_four_providers(  # type: ignore[no-untyped-def]
        self, snap_compare, size: tuple[int, int]
    ) -> None:
        async def show_every_target(pilot) -> None:  # type: ignore[no-untyped-def]
            await settle(pilot)
            tree = pilot.app.query_one(ServiceTree)
            # What the tree must say before the picture is taken: each target and its health.
            health = {
                node_id: tree.node_by_id(node_id).status.health.value  # type: ignore[union-attr]
                for node_id in (
                    "recorded:cache",
                    "recorded:orders-db",
                    "recorded:broker",
                    "recorded:api",
                    "recorded:broker///inbound-messages",
                )
            }
            assert health == {
                "recorded:cache": "failing",
                "recorded:orders-db": "degraded",
                "recorded:broker": "ok",
                "recorded:api": "failing",
                "recorded:broker///inbound-messages": "degraded",
            }
            tree.focus()
            tree.point_at("recorded:orders-db")
            await pilot.press("enter")
            await wait_until(pilot, lambda: pilot.app.screen.selected.id == "recorded:orders-db")
            await wait_for_group(pilot.app, "checks")
            await pilot.pause()

        assert snap_compare(
            recorded_app(*TARGETS), terminal_size=size, run_before=show_every_target
        )
