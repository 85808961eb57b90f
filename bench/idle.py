"""Idle: the real triage watching quiet private servers, nothing changing, nobody at the keys.

Two windows of the same run. The first minute once the tree is populated and the app has
settled (10 s with --quick): the refreshes are still every 10 s, then 20, 40 (the back-off
grows while nothing changes), so it holds two refreshes. Then, once the back-off has reached
its ceiling (`idle_backoff` x `refresh_interval`, 80 s by default), two whole refresh periods:
the pace triage keeps for as long as it is left open and nothing changes (skipped with
--quick). CPU time comes from /proc/PID/stat, bytes are what reached the terminal. Goals:
<= 0.3% of a core in both windows and <= 100 B/s over the first minute. Anchor: a bare Textual
app in the same pty harness.
"""

from __future__ import annotations

import time
from pathlib import Path

from bench.harness import (
    Figure,
    PtyApp,
    bare_command,
    running,
    settle,
    triage_command,
    write_inventory,
)
from bench.servers import Servers

CPU_GOAL = 0.3  # percent of one core
BYTES_GOAL = 100.0  # bytes per second


def window(app: PtyApp, seconds: float) -> tuple[float, float]:
    """Percent of a core and bytes per second over `seconds`."""
    cpu, written, started = app.cpu_seconds(), len(app.output), time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - started
    return (app.cpu_seconds() - cpu) / elapsed * 100, (len(app.output) - written) / elapsed


def settled_pace(interval: float, backoff: float) -> tuple[float, int, float]:
    """Quiet refreshes as the app's own pacer spaces them: when the last refresh before the
    back-off's ceiling starts (seconds after the first), how many came before it, the ceiling."""
    from tui.pacing import RefreshPacer

    pacer = RefreshPacer(interval, backoff, now=0.0)
    ceiling = pacer.interval * pacer.backoff
    pacer.swept("nothing changes")  # the first refresh: nothing to compare with yet
    at, refreshes = 0.0, 0
    while pacer.current_interval < ceiling:
        at += pacer.current_interval
        refreshes += 1
        pacer.swept("nothing changes")
    return at, refreshes, ceiling


def measure(servers: Servers, results_dir: Path, *, quick: bool) -> list[Figure]:
    from providers.inventory import Settings
    from tui.screens.main_screen import TICK_SECONDS  # how late a due refresh may start

    seconds = 10.0 if quick else 60.0
    targets = servers.six_targets()
    config = write_inventory(servers.workdir / "idle.yaml", targets)
    defaults = Settings()
    ramp, refreshes, ceiling = settled_pace(defaults.refresh_interval, defaults.idle_backoff)
    # Each refresh may start a tick late; the window begins after the ramp's last refresh and
    # spans two whole periods, so it holds exactly two refreshes.
    settled_from = ramp + TICK_SECONDS * refreshes + 10.0
    settled_seconds = 2 * ceiling + TICK_SECONDS
    settle()
    with running(triage_command(config), env=servers.env) as app:
        for target in targets:
            app.when(target["name"].encode(), 0, 120)
        app.quiet(2.0, timeout=30)
        cpu, written = window(app, seconds)
        settled_cpu = settled_written = float("nan")
        if not quick:
            time.sleep(max(0.0, app.started + settled_from - time.monotonic()))
            settled_cpu, settled_written = window(app, settled_seconds)
    with running(bare_command()) as bare:
        bare.frame_after(0, 30)
        bare.quiet(1.0)
        bare_cpu, bare_written = window(bare, seconds)
    note = (
        f"{seconds:g}s window, 6 providers, refreshes every {defaults.refresh_interval:g}s, "
        f"then {2 * defaults.refresh_interval:g}s (back-off)"
    )
    settled_note = (
        f"{settled_seconds:g}s window from {settled_from:g}s after start, 6 providers, "
        f"refresh every {ceiling:g}s (the back-off's ceiling)"
    )
    figures = [
        Figure(
            "idle: CPU, first minute (back-off growing)",
            cpu,
            "% of a core",
            goal=CPU_GOAL,
            anchor=bare_cpu,
            anchor_name="bare Textual app",
            note=note,
        ),
        Figure(
            "idle: bytes to the terminal, first minute",
            written,
            "B/s",
            goal=BYTES_GOAL,
            anchor=bare_written,
            anchor_name="bare Textual app",
            note=note,
        ),
    ]
    if not quick:
        figures.insert(
            0,
            Figure(
                "idle: CPU, left open (back-off settled)",
                settled_cpu,
                "% of a core",
                goal=CPU_GOAL,
                anchor=bare_cpu,
                anchor_name="bare Textual app",
                note=settled_note,
                extra={"bytes_per_second": settled_written},
            ),
        )
    return figures
