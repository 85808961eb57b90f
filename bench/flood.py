"""Log flood: a container on the private dockerd writes >= 20,000 lines/s; the real triage tails it.

The container (busybox) waits for a trigger, then writes numbered lines in ticks of 3,000
every 0.1 s (about 25,000 lines/s), then `flood done`. `docker logs -f` reads the same stream
side by side, as the ceiling. triage must show every line or say exactly how many it dropped:
its log pane keeps `log_buffer_lines` and reports the rest as "N dropped", so
dropped + kept must equal what the container wrote. During the flood, keystrokes open the log
filter prompt (its hint text is the key's frame) and close it again. The headless throughput
of the log pane itself comes from `bench.log_flood`.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from bench import log_flood
from bench.harness import (
    Figure,
    PtyApp,
    Timeout,
    p95,
    running,
    settle,
    triage_command,
    write_inventory,
)
from bench.servers import Servers

PER_TICK = 3_000
BUFFER = 10_000
RATE_GOAL = 20_000
KEY_GOAL = 0.100
LINE_SUFFIX = " GET /api/orders 200 12ms user=u42 trace=4bf92f3577b34da6a3ce929d0e0e4736"
PROMPT_HINT = b"!exclude"
DROPPED = re.compile(rb"([\d,]+) dropped")
LINE_NUMBER = re.compile(rb"line (\d+) GET")
KEY_TIMEOUT = 10.0


def flood_script(lines_per_tick: int, ticks: int, done: str) -> str:
    return (
        "while [ ! -e /go ]; do sleep 0.05; done; i=0; "
        f"while [ $i -lt {ticks} ]; do "
        f"seq $((i*{lines_per_tick}+1)) $(((i+1)*{lines_per_tick})) "
        f"| sed 's/^/line /; s|$|{LINE_SUFFIX}|'; sleep 0.1; i=$((i+1)); done; "
        f"echo {done}; sleep 86400"
    )


def start_container(servers: Servers, name: str, script: str) -> Any:
    engine = servers.docker()
    return engine.run(["sh", "-c", script], name=name)


def open_log(app: PtyApp, container: str) -> None:
    """Filter the tree to the container, select it (its log is tailed), focus the log pane."""
    app.when(container.encode(), 0, 60)
    for key in (b"/", container.encode(), b"\r", b"\x1b[F", b"\r"):
        app.write(key)
        time.sleep(0.3)
    app.when(f"Log: {container}".encode(), 0, 10)
    for _ in range(2):  # tree -> its filter box -> the log view
        app.write(b"\t")
        time.sleep(0.3)


class Follower:
    """`docker logs -f`, counting lines as they arrive: the anchor."""

    def __init__(self, servers: Servers, container: str, done: str) -> None:
        command = ["docker", "-H", servers.docker().base_url, "logs", "-f", container]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.lines = 0
        self.done_at: float | None = None
        self.done = done.encode()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines += 1
            if line.startswith(self.done):
                self.done_at = time.monotonic()
                break

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


def measure(servers: Servers, results_dir: Path, *, quick: bool) -> list[Figure]:
    seconds = 5 if quick else 30
    ticks = seconds * 10
    total = ticks * PER_TICK + 1  # and the `flood done` line
    container = start_container(servers, "bench-flood", flood_script(PER_TICK, ticks, "flood-done"))
    config = write_inventory(
        servers.workdir / "flood.yaml",
        [{"kind": "compose", "name": "bench-docker", "url": servers.docker().base_url}],
        log_buffer_lines=BUFFER,
    )
    settle()  # the Docker engine and the container just started
    with running(triage_command(config), env=servers.env) as app:
        open_log(app, "bench-flood")
        app.quiet(1.0)
        anchor = Follower(servers, "bench-flood", "flood-done")
        cpu_before, bytes_before = app.cpu_seconds(), len(app.output)
        container.exec_run(["touch", "/go"])
        started = time.monotonic()
        deadline = started + seconds * 3 + 15  # how long triage may lag behind the flood
        keys = []
        while anchor.done_at is None and time.monotonic() < deadline:
            keys.append(_keystroke(app, max(1.0, min(KEY_TIMEOUT, deadline - time.monotonic()))))
        try:
            shown_at = app.when(b"flood-done", bytes_before, max(0.1, deadline - time.monotonic()))
            finished = True
        except Timeout:
            shown_at, finished = time.monotonic(), False
        wall = shown_at - started
        (results_dir / "flood.pty").write_bytes(bytes(app.output))
        if app.process.poll() is not None:
            raise RuntimeError(
                f"triage exited ({app.process.returncode}) during the flood; "
                "its screen is in bench/results/flood.pty"
            )
        cpu = (app.cpu_seconds() - cpu_before) / wall
        written = (len(app.output) - bytes_before) / wall
        tail = bytes(app.output[-400_000:])
        counts = DROPPED.findall(tail)
        dropped = int(counts[-1].replace(b",", b"")) if counts else 0
        numbers = [int(n) for n in LINE_NUMBER.findall(tail)]
        anchor.stop()
    container.remove(force=True)
    last_shown = total if finished else max(numbers, default=0)
    accounted = dropped + min(last_shown, BUFFER) if finished else last_shown
    anchor_wall = (anchor.done_at or float("nan")) - started
    headless = asyncio.run(log_flood.measure(log_flood.make_lines(50_000 if quick else 200_000)))
    return [
        Figure(
            "log flood: lines/s shown (or counted as dropped)",
            accounted / wall,
            "lines/s",
            goal=RATE_GOAL,
            at_least=True,
            anchor=anchor.lines / anchor_wall,
            anchor_name="docker logs -f, same stream",
            note=f"{seconds}s flood of {total:,} lines"
            + ("" if finished else f"; still {total - last_shown:,} lines behind at the deadline"),
            extra={
                "written_by_container": total,
                "dropped_reported": dropped,
                "kept": min(total, BUFFER),
                "all_accounted_for": finished and accounted == total,
                "caught_up": finished,
                "last_line_shown": last_shown,
                "docker_logs_lines": anchor.lines,
                "triage_seconds_to_last_line": wall,
                "docker_logs_seconds_to_last_line": anchor_wall,
                "triage_cpu_share_of_a_core": cpu,
                "triage_bytes_per_second_to_terminal": written,
                "log_pane_headless_lines_per_second": headless,
            },
        ),
        Figure(
            "log flood: keystroke to frame, p95",
            p95(keys) * 1000,
            "ms",
            goal=KEY_GOAL * 1000,
            note=f"{len(keys)} keys during the flood",
            extra={"samples_ms": [k * 1000 for k in keys]},
        ),
    ]


def _keystroke(app: PtyApp, timeout: float) -> float:
    """Open the log filter prompt, time its frame, close it; a frame that never comes counts
    as the whole wait."""
    offset = len(app.output)
    sent = app.write(b"\\")
    try:
        answered = app.when(PROMPT_HINT, offset, timeout) - sent
    except Timeout:
        answered = time.monotonic() - sent
    time.sleep(0.1)
    app.write(b"\x1b")
    time.sleep(0.3)
    return answered
