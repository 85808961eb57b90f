"""`triage check` on an inventory of 76,000 HTTP targets, every one at a closed loopback port.

The command streams: each target's rows are printed as soon as it is done, a bounded number of
targets at a time. Measured on the real console script: when the first result row comes, when
the last does, and the process's peak RSS (its own rusage). Anchors: the same inventory loaded
alone (YAML parsed with its places, then validated), which every command pays first. Goals:
the first row within 2 s of that, and at most 100 MB above its peak.
`--quick`: 5,000 targets.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.harness import ROOT, Figure
from bench.servers import Servers

TARGETS = 76_000
QUICK_TARGETS = 5_000
FIRST_ROW_GOAL_AFTER_LOAD = 2.0  # seconds
RSS_GOAL_ABOVE_LOAD = 100.0  # MB
STATUSES = (b"PASS", b"WARN", b"FAIL", b"ERROR", b"SKIPPED")


def measure(servers: Servers, results_dir: Path, *, quick: bool) -> list[Figure]:
    targets = QUICK_TARGETS if quick else TARGETS
    folder = servers.workdir / "big-inventory"
    (folder / "home").mkdir(parents=True, exist_ok=True)
    config = _write_inventory(folder / "triage.yaml", targets, _closed_port())
    environment = _environment(folder)
    loading = f"from providers.inventory import load_inventory; load_inventory({str(config)!r})"
    load = _run([sys.executable, "-c", loading], environment)
    triage = str(Path(sys.executable).parent / "triage")
    check = _run([triage, "check", "--config", str(config)], environment)
    rows = check["rows"]
    name = f"check of {targets:,} HTTP targets"
    extra = {
        "targets": targets,
        "rows": rows,
        "exit_code": check["exit_code"],
        "first_line_s": check["first_line"],
        "last_row_s": check["wall"],
        "load_alone_s": load["wall"],
        "load_alone_rss_mb": load["rss_mb"],
        "rows_per_s_after_first": (rows - 1) / (check["wall"] - check["first_row"])
        if rows > 1
        else float("nan"),
    }
    return [
        Figure(
            f"{name}: first result row",
            check["first_row"],
            "s",
            goal=load["wall"] + FIRST_ROW_GOAL_AFTER_LOAD,
            anchor=load["wall"],
            anchor_name="loading the inventory alone",
            note=f"all {rows:,} rows in {check['wall']:.0f} s",
            extra=extra,
        ),
        Figure(
            f"{name}: peak RSS",
            check["rss_mb"],
            "MB",
            goal=load["rss_mb"] + RSS_GOAL_ABOVE_LOAD,
            anchor=load["rss_mb"],
            anchor_name="loading the inventory alone",
            extra=extra,
        ),
    ]


def _closed_port() -> int:
    """A loopback port nothing listens on: every connection is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _write_inventory(path: Path, targets: int, port: int) -> Path:
    with path.open("w", encoding="utf-8") as out:
        out.write("environments:\n  big:\n    targets:\n")
        for index in range(targets):
            out.write(
                f"      - {{kind: http, name: api-{index:05d}, "
                f'url: "http://127.0.0.1:{port}/health"}}\n'
            )
    return path


def _environment(folder: Path) -> dict[str, str]:
    """Nothing of this machine's: its own HOME and XDG folders, no server variables."""
    kept = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "DOCKER_", "KUBE", "PG", "TRIAGE_"))
        and name not in ("REDIS_URL", "DATABASE_URL", "AMQP_URL", "PYTHONDONTWRITEBYTECODE")
    }
    home = folder / "home"
    return {
        **kept,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "NO_COLOR": "1",
    }


def _run(command: list[str], environment: dict[str, str]) -> dict[str, Any]:
    """Run to its end, reading its output as it comes; when its first line and first result
    row came, its wall time and its own peak RSS (wait4's rusage: this child's, no other's)."""
    started = time.monotonic()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=environment, cwd=ROOT
    )
    assert process.stdout is not None
    first_line = first_row = float("nan")
    rows = 0
    for line in process.stdout:
        now = time.monotonic() - started
        if first_line != first_line:
            first_line = now
        if line.split(maxsplit=1)[:1] and line.split(maxsplit=1)[0] in STATUSES:
            rows += 1
            if first_row != first_row:
                first_row = now
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return {
        "first_line": first_line,
        "first_row": first_row,
        "rows": rows,
        "wall": time.monotonic() - started,
        "rss_mb": usage.ru_maxrss / 1024,  # kilobytes on Linux
        "exit_code": process.returncode,
    }
