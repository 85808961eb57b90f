"""Turning a stream of log lines into batches, one per frame at most."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from providers.contract import LogLine

_END = object()


async def batched(
    stream: AsyncIterator[LogLine], *, interval: float = 0.1, max_batch: int = 5_000
) -> AsyncIterator[list[LogLine]]:
    """Collect lines for up to `interval` seconds; yield each non-empty batch.

    A noisy service then costs one UI update per interval, not one per line.
    """
    queue: asyncio.Queue[object] = asyncio.Queue()

    async def pump() -> None:
        try:
            async for line in stream:
                await queue.put(line)
        finally:
            await queue.put(_END)

    task = asyncio.create_task(pump())
    try:
        while True:
            first = await queue.get()
            if first is _END:
                break
            batch: list[LogLine] = [first]  # type: ignore[list-item]
            await asyncio.sleep(interval)
            ended = False
            while not queue.empty() and len(batch) < max_batch:
                item = queue.get_nowait()
                if item is _END:
                    ended = True
                    break
                batch.append(item)  # type: ignore[arg-type]
            yield batch
            if ended:
                break
        task.result() if task.done() else None
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
