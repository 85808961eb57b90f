"""What the main screen looks like, pinned. Behaviour is asserted before each picture."""

from __future__ import annotations

import pytest

from providers.inventory import Target
from tests.tui.conftest import inventory_of, wait_for_group, wait_until
from tui.app import TriageApp
from tui.widgets.log_tail import LogTail


def recorded_app() -> TriageApp:
    return TriageApp(inventory_of(Target(kind="recorded", name="cache"), name="prod"))


async def settle(pilot) -> None:  # type: ignore[no-untyped-def]
    app = pilot.app
    await wait_until(pilot, lambda: app.screen.selected is not None)
    await wait_for_group(app, "checks")
    tail = app.query_one(LogTail)
    await wait_until(pilot, lambda: tail.log.line_count == 4)
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
