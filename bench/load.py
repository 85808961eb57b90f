"""Run a command while other processes keep the CPUs busy:
`python -m bench.load [--busy N] -- COMMAND...`.

A test that waits for time where it should wait for a state passes on an idle machine and fails
on a loaded one (a laptop building something, a CI runner shared with other jobs, this machine
with other people's tests). N processes (default 2) spin while COMMAND runs, so such a test
fails here first; they stop when COMMAND ends, and the exit code is COMMAND's.
`make test-under-load` runs the test suite so, three times in a row.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

SPIN = "while True: pass"
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """A busy process never outlives this one, even one killed with SIGKILL (Linux)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


@contextlib.contextmanager
def busy_processes(count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`count` processes burning a CPU each for the block's length."""
    spinning = [
        subprocess.Popen(
            [sys.executable, "-c", SPIN],
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        for _ in range(count)
    ]
    try:
        yield spinning
    finally:
        for process in spinning:
            process.kill()
        for process in spinning:
            process.wait()


def exit_code(returncode: int) -> int:
    """A command killed by a signal exits as a shell says it did: 128 + the signal."""
    return 128 - returncode if returncode < 0 else returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load",
        description="Run COMMAND while N processes keep the CPUs busy; exit with its code.",
        usage="python -m bench.load [--busy N] -- COMMAND...",
    )
    parser.add_argument(
        "--busy", type=int, default=2, metavar="N", help="busy processes (default 2)"
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command and its arguments")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command: python -m bench.load [--busy N] -- COMMAND...")
    if args.busy < 0:
        parser.error("--busy: a count of processes, 0 or more")

    print(f"bench.load: {args.busy} busy processes while: {' '.join(command)}", file=sys.stderr)
    started = time.monotonic()
    with busy_processes(args.busy):
        try:
            code = exit_code(subprocess.run(command, check=False).returncode)
        except FileNotFoundError:
            print(f"bench.load: no such command: {command[0]}", file=sys.stderr)
            code = 127
        except KeyboardInterrupt:  # the command got the same Ctrl-C and has ended
            code = 130
    elapsed = time.monotonic() - started
    print(f"bench.load: exit code {code} after {elapsed:.1f} s under load", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
