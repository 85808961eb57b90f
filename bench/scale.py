"""Scale: 300 ECS services (moto) and 2,000 pods in 50 namespaces (fake Kubernetes API).

Discovery alone is timed in-process (`LiveEnvironment.discover`); discovery and render in the
real triage in a pty, from its first frame to both targets' names on screen. Keystrokes jump
the tree cursor between its first and last rows (Home, End): each key's frame is the first
that writes a row only that end shows. Goals: discovery and render <= 2 s; keystroke to
frame <= 50 ms at p95.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from pathlib import Path
from typing import Any

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
from bench.servers import Servers, ecs_target, populate_ecs

PODS, NAMESPACES, SERVICES, CLUSTERS = 2_000, 50, 300, 3
RENDER_GOAL = 2.0
KEY_GOAL = 0.050
TARGET_TIMEOUT = 30
SHOW_CAP = 120.0  # seconds to wait for the tree
# The tree's last row: the cluster itself (large groups start closed), a namespace or a pod.
BOTTOM_ROW = re.compile(rb"bench-eks \(|bench-ns-\d{2}|app-\d{3}-5d9c7b8f4-[a-e]{5}\d+")


def measure(servers: Servers, results_dir: Path, *, quick: bool) -> list[Figure]:
    endpoint = servers.moto_process()
    populate_ecs(endpoint, clusters=CLUSTERS, services=SERVICES)
    kubeconfig = servers.kube(PODS, NAMESPACES)
    # With the default 5 s timeout, discovery of these two inside the TUI does not finish in
    # its bound (timeout + 0.5 s) on this machine; a large cluster gets a larger timeout.
    targets: list[dict[str, Any]] = [
        {**ecs_target("bench-scale-aws", endpoint), "timeout": TARGET_TIMEOUT},
        {
            "kind": "kubernetes",
            "name": "bench-eks",
            "timeout": TARGET_TIMEOUT,
            "options": {"kubeconfig": str(kubeconfig)},
        },
    ]
    config = write_inventory(servers.workdir / "scale.yaml", targets)
    discovery, counts = asyncio.run(_discover(config, servers.env))
    settle()  # the fake API and moto still busy from being filled
    presses = 10 if quick else 40
    with running(triage_command(config), env=servers.env) as app:
        try:
            first, shown, samples = _drive(app, targets, presses)
        finally:
            (results_dir / "scale.pty").write_bytes(bytes(app.output))
    missing = shown != shown
    return [
        Figure(
            "scale: discovery and render (300 services, 2,000 pods)",
            shown - first,
            "s",
            goal=RENDER_GOAL,
            note=f"not shown within {SHOW_CAP:g}s of the first frame"
            if missing
            else f"first frame -> both targets shown; target timeout {TARGET_TIMEOUT}s",
            extra={
                "process_start_to_tree_s": shown,
                "discovery_in_process_s": discovery,
                "nodes": counts,
            },
        ),
        Figure(
            "scale: keystroke to frame, p95 (Home/End in the tree)",
            p95(samples) * 1000 if samples else float("nan"),
            "ms",
            goal=KEY_GOAL * 1000,
            note="no tree to move in" if missing else f"{len(samples)} keys",
            extra={"samples_ms": [s * 1000 for s in samples]},
        ),
    ]


async def _discover(config: Path, env: dict[str, str]) -> tuple[float, dict[str, int]]:
    from providers.environment import LiveEnvironment
    from providers.inventory import load_inventory

    os.environ.update(env)
    live = LiveEnvironment(load_inventory(str(config)))
    try:
        started = time.monotonic()
        trees = await live.discover()
        elapsed = time.monotonic() - started
    finally:
        await live.close()
    counts: dict[str, int] = {}
    for tree in trees:
        for node in tree.walk():
            counts[node.kind] = counts.get(node.kind, 0) + 1
    return elapsed, counts


def _tree_row(app: PtyApp, name: str, timeout: float) -> float:
    """When the tree first drew `name`'s row: its status word, styles, then the name (a pane
    title shows the name too, but never after a status word)."""
    status = rb"(?:ok|failing|degraded|unknown)(?:\x1b\[[0-9;]*m| )+"
    row = re.compile(status + re.escape(name.encode()) + rb" \(")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = row.search(bytes(app.output))
        if found:
            return app.time_at(found.end() - 1)
        time.sleep(0.05)
    raise Timeout(f"{name}'s tree row not drawn within {timeout:g}s")


def _drive(
    app: PtyApp, targets: list[dict[str, Any]], presses: int
) -> tuple[float, float, list[float]]:
    """First frame, tree shown (seconds since start), and each key's seconds to its frame."""
    first = app.frame_after(0, 60) - app.started
    try:  # both roots' rows in the tree, each a status word then its name
        shown = max(_tree_row(app, str(t["name"]), SHOW_CAP) for t in targets) - app.started
    except Timeout:
        return first, float("nan"), []
    app.quiet(1.0, timeout=20)
    offset = len(app.output)
    app.write(b"\x1b[F")  # End: which pods the last rows show
    app.frame_after(offset, 30)
    app.quiet(0.5, timeout=20)
    rows = BOTTOM_ROW.findall(bytes(app.output[offset:]))
    if not rows:
        raise RuntimeError("End showed no namespace or pod rows; see bench/results/scale.pty")
    bottom = rows[-1]
    samples = []
    for press in range(presses):
        key, marker = (b"\x1b[H", b"bench-scale-aws (") if press % 2 == 0 else (b"\x1b[F", bottom)
        offset = len(app.output)
        sent = app.write(key)
        samples.append(app.when(marker, offset, 30) - sent)
        time.sleep(0.15)
    return first, shown, samples
