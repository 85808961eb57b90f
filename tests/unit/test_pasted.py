"""`triage suggest` given whatever an operator pipes in: bytes that are not UTF-8 and texts of
megabytes are said in one line each, and the ranking still works."""

from __future__ import annotations

import io
import os
import random
import subprocess
import sys

from runbooks.suggest import TEXT_LIMIT
from tui.pasted import KEPT_BYTES, from_arguments, from_stream

OOM = "ReplyError: OOM command not allowed when used memory > 'maxmemory'"
# Every byte from 0x80 up, eight times over: none of them starts or continues a UTF-8
# character here, so all 1,024 are undecodable.
NOT_UTF8 = bytes(range(0x80, 0x100)) * 8
# As a strict bastion runs it: standard streams in UTF-8 that refuse anything else.
STRICT = {"PYTHONIOENCODING": "utf-8:strict", "LC_ALL": "C.UTF-8"}


def suggest(*args: str | bytes, stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    environment = {**os.environ, **STRICT}
    for name in ("TRIAGE_CONFIG", "REDIS_URL", "DATABASE_URL", "AMQP_URL"):
        environment.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", "suggest", *args],
        input=stdin,
        capture_output=True,
        env=environment,
        timeout=120,
    )


def test_bytes_that_are_not_utf8_are_replaced_with_one_note_and_ranking_works() -> None:
    noise = random.Random(7).randbytes(2000)  # what `head -c 2000 /dev/urandom` gives
    completed = suggest("-", stdin=NOT_UTF8 + f"\n{OOM}\n".encode() + noise)
    assert completed.returncode == 0, completed.stderr.decode(errors="replace")
    err = completed.stderr.decode().splitlines()
    assert len(err) == 1 and err[0].startswith("triage: "), err
    assert err[0].endswith(" bytes of standard input are not UTF-8; read as U+FFFD")
    # The 1,024 known ones, and the noise's own.
    assert int(err[0].split()[1].replace(",", "")) >= len(NOT_UTF8)
    assert completed.stdout.decode().split()[1] == "redis-out-of-memory:"


def test_random_bytes_alone_rank_nothing_and_say_so_without_a_traceback() -> None:
    for args in ((), ("-",), ("--json", "-")):
        completed = suggest(*args, stdin=NOT_UTF8)
        assert completed.returncode == 1, completed.stderr
        assert completed.stderr.decode().splitlines() == [
            "triage: 1,024 bytes of standard input are not UTF-8; read as U+FFFD"
        ]
    assert completed.stdout == b"[]\n"


def test_bytes_that_are_not_utf8_on_the_command_line_are_replaced_too() -> None:
    completed = suggest(b"\xff\xfe " + OOM.encode(), stdin=b"")
    assert completed.returncode == 0
    assert completed.stderr.decode().splitlines() == [
        "triage: 2 bytes of the text are not UTF-8; read as U+FFFD"
    ]
    assert b"redis-out-of-memory" in completed.stdout


def test_a_paste_of_megabytes_is_ranked_by_its_head_and_tail_and_says_so() -> None:
    noise = b"GET /health 200 in 3 ms\n" * 250_000  # 6 MB of a log nobody needs
    paste = noise + f"{OOM}\n".encode()
    completed = suggest(stdin=paste)
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr.decode().splitlines() == [
        f"triage: standard input is {len(paste):,} bytes: only its first and last "
        f"{KEPT_BYTES:,} bytes are ranked"
    ]
    assert completed.stdout.decode().split()[1] == "redis-out-of-memory:"  # in the tail


def test_a_long_text_is_cut_between_characters_not_inside_one() -> None:
    text = "é" * (KEPT_BYTES + 1) + OOM + "€" * KEPT_BYTES  # 2- and 3-byte characters
    pasted = from_stream(io.BytesIO(text.encode()))
    assert "\ufffd" not in pasted.text
    assert pasted.notes == (
        f"standard input is {len(text.encode()):,} bytes: only its first and last "
        f"{KEPT_BYTES:,} bytes are ranked",
    )
    assert len(pasted.text.encode()) <= TEXT_LIMIT + 1  # the two ends and the line between
    assert pasted.text.startswith("é") and pasted.text.endswith("€")


def test_a_text_that_fits_is_kept_whole() -> None:
    assert from_stream(io.BytesIO(OOM.encode())).text == OOM
    assert from_stream(io.BytesIO(b"")).text == ""
    assert from_arguments(["OOM", "command"]).text == "OOM command"
    words = ["x" * TEXT_LIMIT, OOM]
    assert from_arguments(words).notes == (
        f"the text is {TEXT_LIMIT + 1 + len(OOM):,} characters: only its first and last "
        f"{KEPT_BYTES:,} characters are ranked",
    )
    assert from_arguments(words).text.endswith(OOM)
