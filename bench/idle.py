"""Idle: the real triage watching quiet private servers, nothing changing.

After the tree is populated and the app has settled, CPU time (from /proc/PID/stat) and the
bytes written to the terminal are counted over the window (60 s; 10 s with --quick). Goals:
<= 0.3% of a core and <= 100 B/s. Anchor: a bare Textual app in the same pty harness.
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


def measure(servers: Servers, results_dir: Path, *, quick: bool) -> list[Figure]:
    seconds = 10.0 if quick else 60.0
    targets = servers.six_targets()
    config = write_inventory(servers.workdir / "idle.yaml", targets)
    settle()
    with running(triage_command(config), env=servers.env) as app:
        for target in targets:
            app.when(target["name"].encode(), 0, 120)
        app.quiet(2.0, timeout=30)
        cpu, written = window(app, seconds)
    with running(bare_command()) as bare:
        bare.frame_after(0, 30)
        bare.quiet(1.0)
        bare_cpu, bare_written = window(bare, seconds)
    note = f"{seconds:g}s window, 6 providers, refresh every 10s"
    return [
        Figure(
            "idle: CPU",
            cpu,
            "% of a core",
            goal=CPU_GOAL,
            anchor=bare_cpu,
            anchor_name="bare Textual app",
            note=note,
        ),
        Figure(
            "idle: bytes to the terminal",
            written,
            "B/s",
            goal=BYTES_GOAL,
            anchor=bare_written,
            anchor_name="bare Textual app",
            note=note,
        ),
    ]
