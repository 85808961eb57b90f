"""Log lines moved in batches, from reader threads or async streams to their consumer.

A noisy service writes tens of thousands of lines a second; waking the event loop once per line
costs more than drawing them. Both ways in here collect what arrives while the consumer is busy
(or for `BATCH_SECONDS` at least) and hand it over as one batch: one wake-up per batch.

What waits is bounded: when the consumer falls behind, the oldest waiting lines go, and the next
batch says exactly how many (`dropped`), so the log pane can tell the operator.

Every log line reaches the app in a `LineBatch`, so that is where log text is redacted
(providers/redact.py): in the reader threads when a provider has them, else as the batch is made.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from providers.contract import LogLine
from providers.redact import redact_lines

T = TypeVar("T")

BATCH_SECONDS = 0.05  # the most often a batch is handed over: faster than a frame
MAX_PENDING = 50_000  # lines waiting for a consumer that fell behind; older ones are dropped


@dataclass(frozen=True, slots=True)
class LineBatch:
    """Log lines in the order they arrived, redacted, and how many the stream lost just before
    them because its consumer fell behind.

    `redacted`: the lines went through `redact_lines` already (in the reader threads that read
    them, off the event loop); otherwise they go through it here.
    """

    lines: list[LogLine]
    dropped: int = 0
    redacted: bool = False

    def __post_init__(self) -> None:
        if not self.redacted:
            object.__setattr__(self, "lines", redact_lines(self.lines))
            object.__setattr__(self, "redacted", True)


@dataclass(frozen=True, slots=True)
class Batch(Generic[T]):
    """What reader threads handed over since the last batch."""

    items: list[T]
    dropped: int = 0  # items lost just before these: the consumer fell behind
    errors: tuple[Exception, ...] = ()  # readers that failed (never dropped)


async def batched(
    stream: AsyncIterator[T],
    *,
    interval: float = BATCH_SECONDS,
    limit: int | None = MAX_PENDING,
) -> AsyncIterator[Batch[T]]:
    """An async stream's items in batches: what arrives within `interval` of an item goes over
    with it, so a burst (a watch's first list, a noisy service) costs one hand-over.

    While the consumer is busy, items gather (at most `limit`, the oldest dropped and counted)
    and go over together.
    """
    pending: deque[T] = deque()
    ready = asyncio.Event()
    dropped = 0
    finished = False

    async def pump() -> None:
        nonlocal dropped, finished
        try:
            async for item in stream:
                if limit is not None and len(pending) >= limit:
                    pending.popleft()
                    dropped += 1
                pending.append(item)
                ready.set()
        finally:
            finished = True
            ready.set()

    task = asyncio.create_task(pump())
    try:
        while True:
            await ready.wait()
            if not finished:
                await asyncio.sleep(interval)
            ready.clear()
            items, lost, done = list(pending), dropped, finished
            pending.clear()
            dropped = 0
            if items or lost:
                yield Batch(items, lost)
            if done:
                break
        await task  # what the stream raised is raised here
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class ThreadPump(Generic[T]):
    """Blocking streams read in daemon threads, their items handed to the event loop in batches.

    Threads `put` under a lock; only the first item after a hand-over schedules a wake-up on the
    loop (`call_soon_threadsafe`), the rest ride along. `stop` closes every registered stream,
    which ends its thread.
    """

    def __init__(self, *, limit: int = MAX_PENDING, interval: float = BATCH_SECONDS) -> None:
        self.loop = asyncio.get_running_loop()
        self.limit = limit
        self.interval = interval
        self.stopped = threading.Event()
        self._ready = asyncio.Event()
        self._lock = threading.Lock()
        self._items: deque[T] = deque()
        self._dropped = 0
        self._errors: list[Exception] = []
        self._started = 0
        self._ended = 0
        self._waking = False
        self._streams: list[Any] = []

    def put(self, item: T) -> None:
        self.put_many((item,))

    def put_many(self, items: Iterable[T]) -> None:
        with self._lock:
            pending = self._items
            for item in items:
                if len(pending) >= self.limit:
                    pending.popleft()
                    self._dropped += 1
                pending.append(item)
            wake = self._claim_wake()
        if wake:
            self._wake()

    def _claim_wake(self) -> bool:
        """Under the lock: whether this caller schedules the wake-up (none is on its way)."""
        if self._waking:
            return False
        self._waking = True
        return True

    def _wake(self) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is listening
            self.loop.call_soon_threadsafe(self._ready.set)

    def register(self, stream: Any) -> bool:
        """Keep a stream to close on stop; False (and closed) when already stopped."""
        with self._lock:
            if not self.stopped.is_set():
                self._streams.append(stream)
                return True
        self._close(stream)
        return False

    def start(self, body: Callable[..., None], *args: Any) -> None:
        with self._lock:
            self._started += 1
        threading.Thread(target=self._run, args=(body, *args), daemon=True).start()

    def _run(self, body: Callable[..., None], *args: Any) -> None:
        try:
            body(*args)
        except Exception as error:  # reported in the next batch, not raised in a thread
            if not self.stopped.is_set():
                with self._lock:
                    self._errors.append(error)
        finally:
            with self._lock:
                self._ended += 1
                wake = self._claim_wake()
            if wake:
                self._wake()

    def stop(self) -> None:
        self.stopped.set()
        with self._lock:
            streams, self._streams = self._streams, []
        for stream in streams:
            self._close(stream)

    @staticmethod
    def _close(stream: Any) -> None:
        # Closing a stream whose connection already broke may raise; the thread ends either way.
        with contextlib.suppress(Exception):
            stream.close()

    async def batches(self) -> AsyncIterator[Batch[T]]:
        """Everything the threads send, a batch per `interval` at most, until all of them ended."""
        loop = self.loop
        while True:
            with self._lock:
                if self._started == self._ended and not self._items and not self._errors:
                    return
            await self._ready.wait()
            self._ready.clear()
            taken = loop.time()
            with self._lock:
                items, self._items = self._items, deque()
                dropped, self._dropped = self._dropped, 0
                errors, self._errors = self._errors, []
                self._waking = False
            if items or dropped or errors:
                yield Batch(list(items), dropped, tuple(errors))
            await asyncio.sleep(self.interval - (loop.time() - taken))
