"""Running a terminal app in a pseudo-terminal and timing what it writes.

The app gets a real pty (TERM=xterm-256color, a fixed size), as it would over SSH. A reader
thread keeps every byte with the time it arrived. The harness answers Textual's query for
synchronized output (DECRQM 2026) as modern terminals do, so every frame is bracketed by
`ESC[?2026h` ... `ESC[?2026l`: the first frame is the first bracket that closes, and a
keystroke's frame is the first bracket that closes after the key, or the first that shows a
text the key makes appear.
"""

from __future__ import annotations

import bisect
import contextlib
import fcntl
import os
import signal
import statistics
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SYNC_QUERY = b"\x1b[?2026$p"
SYNC_SUPPORTED = b"\x1b[?2026;2$y"
SYNC_END = b"\x1b[?2026l"
ALT_SCREEN = b"\x1b[?1049h"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
ROOT = Path(__file__).resolve().parent.parent
SIZE = (120, 40)  # columns, rows: a laptop terminal


class Timeout(Exception):
    """What the app was expected to write never came."""


class PtyApp:
    """One process on a pty; its output bytes with arrival times."""

    def __init__(
        self,
        command: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        size: tuple[int, int] = SIZE,
        cwd: Path | None = None,
        stderr: Any = None,
    ) -> None:
        self.command = list(command)
        self.size = size
        master, slave = os.openpty()
        columns, rows = size
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        # As an operator's machine runs it: Python writes its .pyc files (a sandbox may forbid
        # that with PYTHONDONTWRITEBYTECODE, and every start would compile ~100 modules).
        environment = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("TEXTUAL") and k != "PYTHONDONTWRITEBYTECODE"
        }
        environment.update({"TERM": "xterm-256color", "COLORTERM": "truecolor"})
        environment.update(env or {})
        self.master = master
        self.output = bytearray()
        self._ends: list[int] = []  # end offset of each chunk read
        self._times: list[float] = []  # when that chunk arrived
        self._grew = threading.Condition()
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            self.command,
            stdin=slave,
            stdout=slave,
            stderr=slave if stderr is None else stderr,
            env=environment,
            cwd=cwd or ROOT,
            start_new_session=True,
            preexec_fn=_take_terminal,
        )
        os.close(slave)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 1 << 16)
            except OSError:
                chunk = b""
            now = time.monotonic()
            with self._grew:
                if not chunk:
                    self._grew.notify_all()
                    return
                tail = bytes(self.output[-16:])
                self.output += chunk
                self._ends.append(len(self.output))
                self._times.append(now)
                self._grew.notify_all()
            if SYNC_QUERY in tail + chunk and SYNC_QUERY not in tail:
                self.write(SYNC_SUPPORTED)

    def write(self, data: bytes) -> float:
        """Send bytes as typed keys; returns when they were sent."""
        sent = time.monotonic()
        os.write(self.master, data)
        return sent

    def time_at(self, offset: int) -> float:
        """When the byte at `offset` arrived."""
        with self._grew:
            return self._times[bisect.bisect_right(self._ends, offset)]

    def find(self, needle: bytes, start: int, timeout: float) -> int:
        """Offset just past the first `needle` at or after `start`; waits for it."""
        deadline = time.monotonic() + timeout
        scanned = start
        with self._grew:
            while True:
                found = self.output.find(needle, scanned)
                if found >= 0:
                    return found + len(needle)
                scanned = max(start, len(self.output) - len(needle))
                left = deadline - time.monotonic()
                if left <= 0 or (self.process.poll() is not None and not self._reader.is_alive()):
                    raise Timeout(f"{needle!r} not written within {timeout:g}s")
                self._grew.wait(min(left, 0.5))

    def when(self, needle: bytes, start: int = 0, timeout: float = 30.0) -> float:
        """When `needle` was written (the arrival of its last byte), at or after `start`."""
        return self.time_at(self.find(needle, start, timeout) - 1)

    def frame_after(self, start: int, timeout: float = 5.0) -> float:
        """When the first frame that ends after `start` was written."""
        return self.when(SYNC_END, start, timeout)

    def quiet(self, seconds: float, timeout: float = 30.0) -> None:
        """Wait until nothing was written for `seconds` (the app settled)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            last = self._times[-1] if self._times else self.started
            if time.monotonic() - last >= seconds:
                return
            time.sleep(0.05)

    def text(self, start: int = 0) -> str:
        return self.output[start:].decode("utf-8", errors="replace")

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process so far (all its threads)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")

    def stop(self, quit_key: bytes | None = b"q") -> None:
        """Quit with its key; SIGTERM, then SIGKILL, if it does not go."""
        if self.process.poll() is None and quit_key:
            with contextlib.suppress(OSError):
                self.write(quit_key)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=3)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if self.process.poll() is not None:
                break
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=3)
        self._reader.join(timeout=2)
        with contextlib.suppress(OSError):
            os.close(self.master)


def _take_terminal() -> None:
    """The pty becomes the controlling terminal, as under a real terminal emulator."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


