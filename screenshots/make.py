"""Regenerate the README's SVGs from a private Redis driven into a known incident.

Run with `make screenshots`. It starts its own redis-server on a free port (never the system
one), fills it to maxmemory, records some slow commands, and photographs triage watching it
and its walkthrough of the incident (checks done, causes ranked with their evidence).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from providers.inventory import Environment, Inventory, Target
from tests.servers.redis import start_redis
from tui.app import TriageApp
from tui.screens.main_screen import MainScreen
from tui.screens.walkthrough import Walkthrough
from tui.widgets.check_results import CheckResults
from tui.widgets.log_tail import LogTail

HERE = Path(__file__).parent
SYMPTOM = "OOM command not allowed when used memory > 'maxmemory'"


async def photograph(url: str, name: str, size: tuple[int, int]) -> Path:
    inventory = Inventory(
        environments={"prod": Environment(targets=[Target(kind="redis", name="cache", url=url)])},
        source="triage.yaml",
    )
    app = TriageApp(inventory)
    async with app.run_test(size=size) as pilot:
        screen = app.screen
        assert isinstance(screen, MainScreen)
        deadline = time.monotonic() + 15
        checks, tail = app.query_one(CheckResults), app.query_one(LogTail)
        while len(checks.results) < 3 or tail.view.line_count < 3:
            if time.monotonic() > deadline:
                raise SystemExit(f"{name}: the app did not settle within 15s")
            await pilot.pause(0.1)
        await pilot.press("tab", "tab", "down")
        await pilot.pause(0.2)
        path = HERE / f"{name}.svg"
        app.save_screenshot(filename=path.name, path=str(HERE))
    return path


async def photograph_walkthrough(url: str, name: str, size: tuple[int, int]) -> list[Path]:
    """The walkthrough on the same Redis, opened on it with nothing typed: the causes found
    live (`{name}-found`), then Enter on the first: its checks and causes with evidence."""
    inventory = Inventory(
        environments={
            "prod": Environment(
                targets=[Target(kind="redis", name="cache", url=url)],
                params={"pattern": "fill:*"},
            )
        },
        source="triage.yaml",
    )
    app = TriageApp(inventory)
    paths = []
    async with app.run_test(size=size) as pilot:
        deadline = time.monotonic() + 15

        async def settle(what: str, done: Callable[[], bool]) -> None:
            while not done():
                if time.monotonic() > deadline:
                    raise SystemExit(f"{name}: {what} not reached within 15s")
                await pilot.pause(0.1)

        await settle("the runbook library", lambda: app.library is not None)
        await pilot.press("w")
        await settle("the walkthrough", lambda: isinstance(app.screen, Walkthrough))
        walkthrough = app.screen
        assert isinstance(walkthrough, Walkthrough)
        await settle("the live diagnosis", lambda: walkthrough.report is not None)
        await pilot.pause(0.2)
        for stem, ready in (
            (f"{name.replace('-', '-found-', 1)}", lambda: True),
            (name, lambda: walkthrough.diagnosis is not None),
        ):
            if stem == name:
                await pilot.press("enter")  # the first cause found
            await settle(stem, ready)
            await pilot.pause(0.2)
            path = HERE / f"{stem}.svg"
            app.save_screenshot(filename=path.name, path=str(HERE))
            paths.append(path)
    return paths


def main() -> None:
    with tempfile.TemporaryDirectory() as workdir, start_redis(Path(workdir)) as server:
        client = server.client()
        client.config_set("slowlog-log-slower-than", 0)
        client.set("tenant:001:oauth:token", "x" * 100, ex=3600)
        server.fill_to_maxmemory("2mb")
        for pattern in ("tenant:*:oauth:token", "ratelimit:*"):
            client.keys(pattern)  # what an application should not do, for the slow log
        client.config_set("slowlog-log-slower-than", 10_000)
        for size in ((80, 24), (120, 36)):
            path = asyncio.run(photograph(server.url, f"main-{size[0]}x{size[1]}", size))
            print(f"wrote {path}")
        for path in asyncio.run(photograph_walkthrough(server.url, "walkthrough-80x24", (80, 24))):
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
