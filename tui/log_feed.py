"""From a provider's log batches to the log pane: parts small enough that a key never waits
long, and runbook signatures looked for off the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from operator import attrgetter

from providers.contract import LogLine
from tui.problems import Problem, SignatureScanner

MAX_LOG_PROBLEMS = 20
LINES_PER_MESSAGE = 2_000  # a flood's batch reaches the log pane in parts of this size


def newest(lines: list[LogLine], keep: int) -> tuple[list[LogLine], int]:
    """The batch in time order, its newest `keep` lines only, and how many older ones went:
    no more than the pane keeps is worth sending it."""
    ordered = sorted(lines, key=attrgetter("time"))
    beyond = max(0, len(ordered) - keep)
    return ordered[beyond:], beyond


def parts(lines: list[LogLine], dropped: int) -> Iterator[tuple[list[LogLine], int]]:
    """The lines in parts of LINES_PER_MESSAGE, the dropped count with the first (an empty
    batch that only reports drops is one part)."""
    for start in range(0, max(len(lines), 1), LINES_PER_MESSAGE):
        yield lines[start : start + LINES_PER_MESSAGE], dropped if start == 0 else 0


class LogSignatures:
    """The runbooks' log signatures, compiled once per library, searched in a thread: on the
    event loop a flood's scan would hold back the operator's keys."""

    def __init__(self) -> None:
        self._scanner: SignatureScanner | None = None
        self._library: object | None = None

    async def scanner(self, library: object) -> SignatureScanner:
        """The library's scanner, compiled in a thread (~50 ms of regular expressions)."""
        if self._scanner is None or self._library is not library:
            runbooks = list(library.runbooks.values())  # type: ignore[attr-defined]
            self._scanner = await asyncio.to_thread(SignatureScanner, runbooks)
            self._library = library
        return self._scanner

    async def find(
        self, library: object | None, node_id: str, lines: list[LogLine]
    ) -> list[Problem]:
        if library is None or not lines:  # the library is not loaded yet
            return []
        scanner = await self.scanner(library)
        return await asyncio.to_thread(scanner.problems, node_id, lines, limit=MAX_LOG_PROBLEMS)
