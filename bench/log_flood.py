"""How many log lines per second the log pane takes in and draws, in a headless app.

Each batch of 5,000 lines (a flood handed over by `Provider.log_batches` while the pane was busy)
is appended, then every row on screen is drawn with `render_line`, as a frame would, then the
app's loop runs.
Textual's `Log` fed the same batches is measured the same way, for reference.

Run: `python -m bench.log_flood` (add `--total 500000` for a longer flood).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from textual.app import App, ComposeResult
from textual.widget import Widget
from textual.widgets import Log

import tui
from providers.contract import LogLine
from tui.widgets.log_tail import LogTail

BATCH = 5_000
MAX_LINES = 10_000
LEVELS = ("info", "info", "debug", "warn", "error")


def make_lines(total: int) -> list[LogLine]:
    """A noisy service: mixed levels, two sources, one line in ten JSON."""
    start = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
    lines = []
    for n in range(total):
        level = LEVELS[n % len(LEVELS)]
        text = f"GET /orders/{n} 200 in {n % 97}ms user=u{n % 13} trace=abc{n:08x}"
        if n % 10 == 0:
            text = json.dumps({"level": level, "msg": "order placed", "order": n, "ms": n % 97})
        source = "api-1" if n % 3 else "api-2"
        lines.append(LogLine(start + timedelta(milliseconds=n), source, level, text))
    return lines


class FloodApp(App[None]):
    CSS_PATH = str(Path(tui.__file__).parent / "app.tcss")

    def __init__(self, pane: Callable[[], Widget]) -> None:
        super().__init__()
        self.pane = pane

    def compose(self) -> ComposeResult:
        yield self.pane()


async def measure(lines: list[LogLine], *, setup: str = "", textual_log: bool = False) -> float:
    """Lines per second through append and drawing, for one way of using the pane."""

    def pane() -> Widget:
        if textual_log:
            return Log(max_lines=MAX_LINES)
        return LogTail(max_lines=MAX_LINES, id="log-tail")

    app = FloodApp(pane)
    append: Callable[[Sequence[LogLine]], None]
    async with app.run_test(size=(120, 40)) as pilot:
        if textual_log:
            log = app.query_one(Log)
            view: Widget = log

            def append(batch: Sequence[LogLine]) -> None:
                log.write_lines(f"{x.time:%H:%M:%S} {x.level:<5} {x.text}" for x in batch)
        else:
            tail = app.query_one(LogTail)
            tail.start("api", available=True)
            view = tail.view
            if setup:
                await pilot.press(*setup.split())
            append = tail.append
        await pilot.pause()
        began = time.perf_counter()
        for start in range(0, len(lines), BATCH):
            append(lines[start : start + BATCH])
            for y in range(view.size.height):
                view.render_line(y)
            await pilot.pause()
        elapsed = time.perf_counter() - began
    return len(lines) / elapsed


SCENARIOS = {
    "LogTail, following": "",
    "LogTail, filter /error|warn/": "backslash / e r r o r | w a r n / enter",
    "LogTail, search 'order' highlighted": "slash o r d e r enter end",
    "LogTail, wrap on": "W",
    "LogTail, paused": "up",
}


async def main(total: int) -> None:
    lines = make_lines(total)
    print(f"{total:,} lines in batches of {BATCH:,}, buffer {MAX_LINES:,}, 120x40, headless")
    for name, keys in SCENARIOS.items():
        print(f"{name:<38} {await measure(lines, setup=keys):>12,.0f} lines/s")
    reference = await measure(lines, textual_log=True)
    print(f"{'textual Log.write_lines (no colour)':<38} {reference:>12,.0f} lines/s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=int, default=200_000, help="lines to append")
    asyncio.run(main(parser.parse_args().total))
