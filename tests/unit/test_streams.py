"""Log lines moved in batches: every line in order, or an exact count of those dropped."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import TypeVar

import pytest

from providers.streams import Batch, ThreadPump, batched
from tui.streams import batched as batched_lists

T = TypeVar("T")


async def numbers(count: int, *, pause_every: int = 0) -> AsyncIterator[int]:
    for number in range(count):
        if pause_every and number % pause_every == 0:
            await asyncio.sleep(0)  # let the consumer in now and then
        yield number


async def collect(batches: AsyncIterator[Batch[T]]) -> tuple[list[T], int, int]:
    """Every item, the dropped total and how many batches carried them."""
    items: list[T] = []
    dropped = count = 0
    async for batch in batches:
        items += batch.items
        dropped += batch.dropped
        count += 1
    return items, dropped, count


async def test_an_async_stream_arrives_whole_and_in_order_in_few_batches() -> None:
    items, dropped, count = await collect(batched(numbers(20_000, pause_every=500), interval=0.001))
    assert items == list(range(20_000))
    assert dropped == 0
    assert count < 20_000 // 100  # batches, not one hand-over per item


async def test_a_consumer_that_falls_behind_an_async_stream_is_told_how_many_went() -> None:
    # The stream never waits, so all of it arrives before the consumer takes anything: the
    # oldest 990 cannot wait and go, counted; the newest 10 arrive.
    items, dropped, _ = await collect(batched(numbers(1_000), limit=10))
    assert items == list(range(990, 1_000))
    assert dropped == 990


async def test_the_stream_error_reaches_the_consumer_after_the_items() -> None:
    async def failing() -> AsyncIterator[int]:
        yield 1
        raise ConnectionError("engine went away")

    seen: list[int] = []
    with pytest.raises(ConnectionError, match="engine went away"):
        async for batch in batched(failing()):
            seen += batch.items
    assert seen == [1]


async def test_change_feeds_still_get_plain_lists_of_every_line() -> None:
    lists = [items async for items in batched_lists(numbers(500), interval=0.001)]  # type: ignore[arg-type]
    assert [item for items in lists for item in items] == list(range(500))


async def test_reader_threads_hand_over_every_line_in_order() -> None:
    pump: ThreadPump[int] = ThreadPump(interval=0.001)

    def read(first: int, count: int) -> None:
        for number in range(first, first + count, 50):
            pump.put_many(range(number, number + 50))  # as a chunk of a stream splits in lines

    pump.start(read, 0, 30_000)
    items, dropped, _ = await collect(pump.batches())
    assert items == list(range(30_000))
    assert dropped == 0


async def test_what_gathered_while_the_consumer_was_busy_goes_over_as_one_batch() -> None:
    pump: ThreadPump[int] = ThreadPump()
    finished = threading.Event()

    def read() -> None:
        for number in range(0, 30_000, 50):
            pump.put_many(range(number, number + 50))
        finished.set()

    pump.start(read)
    await asyncio.to_thread(finished.wait)
    assert await collect(pump.batches()) == (list(range(30_000)), 0, 1)


async def test_reader_threads_far_ahead_of_the_consumer_count_exactly_what_went() -> None:
    pump: ThreadPump[int] = ThreadPump(limit=1_000)
    finished = threading.Event()

    def read() -> None:
        for number in range(25_000):
            pump.put(number)
        finished.set()

    pump.start(read)
    await asyncio.to_thread(finished.wait)  # the consumer takes nothing until the reader is done
    items, dropped, _ = await collect(pump.batches())
    assert items == list(range(24_000, 25_000))
    assert dropped == 24_000


async def test_a_failing_reader_is_reported_in_a_batch_and_the_others_go_on() -> None:
    pump: ThreadPump[str] = ThreadPump(interval=0.001)

    def fail() -> None:
        raise OSError("stream reset")

    def read() -> None:
        pump.put_many(["a", "b"])

    pump.start(fail)
    pump.start(read)
    items: list[str] = []
    errors: list[Exception] = []
    async for batch in pump.batches():
        items += batch.items
        errors += batch.errors
    assert items == ["a", "b"]
    assert [str(error) for error in errors] == ["stream reset"]


async def test_stopping_closes_the_streams_the_readers_registered() -> None:
    pump: ThreadPump[str] = ThreadPump()
    closed = threading.Event()

    class Stream:
        def close(self) -> None:
            closed.set()

    def read() -> None:
        if pump.register(Stream()):
            closed.wait()  # a blocking read that ends when its stream is closed

    pump.start(read)
    pump.stop()
    assert await collect(pump.batches()) == ([], 0, 0)
    assert closed.is_set()
    assert not pump.register(Stream())  # too late: closed at once
