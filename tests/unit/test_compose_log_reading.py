"""A followed container log read as raw socket blocks: HTTP chunks and engine frames undone in
bulk, whatever the boundaries of the reads."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from providers import compose_logs
from providers.compose_logs import frames, stamp_of, unchunk
from providers.compose_model import ContainerView
from providers.compose_provider import ComposeProvider
from providers.contract import LogLine
from providers.inventory import Target
from providers.streams import ThreadPump


def chunked(*chunks: bytes, extension: bytes = b"") -> bytes:
    body = b"".join(b"%x%s\r\n%s\r\n" % (len(c), extension, c) for c in chunks)
    return body + b"0\r\n\r\n"


def frame(stream: int, payload: bytes) -> bytes:
    return bytes([stream, 0, 0, 0]) + len(payload).to_bytes(4, "big") + payload


def split_every(data: bytes, size: int) -> list[bytes]:
    return [data[at : at + size] for at in range(0, len(data), size)]


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 10_000])
def test_unchunk_gives_the_body_whatever_the_reads(size: int) -> None:
    chunks = [b"first line\n", b"x" * 300, b"\r\n inside data\r\n", b"last\n"]
    blocks = list(unchunk(split_every(chunked(*chunks), size)))
    assert b"".join(blocks) == b"".join(chunks)
    assert all(blocks)  # no empty blocks handed on


def test_unchunk_reads_many_chunks_as_one_block_and_stops_at_the_last_chunk() -> None:
    body = chunked(b"a\n", b"b\n", b"c\n", extension=b";name=value") + b"never read"
    assert list(unchunk([body])) == [b"a\nb\nc\n"]


@pytest.mark.parametrize("size", [1, 5, 8, 9, 100])
def test_frames_across_reads_end_each_payload_as_a_line(size: int) -> None:
    data = frame(1, b"out line\n") + frame(2, b"err part") + frame(1, b"")
    data += frame(1, b"two\nlines\n")
    assert b"".join(frames(split_every(data, size))) == b"out line\nerr part\ntwo\nlines\n"


def test_a_chunked_multiplexed_flood_reads_every_line_once() -> None:
    lines = [b"2026-11-22T09:30:00.%09dZ line %d\n" % (n, n) for n in range(2_000)]
    body = chunked(*(frame(1, line) for line in lines))  # a chunk per log write, as the engine
    read = b"".join(frames(unchunk(split_every(body, 4_096))))
    assert read.splitlines(keepends=True) == lines


def test_stamps_order_lines_within_a_microsecond_and_with_trimmed_zeros() -> None:
    # The engine writes RFC 3339 with nanoseconds and drops the fraction's trailing zeros.
    stamps = [
        b"2026-11-23T03:54:28.5419229Z a",  # .541922900
        b"2026-11-23T03:54:28.541922921Z b",
        b"2026-11-23T03:54:28.541922922Z c",  # the same microsecond as b
        b"2026-11-23T03:54:28.55Z d",
        b"2026-11-23T03:54:29Z e",
        b"2026-11-23T03:54:29.000000001Z f",
    ]
    keys = [stamp_of(raw) for raw in stamps]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert keys[0] == ("2026-11-23T03:54:28", 541_922_900)
    assert keys[4] == ("2026-11-23T03:54:29", 0)


class _Stream:
    """A followed log as `read_log` hands it: blocks of whole lines, closed when done."""

    def __init__(self, lines: list[bytes]) -> None:
        self.blocks = [b"".join(lines)] if lines else []

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.blocks)

    def close(self) -> None:
        self.blocks = []


async def test_lines_a_follow_ended_without_are_read_once_more_when_it_stopped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An engine may end a follow as the container stops, before its last lines: the stopped
    container's log is read again from the last line sent, each line passed on once, before
    the line that says it stopped."""
    lines = [b"2026-11-22T09:30:00.%09dZ line %d\n" % (n, n) for n in range(1, 6)]
    queries: list[dict[str, Any]] = []
    reads = iter([_Stream(lines[:3]), _Stream(lines[2:])])  # the follow, then the stopped log

    def read_log(client: object, view: object, query: dict[str, Any]) -> _Stream:
        queries.append(query)
        return next(reads)

    exited = {
        "Id": "c0ffee",
        "Name": "/flood",
        "State": {"Status": "exited", "ExitCode": 0, "StartedAt": "2026-11-22T09:29:59Z"},
    }
    engine = SimpleNamespace(api=SimpleNamespace(inspect_container=lambda ident: exited))
    provider = ComposeProvider(Target(kind="compose", name="local", url="unix:///nowhere"))
    monkeypatch.setattr(compose_logs, "read_log", read_log)
    monkeypatch.setattr(provider, "client", lambda: engine)
    view = ContainerView.from_inspect({**exited, "State": {"Status": "running"}})
    pump: ThreadPump[LogLine] = ThreadPump()
    followed = compose_logs.FollowedContainers(1)
    pump.start(provider._follow, pump, engine, view, "out", None, "", followed)
    texts: list[str] = []
    async for batch in pump.batches():
        texts += [line.text for line in batch.items]
        if any(line.state for line in batch.items):
            break
    pump.stop()

    assert texts == [*(f"line {n}" for n in range(1, 6)), "flood stopped: container exited (0)"]
    assert queries[0] == {"stdout": 1, "stderr": 0, "tail": compose_logs.TAIL_LINES}
    assert queries[1]["since"] == pytest.approx(
        datetime(2026, 11, 22, 9, 30, 0, 3, tzinfo=UTC).timestamp()
    )
