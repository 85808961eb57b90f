"""Cold start: the real `triage` in a pty, six providers on private servers.

Process start -> first frame (the first synchronized frame that closes), and -> tree populated
(the six targets' names written). Anchors, in the same harness: a bare Textual app's first
frame, and the same servers asked by their own CLIs (redis-cli, psql, docker, curl) in parallel.
When a goal is missed, the run is repeated with PYTHONPROFILEIMPORTTIME to name the imports
that cost most.
"""

from __future__ import annotations

import concurrent.futures
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.harness import (
    Figure,
    PtyApp,
    bare_command,
    running,
    settle,
    triage_command,
    write_inventory,
)
from bench.profile import profile_triage
from bench.servers import Servers

FIRST_FRAME_GOAL = 0.6
TREE_GOAL = 1.5


def measure(servers: Servers, results_dir: Path, *, quick: bool) -> list[Figure]:
    targets = servers.six_targets()
    config = write_inventory(servers.workdir / "cold.yaml", targets)
    names = [target["name"].encode() for target in targets]
    busy = settle()  # the servers just started (RabbitMQ boots for seconds): wait them out
    runs = 2 if quick else 5
    first, populated = [], []
    for attempt in range(runs + 1):  # the first run warms the disk cache and the .pyc files
        with running(triage_command(config), env=servers.env) as app:
            frame = app.frame_after(0, 30) - app.started
            tree = max(app.when(name, 0, 60) for name in names) - app.started
            if attempt == runs:
                (results_dir / "cold_start.pty").write_bytes(bytes(app.output))
        if attempt:
            first.append(frame)
            populated.append(tree)
    bare = []
    for attempt in range(runs + 1):
        with running(bare_command()) as app:
            frame = app.frame_after(0, 30) - app.started
        if attempt:
            bare.append(frame)
    clis = cli_round_trips(servers)
    first_figure = Figure(
        "cold start: first frame",
        statistics.median(first),
        "s",
        goal=FIRST_FRAME_GOAL,
        anchor=statistics.median(bare),
        anchor_name="bare Textual app, first frame",
        note=f"median of {runs}",
        extra={"runs": first, "anchor_runs": bare, "machine_busy_before": busy},
    )
    tree_figure = Figure(
        "cold start: tree populated (6 providers)",
        statistics.median(populated),
        "s",
        goal=TREE_GOAL,
        anchor=max(clis.values()),
        anchor_name="redis-cli+psql+docker ps+curl, in parallel",
        note=f"median of {runs}",
        extra={"runs": populated, "anchor_clis": clis},
    )
    if not (first_figure.met and tree_figure.met):
        tree_figure.extra["import_hot_spots"] = import_hot_spots(
            [target["kind"] for target in targets], results_dir
        )

        def populated(app: PtyApp) -> None:
            for name in names:
                app.when(name, 0, 60)

        profile = profile_triage(
            config, servers.env, results_dir / "cold_start.profile.txt", until=populated
        )
        tree_figure.extra["profile"] = str(profile)
    return [first_figure, tree_figure]


def cli_round_trips(servers: Servers) -> dict[str, float]:
    """Seconds each CLI takes to answer the question triage asks first, run in parallel."""
    redis, postgres, engine, http = (
        servers.redis(),
        servers.postgres(),
        servers.docker(),
        servers.http(),
    )
    commands = {
        "redis-cli ping": ["redis-cli", "-h", redis.host, "-p", str(redis.port), "ping"],
        "psql select 1": ["psql", postgres.dsn, "-Atc", "select 1"],
        "docker ps": ["docker", "-H", engine.base_url, "ps", "-a"],
        "curl /health": ["curl", "-fsS", http.url("/health")],
    }
    commands = {name: argv for name, argv in commands.items() if shutil.which(argv[0])}

    def timed(argv: list[str]) -> float:
        started = time.monotonic()
        subprocess.run(argv, capture_output=True, check=True, timeout=30)
        return time.monotonic() - started

    with concurrent.futures.ThreadPoolExecutor(len(commands)) as pool:
        futures = {name: pool.submit(timed, argv) for name, argv in commands.items()}
        return {name: future.result() for name, future in futures.items()}


def import_hot_spots(kinds: list[str], results_dir: Path) -> dict[str, Any]:
    """What `triage` imports before its first frame, by cumulative and by own microseconds.

    Textual writes its frames to stderr, where -X importtime writes too, so the imports of
    the start-up path (the CLI, the app, each configured kind's provider module) are timed in
    a process of their own.
    """
    log = results_dir / "importtime.log"
    code = (
        "import tui.cli, tui.app; from providers.registry import provider_class; "
        f"[provider_class(kind) for kind in {kinds!r}]"
    )
    with log.open("wb") as stderr:
        subprocess.run([sys.executable, "-X", "importtime", "-c", code], stderr=stderr, check=True)
    rows = []
    for line in log.read_text(errors="replace").splitlines():
        if not line.startswith("import time:") or "[us]" in line:
            continue
        own, cumulative, module = line.removeprefix("import time:").split("|")
        rows.append((int(own), int(cumulative), module.rstrip()))
    top_level = [(c, m.strip()) for _, c, m in rows if not m.startswith("  ")]
    return {
        "top_level_cumulative_us": sorted(top_level, reverse=True)[:12],
        "own_us": sorted(((o, m.strip()) for o, _, m in rows), reverse=True)[:12],
        "total_us": sum(c for c, _ in top_level),
        "log": os.fspath(log),
    }
