"""Sparklines of the selected node's values over the last sweeps."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Sparkline

from tui.trends import TrendFact

MAX_TRENDS = 2
MIN_SAMPLES = 3  # one or two points draw a block, not a trend
LEVELS = 16  # a sparkline's resolution: changes finer than 1/16 of the peak are noise


def picture(values: list[float]) -> list[float]:
    """The values as the sparkline can show them: in sixteenths of the series' peak.

    A sparkline stretches its data between its minimum and maximum, so 1,048,576 and 1,048,600
    bytes would draw as a cliff; quantised against the peak, a flat series stays flat (and so
    draws the same picture every sweep: nothing is redrawn).
    """
    peak = max((abs(value) for value in values), default=0.0)
    if peak == 0:
        return [0.0 for _ in values]
    steps = [round(value / peak * LEVELS) for value in values]
    if len(set(steps)) == 1:
        return [1.0 for _ in values]
    return [float(step) for step in steps]


def value_text(latest: float, unit: str) -> str:
    return f"{latest:.0f}{unit}" if unit else f"{latest:,.0f}"


class Trends(Vertical):
    """One row per trend: its name, a sparkline, the latest value. Hidden when there are none."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.shown: list[tuple[str, str, tuple[float, ...] | None]] = []

    def compose(self) -> ComposeResult:
        for index in range(MAX_TRENDS):
            with Horizontal(classes="trend hidden", id=f"trend-{index}"):
                yield Label("", classes="trend-label")
                yield Sparkline([], classes="trend-line")
                yield Label("", classes="trend-value")

    def show(self, trends: list[tuple[TrendFact, list[float]]]) -> None:
        """Draw what changed, and only that: an idle environment redraws nothing."""
        trends = [(trend, values) for trend, values in trends if len(values) >= MIN_SAMPLES]
        trends = trends[:MAX_TRENDS]
        wanted: list[tuple[str, str, tuple[float, ...] | None]] = []
        drawings = [picture(values) for _, values in trends]
        for (trend, values), drawn in zip(trends, drawings, strict=True):
            # A flat line draws the same however many samples it has.
            shape = None if len(set(drawn)) <= 1 else tuple(drawn)
            wanted.append((trend.label, value_text(values[-1], trend.unit), shape))
        if wanted == self.shown:
            return
        previous, self.shown = self.shown, wanted
        for index in range(MAX_TRENDS):
            row = self.query_one(f"#trend-{index}", Horizontal)
            if index >= len(trends):
                row.add_class("hidden")
                continue
            label, text, shape = wanted[index]
            before = previous[index] if index < len(previous) else None
            row.remove_class("hidden")
            if before is None or before[0] != label:
                row.query_one(".trend-label", Label).update(label, layout=False)
            if before is None or before[2] != shape or before[0] != label:
                row.query_one(Sparkline).data = drawings[index]
            if before is None or before[1] != text:
                row.query_one(".trend-value", Label).update(text, layout=False)
        self.set_class(not trends, "hidden")
