"""Sizes, durations and latencies as an operator reads them in a status line."""

from __future__ import annotations

import pytest

from providers.units import counted, human_bytes, human_duration, rough_ms

KIB, MIB, GIB, TIB = 1024, 1024**2, 1024**3, 1024**4


@pytest.mark.parametrize(
    ("count", "shown"),
    [
        (0, "0 B"),
        (512, "512 B"),
        (1023, "1023 B"),  # still bytes: a unit changes at 1024, not at 1000
        (KIB, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (1023 * KIB, "1023.0 KiB"),
        (int(1.5 * MIB), "1.5 MiB"),
        (int(3.2 * GIB), "3.2 GiB"),  # a RabbitMQ node's mem_used
        (8 * GIB, "8.0 GiB"),
        (2 * TIB, "2.0 TiB"),
        (5 * 1024 * TIB, "5120.0 TiB"),  # nothing above TiB: a petabyte reads in TiB
        (-2048, "-2.0 KiB"),  # a shrinking size keeps its unit
        (1023.6, "1024 B"),  # a float of bytes rounds to whole bytes
    ],
)
def test_human_bytes(count: float, shown: str) -> None:
    assert human_bytes(count) == shown


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0s"),
        (45, "45s"),
        (59.9, "59s"),  # whole seconds, never rounded up into the next minute
        (60, "1m 0s"),
        (200, "3m 20s"),
        (3_599, "59m 59s"),
        (3_600, "1h 0m"),
        (5 * 3_600 + 2 * 60 + 30, "5h 2m"),  # only the two largest units
        (86_399, "23h 59m"),
        (86_400, "1d 0h"),
        (12 * 86_400 + 3 * 3_600 + 59 * 60, "12d 3h"),
    ],
)
def test_human_duration(seconds: float, shown: str) -> None:
    assert human_duration(seconds) == shown


@pytest.mark.parametrize(
    ("milliseconds", "shown"),
    [
        (0.4, "under 1 ms"),
        (1, "under 5 ms"),  # a bound is not under itself
        (4.99, "under 5 ms"),
        (5, "under 20 ms"),
        (19.9, "under 20 ms"),
        (20, "under 100 ms"),
        (99, "under 100 ms"),
        (100, "under 500 ms"),
        (499, "under 500 ms"),
        (500, "0.5 s"),
        (2_500, "2.5 s"),
        (60_000, "60.0 s"),  # a request that hit a one-minute timeout
    ],
)
def test_rough_ms(milliseconds: float, shown: str) -> None:
    assert rough_ms(milliseconds) == shown


def test_rough_ms_stays_the_same_while_a_latency_wanders_within_its_band() -> None:
    assert {rough_ms(ms) for ms in (21.3, 35.0, 48.7, 99.9)} == {"under 100 ms"}


def test_a_count_reads_with_its_noun_in_the_right_number() -> None:
    assert counted(1, "pod") == "1 pod"
    assert counted(0, "pod") == "0 pods"
    assert counted(2, "HPA") == "2 HPAs"
    assert counted(12_000, "deployment") == "12,000 deployments"
