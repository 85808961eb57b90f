"""Sparklines of the selected node's values over the last sweeps."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Label

from tui.trends import TrendFact

MAX_TRENDS = 2
MIN_SAMPLES = 3  # one or two points draw a block, not a trend
LEVELS = 16  # a line's resolution: changes finer than 1/16 of the peak are noise
BARS = "▁▂▃▄▅▆▇█"


def picture(values: list[float]) -> tuple[int, ...]:
    """The values as a line can show them: in sixteenths of the series' peak, from zero.

    Measured from zero, 1,048,576 and 1,048,600 bytes draw the same bar (a line stretched
    between its minimum and maximum would draw a cliff), so a flat series draws the same
    picture every sweep and nothing is redrawn.
    """
    peak = max((abs(value) for value in values), default=0.0)
    if peak == 0:
        return tuple(0 for _ in values)
    return tuple(round(abs(value) / peak * LEVELS) for value in values)


def bars(levels: tuple[int, ...], width: int) -> str:
    """The levels spread over `width` cells, each cell the highest level that falls in it;
    no levels (too few samples yet) draw nothing."""
    count = len(levels)
    if not count or width <= 0:
        return ""
    cells = []
    for x in range(width):
        first = x * count // width
        last = max(first + 1, (x + 1) * count // width)
        level = max(levels[first:last])
        cells.append(BARS[min(len(BARS) - 1, level * len(BARS) // (LEVELS + 1))])
    return "".join(cells)


def value_text(latest: float, unit: str) -> str:
    return f"{latest:.0f}{unit}" if unit else f"{latest:,.0f}"


class TrendLine(Widget):
    """A sparkline drawn as one run of text in one colour: redrawn over SSH it costs a few
    bytes a cell, not an escape sequence per bar (Textual's Sparkline styles each bar)."""

    DEFAULT_CSS = "TrendLine { height: 1; }"

    levels: reactive[tuple[int, ...]] = reactive(tuple, layout=False)

    def render(self) -> Text:
        return Text(bars(self.levels, self.size.width), style=self.rich_style, end="")


class Trends(Vertical):
    """One row per trend: its name, a sparkline, the latest value. Hidden when there are none."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.shown: list[tuple[str, str, tuple[int, ...]]] = []

    def compose(self) -> ComposeResult:
        for index in range(MAX_TRENDS):
            with Horizontal(classes="trend hidden", id=f"trend-{index}"):
                yield Label("", classes="trend-label")
                yield TrendLine(classes="trend-line")
                yield Label("", classes="trend-value")

    def show(self, trends: list[tuple[TrendFact, list[float]]]) -> None:
        """Draw what changed, and only that: an idle environment redraws nothing.

        A trend's row shows from its first sample (its line flat until MIN_SAMPLES), so the
        pane's layout is settled by the first result, not moved again sweeps later."""
        trends = [(trend, values) for trend, values in trends if values][:MAX_TRENDS]
        wanted: list[tuple[str, str, tuple[int, ...]]] = []
        for trend, values in trends:
            drawn = picture(values) if len(values) >= MIN_SAMPLES else ()
            # A flat line draws the same however many samples it has.
            shape = drawn[:1] if len(set(drawn)) == 1 else drawn
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
            if before is None or before[2] != shape:
                row.query_one(TrendLine).levels = shape
            if before is None or before[1] != text:
                row.query_one(".trend-value", Label).update(text, layout=False)
        self.set_class(not trends, "hidden")
