"""Text an operator pipes in or pastes for `suggest` and `diagnose`: any bytes, any length.

Bytes that are not UTF-8 (a binary log, `head -c 2000 /dev/urandom`) are replaced, not a
traceback; a text of many megabytes is read in chunks and only its head and tail are kept, which
is all the ranking reads of a long text (`runbooks.suggest.bounded`: errors are at the end of a
log, the context at its start). Each of these is said in one line, so the operator knows what
was ranked.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from typing import BinaryIO

from runbooks.suggest import TEXT_LIMIT

# Bytes kept from each end of a long text: together no more than the ranking reads.
KEPT_BYTES = TEXT_LIMIT // 2
CHUNK_BYTES = 1 << 16
# What "surrogateescape" makes of each byte that is not UTF-8 (argv is decoded that way).
_UNDECODED = re.compile("[\udc80-\udcff]+")


@dataclass(frozen=True, slots=True)
class Pasted:
    """The text to rank and what was done to it, in the words the operator reads."""

    text: str
    notes: tuple[str, ...] = ()


def _replaced(text: str, where: str) -> Pasted:
    """`text` with each run of undecodable bytes as one U+FFFD, and a note of how many."""
    count = sum(len(run) for run in _UNDECODED.findall(text))
    if not count:
        return Pasted(text)
    note = (
        f"{count:,} byte{'s' if count != 1 else ''} of {where} "
        f"{'are' if count != 1 else 'is'} not UTF-8; read as U+FFFD"
    )
    return Pasted(_UNDECODED.sub("\ufffd", text), (note,))


def from_arguments(words: list[str]) -> Pasted:
    """The words of the command line as one text (Python gave bytes that are not UTF-8 to us
    as lone surrogates, which no output can print)."""
    pasted = _replaced(" ".join(words), "the text")
    if len(pasted.text) <= TEXT_LIMIT:
        return pasted
    cut = f"the text is {len(pasted.text):,} characters: " + _kept_note("characters")
    return Pasted(_head_and_tail(pasted.text), (*pasted.notes, cut))


def from_stream(stream: BinaryIO) -> Pasted:
    """Everything `stream` holds, read in chunks to its end, holding at most its head and its
    tail (2 x KEPT_BYTES) whatever its length."""
    head = bytearray()
    tail = bytearray()
    total = 0
    while chunk := stream.read(CHUNK_BYTES):
        total += len(chunk)
        if len(head) < KEPT_BYTES:
            room = KEPT_BYTES - len(head)
            head += chunk[:room]
            chunk = chunk[room:]
        tail += chunk
        if len(tail) > KEPT_BYTES:
            del tail[:-KEPT_BYTES]
    if total == len(head) + len(tail):  # nothing left out
        return _replaced(bytes(head + tail).decode("utf-8", "surrogateescape"), "standard input")
    # Cut on characters, not inside one: the head's last incomplete character is left out, as
    # are the tail's first continuation bytes.
    decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
    start = decoder.decode(bytes(head), final=False)
    skip = 0
    while skip < min(3, len(tail)) and 0x80 <= tail[skip] <= 0xBF:
        skip += 1
    end = bytes(tail[skip:]).decode("utf-8", "surrogateescape")
    pasted = _replaced(f"{start}\n{end}", "standard input")
    cut = f"standard input is {total:,} bytes: " + _kept_note("bytes")
    return Pasted(pasted.text, (*pasted.notes, cut))


def _kept_note(unit: str) -> str:
    return f"only its first and last {KEPT_BYTES:,} {unit} are ranked"


def _head_and_tail(text: str) -> str:
    return f"{text[:KEPT_BYTES]}\n{text[-KEPT_BYTES:]}"
