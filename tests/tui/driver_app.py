"""A small app for tests/tui/test_driver.py: run in a pty with a chosen driver, it writes to a
file the input thread's id once mounted, then each key it receives; `q` quits, `l` quits
LATER_SECONDS later (by then the input thread is asleep), `s` suspends the app (as when it hands
the terminal to another program) once the input thread is asleep, for SUSPEND_SECONDS.

Run: `python -m tests.tui.driver_app quiet|textual EVENTS_FILE`
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from textual import events
from textual.app import App, ComposeResult
from textual.drivers.linux_driver import LinuxDriver
from textual.widgets import Static

from tui.driver import QuietInputDriver

LATER_SECONDS = 2.0
SUSPEND_SECONDS = 0.5
DRIVERS = {"quiet": QuietInputDriver, "textual": LinuxDriver}


class KeysApp(App[None]):
    def __init__(self, driver: type[LinuxDriver], events_file: Path) -> None:
        super().__init__(driver_class=driver)
        self.events_file = events_file

    def compose(self) -> ComposeResult:
        yield Static("ready")

    def record(self, line: str) -> None:
        with self.events_file.open("a", encoding="utf-8") as file:
            file.write(line + "\n")

    def on_mount(self) -> None:
        (thread,) = [t for t in threading.enumerate() if t.name == "textual-input"]
        self.record(f"input-thread {thread.native_id}")

    def on_key(self, event: events.Key) -> None:
        self.record(f"key {event.key}")
        if event.key == "q":
            self.exit()
        elif event.key == "l":
            self.set_timer(LATER_SECONDS, self.exit)
        elif event.key == "s":
            self.set_timer(LATER_SECONDS, self.suspend_for_a_while)

    def suspend_for_a_while(self) -> None:
        with self.suspend():
            time.sleep(SUSPEND_SECONDS)
        self.record("resumed")


if __name__ == "__main__":
    KeysApp(DRIVERS[sys.argv[1]], Path(sys.argv[2])).run()
