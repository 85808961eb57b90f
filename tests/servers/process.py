"""Shared plumbing for private test servers: free ports, readiness, clean shutdown."""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path


class ServerStartError(RuntimeError):
    """A private test server did not become ready; carries the tail of its log."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(
    ready: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    log_path: Path | None = None,
    process: subprocess.Popen[bytes] | None = None,
) -> None:
    """Poll ``ready`` until it holds; raise with the server's log tail when it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        if process is not None and process.poll() is not None:
            break
        time.sleep(0.05)
    tail = log_tail(log_path) if log_path else ""
    raise ServerStartError(f"{what} not ready after {timeout:.0f}s\n{tail}")


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"(no log at {path}: {exc})"


def require_binary(name: str, *candidates: str) -> str:
    """Find a server binary or fail loudly: a missing server is a broken machine, not a skip."""
    for candidate in (*candidates, name):
        found = shutil.which(candidate) or (candidate if os.path.isfile(candidate) else None)
        if found:
            return found
    raise ServerStartError(f"{name} is not installed; run `make test` to install what tests need")


def stop_process(process: subprocess.Popen[bytes], *, grace: float = 10.0) -> None:
    """SIGTERM, wait, then SIGKILL: a test server never outlives its fixture."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        process.wait(timeout=grace)


def spawn(args: Sequence[str], log_path: Path, **kwargs: object) -> subprocess.Popen[bytes]:
    log = log_path.open("ab")
    try:
        return subprocess.Popen(  # type: ignore[call-overload]
            list(args), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, **kwargs
        )
    finally:
        log.close()


_PR_SET_PDEATHSIG = 1


def die_with_test_process() -> None:
    """``preexec_fn``: the kernel SIGKILLs the server if the pytest process dies abruptly.

    Normal teardown stops servers cleanly; this covers a pytest that is itself SIGKILLed, so no
    private server outlives it. Linux only, which is what the tests run on.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


OWNER_FILE = "owner.pid"


def claim_dir(path: Path) -> None:
    """Record that this pytest owns ``path``, so a later run can reap it if we are killed."""
    (path / OWNER_FILE).write_text(str(os.getpid()))


def reap_stale_dirs(prefix: str) -> None:
    """Delete /tmp/<prefix>* dirs whose pytest died (SIGKILL) before its teardown ran.

    Their servers died with that pytest (``die_with_test_process``); only files are left.
    """
    for path in Path("/tmp").glob(f"{prefix}*"):
        try:
            owner = int((path / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue
        if not Path(f"/proc/{owner}").exists():
            shutil.rmtree(path, ignore_errors=True)
