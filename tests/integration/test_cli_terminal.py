"""`triage` with no subcommand, in a real terminal (a pty): the app draws its first frame before
it reads the inventory, so a broken inventory is reported once the terminal is restored."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

LEAVE_ALTERNATE_SCREEN = b"\x1b[?1049l"
EXIT_SECONDS = 60  # generous: the app starts, reads the inventory and leaves on a loaded machine
ESCAPE = re.compile(r"\x1b(\[[0-9;?<>=]*[a-zA-Z~]|\][^\x07]*\x07|[>=])")


def run_in_a_terminal(*args: str, cwd: Path) -> tuple[int, bytes, list[str]]:
    """Exit code, what reached the terminal, and the lines written after the app left it
    (Textual draws on stderr, so the message shares the terminal with the frames)."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    environment = {k: v for k, v in os.environ.items() if k not in {"TRIAGE_CONFIG"}}
    environment.update(TERM="xterm-256color", XDG_STATE_HOME=str(cwd / "state"))
    process = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", *args],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        cwd=cwd,
        env=environment,
    )
    os.close(terminal)
    # Everything the app wrote, up to the terminal's close (when the process and every copy of
    # its terminal are gone); then its exit, which may be reaped a moment after the close.
    screen = bytearray()
    deadline = time.monotonic() + EXIT_SECONDS
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 0.1)
        if not ready:
            continue
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the terminal closed with the process
            break
        if not chunk:
            break
        screen += chunk
    os.close(controller)
    try:
        code = process.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError(
            f"triage never exited; the terminal held:\n{screen[-2000:]!r}"
        ) from None
    _, left, after = bytes(screen).rpartition(LEAVE_ALTERNATE_SCREEN)
    assert left, f"the app never left the alternate screen:\n{screen[-2000:]!r}"
    text = ESCAPE.sub("", after.decode()).replace("\r\n", "\n")
    return code, bytes(screen), [line for line in text.splitlines() if line.strip()]


def test_a_broken_inventory_ends_the_app_with_one_clear_line(tmp_path: Path) -> None:
    config = tmp_path / "triage.yaml"
    config.write_text("environments:\n  prod:\n    targets:\n      - kind: redis\n        nme: x\n")
    code, screen, after = run_in_a_terminal("--config", str(config), cwd=tmp_path)
    assert code == 2
    assert after == [
        f"triage: configuration error: {config}:4:9: "
        "environments.prod.targets.0.name: required field is missing"
    ]
    drawn = ESCAPE.sub("", screen.decode(errors="replace"))
    assert "Reading" in drawn  # the first frame came before the inventory was read


def test_an_unknown_environment_ends_the_app_naming_the_known_ones(tmp_path: Path) -> None:
    config = tmp_path / "triage.yaml"
    config.write_text(
        "environments:\n  prod:\n    targets:\n"
        "      - {kind: redis, name: x, url: 'redis://127.0.0.1:1/0'}\n"
    )
    code, _, after = run_in_a_terminal("--config", str(config), "--env", "stagin", cwd=tmp_path)
    assert code == 2
    (line,) = after
    assert line.startswith("triage: configuration error: ")
    assert "stagin" in line and "prod" in line
