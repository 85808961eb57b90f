"""Regenerate the README's SVGs from a private Redis driven into a known incident.

Run with `make screenshots`. It starts its own redis-server on a free port (never the system
one), fills it to maxmemory, records some slow commands, and photographs triage watching it: one
picture per screen an operator meets, at 80x24 (the main screen at 120x36 too):

- main-80x24, main-120x36   the service tree, the slow log and the checks
- logs-80x24                the log pane full screen, with its lines and keys
- problems-80x24            what is wrong right now, with the runbook each points to
- walkthrough-found-80x24   the walkthrough opened on the Redis: the causes found live
- walkthrough-80x24         Enter on the first: its checks and causes with their evidence
- confirm-80x24             its destructive fix, waiting for its target typed
- verify-80x24              the fix done (the fill keys deleted) and verified, before and after

Each picture is taken once the screen shows what its name says, or the script fails saying
which did not come.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from textual.pilot import Pilot

from providers.inventory import Environment, Inventory, Target
from tests.servers.redis import start_redis
from tui.app import TriageApp
from tui.screens.confirm_fix import ConfirmFix
from tui.screens.main_screen import MainScreen
from tui.screens.problems import ProblemsScreen
from tui.screens.walkthrough import Walkthrough
from tui.widgets.check_results import CheckResults
from tui.widgets.log_tail import LogTail
from tui.widgets.log_view import LogView

HERE = Path(__file__).parent
SETTLE_SECONDS = 15
TARGET_WORD = "cache/fill:*"  # what the destructive fix of the incident wants typed


def incident_app(url: str) -> TriageApp:
    inventory = Inventory(
        environments={
            "prod": Environment(
                targets=[Target(kind="redis", name="cache", url=url)],
                params={"pattern": "fill:*"},
            )
        },
        source="triage.yaml",
    )
    return TriageApp(inventory)


class Camera:
    """Waits for what a picture must show, then takes it."""

    def __init__(self, app: TriageApp, pilot: Pilot[int]) -> None:
        self.app, self.pilot = app, pilot
        self.taken: list[Path] = []

    async def until(self, what: str, done: Callable[[], bool]) -> None:
        deadline = time.monotonic() + SETTLE_SECONDS
        while not done():
            if time.monotonic() > deadline:
                raise SystemExit(f"screenshots: {what} not reached within {SETTLE_SECONDS}s")
            await self.pilot.pause(0.1)

    async def take(self, name: str) -> None:
        await self.pilot.pause(0.2)
        self.app.save_screenshot(filename=f"{name}.svg", path=str(HERE))
        self.taken.append(HERE / f"{name}.svg")

    async def main_settled(self) -> MainScreen:
        app = self.app
        await self.until("the main screen", lambda: isinstance(app.screen, MainScreen))
        checks, tail = app.query_one(CheckResults), app.query_one(LogTail)
        await self.until(
            "the checks and the log", lambda: len(checks.results) >= 3 and tail.view.line_count >= 3
        )
        return app.screen  # type: ignore[return-value]


async def photograph_main(url: str, size: tuple[int, int]) -> list[Path]:
    """The main screen, the memory check's evidence under its table."""
    app = incident_app(url)
    async with app.run_test(size=size) as pilot:
        camera = Camera(app, pilot)
        await camera.main_settled()
        await pilot.press("tab", "tab", "down")
        await camera.take(f"main-{size[0]}x{size[1]}")
    return camera.taken


async def photograph_logs_and_problems(url: str) -> list[Path]:
    """The log pane full screen (as the palette's Maximize makes it), then the problems."""
    app = incident_app(url)
    async with app.run_test(size=(80, 24)) as pilot:
        camera = Camera(app, pilot)
        main = await camera.main_settled()
        main.query_one(LogView).focus()
        await pilot.pause()
        main.action_maximize()
        await camera.until("the log full screen", lambda: main.maximized is not None)
        await camera.take("logs-80x24")
        await pilot.press("escape")
        await camera.until("the panes again", lambda: main.maximized is None)
        await camera.until("the runbook library", lambda: app.library is not None)
        main.action_refresh_status()  # a sweep with the runbooks in names each one's runbook
        await camera.until(
            "the problems with their runbooks",
            lambda: bool(main.problems) and bool(main.problems[0].suggestions),
        )
        await pilot.press("p")
        await camera.until("the problems", lambda: isinstance(app.screen, ProblemsScreen))
        await camera.take("problems-80x24")
    return camera.taken


async def photograph_walkthrough(url: str) -> list[Path]:
    """The walkthrough opened on the Redis with nothing typed: the causes found live, Enter on
    the first (its checks and causes with evidence), Enter on that cause (its destructive fix,
    the target typed), Enter again (done, and verified)."""
    app = incident_app(url)
    async with app.run_test(size=(80, 24)) as pilot:
        camera = Camera(app, pilot)
        await camera.main_settled()
        await camera.until("the runbook library", lambda: app.library is not None)
        await pilot.press("w")
        await camera.until("the walkthrough", lambda: isinstance(app.screen, Walkthrough))
        walkthrough = app.screen
        assert isinstance(walkthrough, Walkthrough)
        await camera.until("the live diagnosis", lambda: walkthrough.reported_for is not None)
        await camera.take("walkthrough-found-80x24")
        await pilot.press("enter")  # the first cause found
        await camera.until("the cause's diagnosis", lambda: walkthrough.diagnosis is not None)
        await camera.take("walkthrough-80x24")
        await pilot.press("enter")  # its first fix: delete the keys that filled it
        await camera.until("the fix's confirmation", lambda: isinstance(app.screen, ConfirmFix))
        dialog = app.screen
        assert isinstance(dialog, ConfirmFix) and dialog.planned.destructive
        if dialog.planned.confirmation_word != TARGET_WORD:
            raise SystemExit(f"screenshots: the fix wants {dialog.planned.confirmation_word!r}")
        await pilot.press(*TARGET_WORD)
        await camera.take("confirm-80x24")
        await pilot.press("enter")
        await camera.until("the verification", lambda: "Verify checks" in walkthrough.result_text())
        await camera.take("verify-80x24")
    return camera.taken


def main() -> None:
    with tempfile.TemporaryDirectory() as workdir, start_redis(Path(workdir)) as server:
        client = server.client()
        client.config_set("slowlog-log-slower-than", 0)
        client.set("tenant:001:oauth:token", "x" * 100, ex=3600)
        server.fill_to_maxmemory("2mb")
        for pattern in ("tenant:*:oauth:token", "ratelimit:*"):
            client.keys(pattern)  # what an application should not do, for the slow log
        client.config_set("slowlog-log-slower-than", 10_000)
        taken = [
            *asyncio.run(photograph_main(server.url, (80, 24))),
            *asyncio.run(photograph_main(server.url, (120, 36))),
            *asyncio.run(photograph_logs_and_problems(server.url)),
            *asyncio.run(photograph_walkthrough(server.url)),  # last: its fix deletes the keys
        ]
        for path in taken:
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
