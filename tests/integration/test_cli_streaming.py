"""`triage check` prints each target's rows as soon as it is done: a target that takes its whole
timeout holds back only its own rows; a reader that goes away ends the run without a
traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers.process import free_port

pytestmark = pytest.mark.integration

MACHINE_VARIABLES = ("REDIS_URL", "DATABASE_URL", "AMQP_URL", "TRIAGE_CONFIG", "DOCKER_HOST")
TIMEOUT = 3


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that takes connections (the kernel's backlog) and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


@pytest.fixture
def inventory(tmp_path: Path, silent_port: int) -> Path:
    closed = free_port()
    refused = "".join(
        f'\n      - {{kind: redis, name: quick{index}, url: "redis://127.0.0.1:{closed}/0"}}'
        for index in range(3)
    )
    path = tmp_path / "triage.yaml"
    path.write_text(
        "environments:\n  prod:\n    targets:"
        f'\n      - {{kind: redis, name: silent, url: "redis://127.0.0.1:{silent_port}/0", '
        f"timeout: {TIMEOUT}}}{refused}\n"
    )
    return path


def start(inventory: Path, *args: str) -> subprocess.Popen[str]:
    environment = {k: v for k, v in os.environ.items() if k not in MACHINE_VARIABLES}
    return subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "check", "--config", str(inventory), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
        cwd=inventory.parent,
    )


def test_the_rows_of_answered_targets_come_while_a_silent_one_waits(
    inventory: Path, silent_port: int
) -> None:
    process = start(inventory)
    assert process.stdout is not None
    seen = [process.stdout.readline() for _ in range(3)]  # environment, header, a first row
    # The silent target holds only its own rows: the first ones are out before its timeout.
    assert process.poll() is None, seen
    assert seen[1].split() == ["STATUS", "CHECK", "TARGET", "TIME", "SUMMARY"]
    assert seen[2].split()[2].startswith("quick"), seen
    rest, errors = process.communicate(timeout=60)
    assert process.returncode == 1, errors
    # status, check, target, duration, "ms", summary
    rows = [line.split(maxsplit=5) for line in (seen[2] + rest).splitlines()[:-1]]
    # Target by target: each one's rows together, the silent one's last.
    order = [row[2] for row in rows]
    assert order[-5:] == ["silent"] * 5
    assert {row[5] for row in rows if row[2] == "silent"} == {
        f"127.0.0.1:{silent_port}: no answer within {TIMEOUT}s"
    }
    assert rest.splitlines()[-1] == "20 checks: 20 error"


def test_a_reader_that_goes_away_ends_the_run_without_a_traceback(inventory: Path) -> None:
    for args in ((), ("--json",)):
        process = start(inventory, *args)
        assert process.stdout is not None and process.stderr is not None
        process.stdout.readline()
        process.stdout.close()  # `triage check | head -1`
        errors = process.stderr.read()
        assert process.wait(timeout=60) == 1
        assert "Traceback" not in errors, errors
