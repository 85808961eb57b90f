"""Waiting for a state, never for a time: a loaded machine makes everything slower, so a test
waits until what it needs holds, with a generous deadline whose failure says what came instead.

`until` is for async tests off Textual (providers, streams); tests/tui/conftest.py has the
Pilot's `wait_until`, and tests/servers/process.py the servers' readiness loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def until(
    predicate: Callable[[], bool],
    timeout: float = 20.0,
    what: str = "",
    seen: Callable[[], object] | None = None,
) -> None:
    """Wait for `predicate`; the failure says what `seen` returns then (what came instead)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            instead = f"; instead: {seen()!r}" if seen is not None else ""
            raise AssertionError(f"not reached within {timeout}s: {what}{instead}")
        await asyncio.sleep(0.05)
