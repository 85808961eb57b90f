"""tui/driver.py in a real terminal (a pty): keys, a lone Escape, quitting and an app handing
the terminal away and back work as with Textual's own driver, and the input thread does not
wake while nothing is typed."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from bench.harness import running
from tests.tui.driver_app import LATER_SECONDS

ROOT = Path(__file__).resolve().parents[2]
IDLE_SECONDS = 2.0


def command(driver: str, events: Path) -> list[str]:
    return [sys.executable, "-m", "tests.tui.driver_app", driver, str(events)]


def recorded(events: Path) -> list[str]:
    return events.read_text(encoding="utf-8").splitlines() if events.exists() else []


def wait_for(events: Path, line: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while line not in recorded(events):
        if time.monotonic() > deadline:
            raise AssertionError(f"{line!r} never came; the app recorded {recorded(events)}")
        time.sleep(0.02)


def input_thread(events: Path, timeout: float = 15.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in recorded(events):
            if line.startswith("input-thread "):
                return int(line.split()[1])
        time.sleep(0.05)
    raise AssertionError(f"the app never mounted; it recorded {recorded(events)}")


def sleeps(pid: int, thread: int) -> int:
    """How many times the thread has gone to sleep by itself: one per wake-up."""
    status = Path(f"/proc/{pid}/task/{thread}/status").read_text()
    (line,) = [line for line in status.splitlines() if line.startswith("voluntary_ctxt_switches")]
    return int(line.split()[1])


def idle_wakeups(driver: str, events: Path) -> int:
    """The input thread's wake-ups over IDLE_SECONDS with nothing typed, after one key."""
    with running(command(driver, events), cwd=ROOT) as app:
        thread = input_thread(events)
        app.write(b"a")
        wait_for(events, "key a")
        time.sleep(1.5)  # past the second after a key, while the parser may still wait
        before = sleeps(app.pid, thread)
        time.sleep(IDLE_SECONDS)
        return sleeps(app.pid, thread) - before


def test_the_input_thread_sleeps_while_nothing_is_typed(tmp_path: Path) -> None:
    textual = idle_wakeups("textual", tmp_path / "textual")
    quiet = idle_wakeups("quiet", tmp_path / "quiet")
    # Textual's own thread wakes ten times a second; the measure sees it.
    assert textual >= 10 * IDLE_SECONDS * 0.8, textual
    assert quiet <= 1, quiet


def test_keys_sequences_and_a_lone_escape_arrive(tmp_path: Path) -> None:
    events = tmp_path / "events"
    with running(command("quiet", events), cwd=ROOT) as app:
        input_thread(events)
        app.write(b"x")
        wait_for(events, "key x")
        app.write(b"\x1b[A")  # an arrow: an escape sequence in one read
        wait_for(events, "key up")
        time.sleep(1.5)  # the thread is asleep again: the Escape must wake it and time out
        app.write(b"\x1b")
        wait_for(events, "key escape", timeout=3)
        app.write("é".encode())
        wait_for(events, "key é")
    keys = [line for line in recorded(events) if line.startswith("key ")]
    assert keys == ["key x", "key up", "key escape", "key é", "key q"]  # q: the harness quits


def test_quitting_wakes_the_sleeping_thread(tmp_path: Path) -> None:
    events = tmp_path / "events"
    with running(command("quiet", events), cwd=ROOT) as app:
        input_thread(events)
        app.write(b"l")  # the app quits LATER_SECONDS after this key, with nothing typed since
        wait_for(events, "key l")
        asked = time.monotonic() + LATER_SECONDS
        code = app.process.wait(timeout=10)
        late = time.monotonic() - asked
    assert code == 0
    assert late < 3.0, f"the app took {late:.1f}s more than asked to exit"  # not a hang


def test_keys_arrive_after_the_app_gave_the_terminal_away_and_back(tmp_path: Path) -> None:
    events = tmp_path / "events"
    with running(command("quiet", events), cwd=ROOT) as app:
        input_thread(events)
        app.write(b"s")  # suspends once the input thread is asleep: stopping it must wake it
        wait_for(events, "resumed", timeout=LATER_SECONDS + 5)
        app.write(b"k")
        wait_for(events, "key k")
