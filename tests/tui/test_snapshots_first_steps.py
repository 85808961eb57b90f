"""The keys panel, a check's whole text and the empty context picker, pinned at 80x24 and
120x40; what each shows is asserted first (tests/tui/test_first_steps.py has the rest)."""

from __future__ import annotations

import pytest

from tests.tui.test_first_steps import incident_app, settled
from tui.screens.check_detail import CheckDetail
from tui.screens.environments import EnvironmentPicker
from tui.screens.keys import KeysScreen

SIZES = [(80, 24), (120, 40)]


@pytest.mark.usefixtures("recorded_kind")
class TestFirstSteps:
    @pytest.mark.parametrize("size", SIZES)
    def test_the_keys_of_the_main_screen(self, snap_compare, size) -> None:  # type: ignore[no-untyped-def]
        async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
            await settled(pilot)
            await pilot.press("question_mark")
            panel = pilot.app.screen
            assert isinstance(panel, KeysScreen)
            assert panel.text().splitlines()[:2] == ["Main screen:", "           r Re-run checks"]
            await pilot.pause()

        assert snap_compare(incident_app("cache"), terminal_size=size, run_before=run_before)

    @pytest.mark.parametrize("size", SIZES)
    def test_a_checks_whole_text(self, snap_compare, size) -> None:  # type: ignore[no-untyped-def]
        async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
            await settled(pilot)
            await pilot.press("tab", "tab", "down", "enter")
            detail = pilot.app.screen
            assert isinstance(detail, CheckDetail) and detail.result.check == "redis.memory"
            await pilot.pause()

        assert snap_compare(incident_app("cache"), terminal_size=size, run_before=run_before)

    def test_no_context_to_switch(self, snap_compare) -> None:  # type: ignore[no-untyped-def]
        async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
            await settled(pilot)
            await pilot.press("C")
            assert isinstance(pilot.app.screen, EnvironmentPicker)
            await pilot.pause()

        assert snap_compare(incident_app("cache"), terminal_size=(80, 24), run_before=run_before)
