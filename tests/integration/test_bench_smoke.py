"""`python -m bench --quick` runs and writes its JSON (the figures are measured, not asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
FIELDS = {"name", "value", "unit", "goal", "anchor", "anchor_name", "ratio", "met", "extra"}


@pytest.mark.timeout(600)
def test_quick_fanout_and_memory_write_their_figures(tmp_path: Path) -> None:
    output = tmp_path / "bench.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--only", "fanout,memory", "--quick", "--output", output],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=580,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads(output.read_text())
    assert report["quick"] is True and report["errors"] == {}
    measurements = report["measurements"]
    assert set(measurements) == {"fanout", "memory"}
    (fanout,) = measurements["fanout"]["figures"]
    (memory,) = measurements["memory"]["figures"]
    for figure in (fanout, memory):
        assert set(figure) >= FIELDS, figure
        assert isinstance(figure["value"], float) and figure["value"] > 0
    assert fanout["unit"] == "s" and fanout["extra"]["checks"] == 100
    assert memory["unit"] == "MB" and memory["extra"]["rss_before_lines_mb"] > 0
    assert "check fan-out" in run.stdout and "memory" in run.stdout  # the table
