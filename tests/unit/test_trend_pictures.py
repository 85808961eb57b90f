"""Trend lines: what a series draws, and that noise draws the same picture every sweep."""

from __future__ import annotations

from providers.contract import CheckResult, CheckStatus
from tui.trends import TrendHistory
from tui.widgets.trends import BARS, LEVELS, bars, picture


def test_a_flat_series_of_large_numbers_draws_full_bars_however_it_wobbles() -> None:
    assert picture([1_048_576, 1_048_600, 1_048_590]) == (LEVELS, LEVELS, LEVELS)
    assert bars(picture([1_048_576, 1_048_600]), 4) == BARS[-1] * 4


def test_levels_are_measured_from_zero_not_stretched_between_min_and_max() -> None:
    levels = picture([8, 9, 8])
    assert levels == (14, 16, 14)
    # 8 of 9 is a slightly shorter bar, not the bottom of a cliff.
    assert bars(levels, 3) == "▇█▇"
    assert picture([0, 0]) == (0, 0)
    assert bars(picture([0, 0]), 2) == BARS[0] * 2


def test_few_samples_spread_over_the_width_and_many_keep_each_cells_highest() -> None:
    assert bars((0, 16), 4) == BARS[0] * 2 + BARS[-1] * 2
    assert bars((0, 16, 0, 0), 2) == BARS[-1] + BARS[0]
    assert bars((), 10) == ""  # too few samples yet: nothing drawn
    assert bars((16,), 0) == ""


def test_two_checks_feeding_one_label_make_one_trend_row() -> None:
    history = TrendHistory()
    for restarts in (5, 6):
        history.add(
            [
                CheckResult(
                    check="compose.restart_loop",
                    target="shop",
                    status=CheckStatus.FAIL,
                    summary="restarting",
                    facts={"restart_count": restarts},
                    node_id="compose:shop/worker",
                )
            ]
        )
    trends = history.of("compose:shop/worker")
    assert [(trend.label, values) for trend, values in trends] == [("restarts", [5.0, 6.0])]
