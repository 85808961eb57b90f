"""Sparklines of the selected node's values over the last sweeps."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Sparkline

from tui.trends import TrendFact

MAX_TRENDS = 2
MIN_SAMPLES = 3  # one or two points draw a block, not a trend


class Trends(Vertical):
    """One row per trend: its name, a sparkline, the latest value. Hidden when there are none."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.shown: list[tuple[str, list[float]]] = []

    def compose(self) -> ComposeResult:
        for index in range(MAX_TRENDS):
            with Horizontal(classes="trend hidden", id=f"trend-{index}"):
                yield Label("", classes="trend-label")
                yield Sparkline([], classes="trend-line")
                yield Label("", classes="trend-value")

    def show(self, trends: list[tuple[TrendFact, list[float]]]) -> None:
        trends = [(trend, values) for trend, values in trends if len(values) >= MIN_SAMPLES]
        wanted = [(trend.label, values) for trend, values in trends[:MAX_TRENDS]]
        if wanted == self.shown:
            return  # nothing changed: no redraw
        self.shown = wanted
        for index in range(MAX_TRENDS):
            row = self.query_one(f"#trend-{index}", Horizontal)
            if index >= len(trends):
                row.add_class("hidden")
                continue
            trend, values = trends[index]
            row.remove_class("hidden")
            row.query_one(".trend-label", Label).update(trend.label)
            row.query_one(Sparkline).data = values
            latest = values[-1]
            text = f"{latest:.0f}{trend.unit}" if trend.unit else f"{latest:,.0f}"
            row.query_one(".trend-value", Label).update(text)
        self.set_class(not trends, "hidden")
