"""Profiles of the real `triage` in the pty harness, for the goals a run misses.

pyinstrument (`pip install pyinstrument`; not a dependency of triage) samples the main thread,
where Textual and the providers' async code run; its text report lands in bench/results/.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench.harness import PtyApp, running


def profile_triage(
    config: Path,
    env: dict[str, str],
    report: Path,
    *,
    until: Callable[[PtyApp], None],
    interval: float = 0.001,
) -> Path | None:
    """Run triage under pyinstrument until `until(app)` returns, then quit; None without it."""
    if importlib.util.find_spec("pyinstrument") is None:
        return None
    command = [
        sys.executable,
        "-m",
        "pyinstrument",
        "--interval",
        str(interval),
        "-r",
        "text",
        "-o",
        str(report),
        "-m",
        "tui.cli",
        "--config",
        str(config),
    ]
    with running(command, env=env) as app:
        until(app)
        app.write(b"q")
        app.process.wait(timeout=30)
    deadline = time.monotonic() + 10
    while not report.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return report if report.exists() else None
