"""Turning a stream of log lines into lists of lines, one per interval at most."""

from __future__ import annotations

from collections.abc import AsyncIterator

from providers.contract import LogLine
from providers.streams import batched as batches


async def batched(
    stream: AsyncIterator[LogLine], *, interval: float = 0.1
) -> AsyncIterator[list[LogLine]]:
    """Every line of `stream`, in order, in lists handed over at most every `interval` seconds.

    A change feed then costs one update per interval, not one per line. Nothing is dropped: a
    log pane follows `Provider.log_batches`, which bounds what waits and counts what it drops.
    """
    async for batch in batches(stream, interval=interval, limit=None):
        yield batch.items
