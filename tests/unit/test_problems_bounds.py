"""Signatures whose text must start a word (`\\bE012\\b`) are ruled out without their regex when
the text only shows inside other words, as error codes do inside hex trace ids."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest

from providers.contract import LogLine
from runbooks.loader import load_library
from tui.log_feed import LogSignatures
from tui.problems import SignatureScanner

NOISE = " GET /api/orders 200 12ms trace=4bf92f3577b34da6a3ce929d0e0e4736 e012ab"


def lines(*texts: str) -> list[LogLine]:
    now = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
    return [LogLine(now, "api", "out", text) for text in texts]


@pytest.fixture(scope="module")
def scanner() -> SignatureScanner:
    return SignatureScanner(load_library().runbooks.values())


def test_codes_inside_hex_ids_find_nothing(scanner: SignatureScanner) -> None:
    assert scanner.problems("n", lines(*(f"line {n}{NOISE}" for n in range(500)))) == []


@pytest.mark.parametrize("said", ["E012: bad", "failed: E012", "code=e012;", "x-E003", "(E001)"])
def test_a_code_that_starts_a_word_is_found_among_the_noise(
    scanner: SignatureScanner, said: str
) -> None:
    batch = lines(*(f"line {n}{NOISE}" for n in range(500)), said, "after")
    assert [problem.text for problem in scanner.problems("n", batch)] == [said]


@pytest.mark.parametrize("said", ["xE012 no", "E0121 no", "_E012 no"])
def test_a_code_inside_a_word_is_not_a_match(scanner: SignatureScanner, said: str) -> None:
    assert scanner.problems("n", lines(said)) == []


async def test_the_feed_compiles_its_scanner_once_and_off_the_event_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """~50 ms of regular expressions: on the event loop they would hold a frame back."""
    library = load_library()
    made_in: list[str] = []
    real_init = SignatureScanner.__init__

    def recording_init(self: SignatureScanner, runbooks: Any) -> None:
        made_in.append(threading.current_thread().name)
        real_init(self, runbooks)

    monkeypatch.setattr(SignatureScanner, "__init__", recording_init)
    feed = LogSignatures()
    assert await feed.find(None, "n", lines("E012: bad")) == []  # no library yet: nothing
    found = [await feed.find(library, "n", lines(f"E012: bad {n}")) for n in range(2)]

    assert [[problem.text for problem in batch] for batch in found] == [
        ["E012: bad 0"],
        ["E012: bad 1"],
    ]
    assert len(made_in) == 1 and made_in[0] != threading.main_thread().name
