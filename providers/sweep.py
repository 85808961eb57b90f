"""Reads shared within one sweep: what discovery just read, a check of the same sweep reuses.

A refresh discovers every target and then runs the checks of what it found; a check asking for
an ECS service that discovery described a moment ago would otherwise cost the same call again
(nine of the 21 calls a small cluster's refresh made). Inside `one_sweep()` a read made through
`shared()` is made once and its answer (or its error) goes to every caller of that sweep, those
asking at the same moment included. Outside a sweep (a check re-run by hand, a fix being
verified) every read goes to the server: what the operator asks for is never an old answer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Hashable, Iterator
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")

_READS: ContextVar[dict[Hashable, asyncio.Future[Any]] | None] = ContextVar(
    "triage_sweep_reads", default=None
)


@contextlib.contextmanager
def one_sweep() -> Iterator[None]:
    """Reads through `shared()` in this block (and the tasks it starts) are made once."""
    token = _READS.set({})
    try:
        yield
    finally:
        _READS.reset(token)


async def shared(key: Hashable, read: Callable[[], Awaitable[T]]) -> T:
    """`read()`'s answer; in a sweep, the answer of the first caller that asked for `key`.

    A caller that gives up (its check's timeout) leaves the read running for the others."""
    reads = _READS.get()
    if reads is None:
        return await read()
    answer = reads.get(key)
    if answer is None:
        answer = reads[key] = asyncio.ensure_future(read())
        answer.add_done_callback(_retrieve)
    return await reuse(answer)


async def reuse(answer: asyncio.Future[Any]) -> Any:
    """A shared read's answer. One already in hand still lets the event loop run first: 1,200
    checks of a sweep answered from memory would otherwise run back to back, and a key
    pressed meanwhile would wait for them all (hundreds of milliseconds)."""
    if answer.done():
        await asyncio.sleep(0)
    return await asyncio.shield(answer)


def remember(key: Hashable, value: Any) -> None:
    """In a sweep, `value` is the answer of `key`'s read (read as part of a bigger one)."""
    reads = _READS.get()
    if reads is not None and key not in reads:
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        answer.set_result(value)
        reads[key] = answer


def known(key: Hashable) -> asyncio.Future[Any] | None:
    """The sweep's read of `key` if one was made or begun (None outside a sweep)."""
    reads = _READS.get()
    return None if reads is None else reads.get(key)


def _retrieve(answer: asyncio.Future[Any]) -> None:
    """An error nobody waits for any more is not reported as never retrieved."""
    if not answer.cancelled():
        answer.exception()