@contextlib.contextmanager
def running(command: Sequence[str], **kwargs: Any) -> Iterator[PtyApp]:
    app = PtyApp(command, **kwargs)
    try:
        yield app
    finally:
        app.stop()


def triage_command(config: Path, *extra: str) -> list[str]:
    """The installed `triage` console script, as an operator starts it."""
    script = Path(sys.executable).parent / "triage"
    return [str(script), "--config", str(config), *extra]


def bare_command(nodes: int = 0) -> list[str]:
    """The anchor: a bare Textual app (header, tree of `nodes` rows, footer)."""
    return [sys.executable, "-m", "bench.bare_app", "--nodes", str(nodes)]


def keystrokes(
    app: PtyApp, keys: Sequence[tuple[bytes, bytes | None]], *, gap: float = 0.15
) -> list[float]:
    """Seconds from each key to its frame.

    Each key is paired with a text its frame shows (or None: the next frame answers it).
    """
    samples = []
    for key, shows in keys:
        start = len(app.output)
        sent = app.write(key)
        done = app.when(shows, start, 10.0) if shows else app.frame_after(start, 10.0)
        samples.append(done - sent)
        time.sleep(gap)
    return samples


def machine_busy(window: float = 0.5) -> float:
    """The share of all cores busy over `window` seconds (from /proc/stat)."""

    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(fields), fields[3] + fields[4]  # total, idle + iowait

    total, idle = sample()
    time.sleep(window)
    total2, idle2 = sample()
    return 1 - (idle2 - idle) / max(1, total2 - total)


def settle(busy_below: float = 0.15, timeout: float = 60.0) -> float:
    """Wait until the machine is quiet (private servers that just started are still booting:
    RabbitMQ takes seconds of CPU); returns the share busy when the wait ended."""
    deadline = time.monotonic() + timeout
    busy = machine_busy()
    while busy > busy_below and time.monotonic() < deadline:
        busy = machine_busy()
    return busy


def p95(samples: Sequence[float]) -> float:
    if len(samples) < 2:
        return samples[0] if samples else float("nan")
    return statistics.quantiles(samples, n=20, method="inclusive")[18]


@dataclass
class Figure:
    """One measured figure: the goal, the value, its anchor and whether the goal is met."""

    name: str
    value: float
    unit: str
    goal: float | None = None  # the value must be <= goal (or >= when `at_least`)
    at_least: bool = False
    anchor: float | None = None
    anchor_name: str = ""
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.anchor in (None, 0) or self.value != self.value:
            return None
        return self.value / self.anchor  # type: ignore[operator]

    @property
    def met(self) -> bool | None:
        if self.goal is None:
            return None
        if self.value != self.value:  # not measured: the app never got there
            return False
        return self.value >= self.goal if self.at_least else self.value <= self.goal

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio, "met": self.met}


def write_inventory(path: Path, targets: list[dict[str, Any]], **settings: Any) -> Path:
    """An inventory file with one environment, `bench`."""
    import yaml

    document = {
        "default_environment": "bench",
        "settings": settings,
        "environments": {"bench": {"targets": targets}},
    }
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path
