"""A followed container log read as raw socket blocks: HTTP chunks and engine frames undone in
bulk, whatever the boundaries of the reads."""

from __future__ import annotations

import pytest

from providers.compose_logs import frames, stamp_of, unchunk


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
