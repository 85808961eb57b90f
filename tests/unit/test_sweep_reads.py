"""Reads shared within one sweep (providers/sweep.py): once inside, every time outside."""

from __future__ import annotations

import asyncio

import pytest

from providers.sweep import known, one_sweep, remember, reuse, shared


class Reader:
    """A read that counts how often it ran and can be held back or made to fail."""

    def __init__(self, answer: object = "answer", *, error: Exception | None = None) -> None:
        self.runs = 0
        self.answer, self.error = answer, error
        self.release = asyncio.Event()
        self.release.set()

    async def __call__(self) -> object:
        self.runs += 1
        await self.release.wait()
        if self.error is not None:
            raise self.error
        return self.answer


async def test_outside_a_sweep_every_read_is_made() -> None:
    read = Reader()
    assert [await shared("key", read) for _ in range(3)] == ["answer"] * 3
    assert read.runs == 3
    remember("key", "old")  # nothing to remember it in
    assert known("key") is None


async def test_in_a_sweep_a_read_is_made_once_for_concurrent_and_later_callers() -> None:
    read, other = Reader(), Reader("other")
    read.release.clear()
    with one_sweep():
        waiting = [asyncio.ensure_future(shared("key", read)) for _ in range(3)]
        await asyncio.sleep(0)
        read.release.set()
        answers = await asyncio.gather(*waiting)
        later = await shared("key", read)
        different = await shared("other", other)
    assert answers == ["answer"] * 3 and later == "answer" and different == "other"
    assert (read.runs, other.runs) == (1, 1)
    assert await shared("key", read) == "answer"  # the sweep is over: read again
    assert read.runs == 2


async def test_in_a_sweep_an_error_goes_to_every_caller_once_read() -> None:
    read = Reader(error=ConnectionError("refused"))
    with one_sweep():
        for _ in range(2):
            with pytest.raises(ConnectionError, match="refused"):
                await shared("key", read)
    assert read.runs == 1


async def test_a_caller_that_gives_up_leaves_the_read_to_the_others() -> None:
    read = Reader()
    read.release.clear()
    with one_sweep():
        impatient = asyncio.ensure_future(shared("key", read))
        patient = asyncio.ensure_future(shared("key", read))
        await asyncio.sleep(0)
        impatient.cancel()
        await asyncio.sleep(0)
        read.release.set()
        assert await patient == "answer"
    assert impatient.cancelled() and read.runs == 1


async def test_what_a_bigger_read_brought_is_remembered_for_the_sweep_only() -> None:
    read = Reader("asked alone")
    with one_sweep():
        remember("service", "from the listing")
        remember("service", "a second listing does not replace the first")
        assert await shared("service", read) == "from the listing"
        remembered = known("service")
        assert remembered is not None and remembered.result() == "from the listing"
    assert read.runs == 0
    assert known("service") is None
    assert await shared("service", read) == "asked alone"


async def test_tasks_started_in_a_sweep_share_it_and_separate_sweeps_do_not() -> None:
    read = Reader()

    async def sweep() -> object:
        with one_sweep():
            first = await shared("key", read)
            second = await asyncio.create_task(shared("key", read))  # a task of the sweep
            assert first == second
            return first

    await asyncio.gather(sweep(), sweep())
    assert read.runs == 2  # one read per sweep, though both ran at once


async def test_an_answer_in_hand_still_lets_the_event_loop_run_first() -> None:
    """A sweep's checks answered from memory must not run back to back past a pressed key."""
    read = Reader()
    ran: list[str] = []
    with one_sweep():
        await shared("key", read)
        asyncio.get_running_loop().call_soon(ran.append, "a key's handler")
        assert await shared("key", read) == "answer"
        assert ran == ["a key's handler"]
        remember("listed", ["task"])
        remembered = known("listed")
        assert remembered is not None
        asyncio.get_running_loop().call_soon(ran.append, "another")
        assert await reuse(remembered) == ["task"]
        assert ran == ["a key's handler", "another"]
