"""The terminal driver: Textual's Linux driver, with an input thread that sleeps until a key.

Textual's input thread wakes ten times a second whether or not a key came (`select` with a
0.1 s timeout, to notice that it should stop and to time out a lone Escape). Measured in the
idle benchmark, those wake-ups were 0.13 % of a core: more than everything else an idle
triage does between its refreshes, and most of what a bare Textual app costs. This thread
blocks until the terminal has input or the driver asks it to stop (a byte on a pipe, written
when `exit_event` is set); it polls only in the second after a key, while the parser may be
waiting to tell a lone Escape from the start of a sequence.

The parser is Textual's own (`textual._xterm_parser`, the one its drivers use; no public
module exports it). Textual is pinned to an exact version, and tests/tui/test_driver.py runs
this driver in a real terminal: keys, a lone Escape, quitting, handing the terminal away and
back, and no wake-ups while idle.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import threading
import time
from codecs import getincrementaldecoder
from typing import TYPE_CHECKING

from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver

if TYPE_CHECKING:
    from textual.app import App

READ_BYTES = 4096
POLL_SECONDS = 0.1  # while a key's sequence may be unfinished (Textual's own interval)
POLL_AFTER_INPUT_SECONDS = 1.0  # ESCDELAY is 0.1 s unless set; a second covers any sane one


class WakingEvent(threading.Event):
    """An Event that, when set, also writes a byte to the pipe of the input thread's `select`.

    Each input thread opens its own pipe and closes it when it ends: the driver stops and
    starts the thread again when the app hands the terminal to another program and back.
    """

    def __init__(self) -> None:
        super().__init__()
        self._pipe_lock = threading.Lock()
        self._pipe: tuple[int, int] | None = None

    def open_pipe(self) -> int:
        """A new pipe for the thread that starts now; the end to wait on."""
        read, write = os.pipe()
        os.set_blocking(write, False)
        with self._pipe_lock:
            self._pipe = (read, write)
        return read

    def close_pipe(self) -> None:
        with self._pipe_lock:  # never a write to a number the system may have given again
            pipe, self._pipe = self._pipe, None
        if pipe is not None:
            for fd in pipe:
                os.close(fd)

    def set(self) -> None:
        super().set()
        with self._pipe_lock:
            if self._pipe is not None:
                with contextlib.suppress(BlockingIOError):  # full: the thread is awake anyway
                    os.write(self._pipe[1], b"x")


class QuietInputDriver(LinuxDriver):
    """LinuxDriver whose input thread does not wake while nothing is typed."""

    def __init__(
        self,
        app: App[object],
        *,
        debug: bool = False,
        mouse: bool = True,
        size: tuple[int, int] | None = None,
    ) -> None:
        super().__init__(app, debug=debug, mouse=mouse, size=size)
        self.exit_event: WakingEvent = WakingEvent()

    def run_input_thread(self) -> None:
        """Read the terminal and post its keys, mouse and paste events, as Textual's does."""
        parser = XTermParser(self._debug)
        decode = getincrementaldecoder("utf-8")().decode
        poll_until = 0.0
        wake = self.exit_event.open_pipe()
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(self.fileno, selectors.EVENT_READ)
                selector.register(wake, selectors.EVENT_READ)
                while not self.exit_event.is_set():
                    waiting = time.monotonic() < poll_until
                    for key, _ in selector.select(POLL_SECONDS if waiting else None):
                        if key.fd == wake:
                            os.read(wake, READ_BYTES)
                            continue
                        data = os.read(self.fileno, READ_BYTES)
                        if not data:  # end of input (stdin is not a terminal): stop reading it
                            selector.unregister(self.fileno)
                            continue
                        poll_until = time.monotonic() + POLL_AFTER_INPUT_SECONDS
                        for event in parser.feed(decode(data)):
                            self.process_message(event)
                    for event in parser.tick():
                        self.process_message(event)
        finally:
            self.exit_event.close_pipe()
