"""Memory: RSS of the real triage with 100,000 log lines buffered.

A container on the private dockerd writes 100,000 numbered lines (at its own pace) after a
trigger; triage, with `log_buffer_lines: 100000`, tails it until the last line is on screen.
Goal: RSS <= 200 MB. Anchors: the same triage before the lines, and a bare Textual app.
"""

from __future__ import annotations

import time
from pathlib import Path

from bench.flood import DROPPED, LINE_SUFFIX, open_log, start_container
from bench.harness import Figure, bare_command, running, triage_command, write_inventory
from bench.servers import Servers

LINES = 100_000
QUICK_LINES = 20_000  # --quick: the RSS for 100,000 is extrapolated
RSS_GOAL = 200.0


def measure(servers: Servers, results_dir: Path, *, quick: bool) -> list[Figure]:
    lines = QUICK_LINES if quick else LINES
    script = (
        "while [ ! -e /go ]; do sleep 0.05; done; "
        f"seq 1 {lines} | sed 's/^/line /; s|$|{LINE_SUFFIX}|'; echo memory-done; sleep 86400"
    )
    container = start_container(servers, "bench-memory", script)
    config = write_inventory(
        servers.workdir / "memory.yaml",
        [{"kind": "compose", "name": "bench-docker", "url": servers.docker().base_url}],
        log_buffer_lines=LINES,
    )
    with running(triage_command(config), env=servers.env) as app:
        open_log(app, "bench-memory")
        app.quiet(1.0)
        before = app.rss_mb()
        offset = len(app.output)
        container.exec_run(["touch", "/go"])
        started = time.monotonic()
        app.when(b"memory-done", offset, 600 if not quick else 300)
        seconds = time.monotonic() - started
        app.quiet(1.0)
        after = app.rss_mb()
        counts = DROPPED.findall(bytes(app.output[offset:]))
        dropped = int(counts[-1].replace(b",", b"")) if counts else 0
    container.remove(force=True)
    with running(bare_command()) as bare:
        bare.frame_after(0, 30)
        bare.quiet(1.0)
        bare_rss = bare.rss_mb()
    return [
        Figure(
            f"memory: RSS with {LINES:,} log lines",
            after if lines == LINES else before + (after - before) * LINES / lines,
            "MB",
            goal=RSS_GOAL,
            anchor=bare_rss,
            anchor_name="bare Textual app",
            note=(
                f"{after - before:.0f} MB for {lines:,} lines" if not dropped else "lines dropped"
            )
            + ("" if lines == LINES else f", extrapolated to {LINES:,}"),
            extra={
                "rss_before_lines_mb": before,
                "rss_after_lines_mb": after,
                "lines": lines,
                "seconds_to_show_all": seconds,
                "dropped_reported": dropped,
            },
        )
    ]
