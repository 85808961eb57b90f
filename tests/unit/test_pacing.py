"""The refresh pace: every interval, backing off while nothing changes, back at once on a key."""

from __future__ import annotations

from tui.pacing import RefreshPacer


def test_quiet_sweeps_double_the_interval_up_to_the_backoff_cap() -> None:
    pacer = RefreshPacer(10.0, 8.0, now=0.0)
    intervals = []
    for _ in range(6):
        pacer.swept(("same",))
        intervals.append(pacer.current_interval)
    # The first sweep has nothing to compare with; then 20, 40, 80 (the cap), and it stays.
    assert intervals == [10.0, 20.0, 40.0, 80.0, 80.0, 80.0]


def test_a_change_brings_the_configured_pace_back() -> None:
    pacer = RefreshPacer(10.0, 8.0, now=0.0)
    for _ in range(4):
        pacer.swept("same")
    assert pacer.current_interval == 80.0
    pacer.swept("different")
    assert pacer.current_interval == 10.0
    assert pacer.stale_after() == 20.0


def test_a_key_makes_a_sweep_due_when_the_data_is_older_than_the_interval() -> None:
    pacer = RefreshPacer(10.0, 8.0, now=0.0)
    pacer.started(100.0)
    for _ in range(4):
        pacer.swept("same")
    assert not pacer.due(130.0)  # backed off to 80 s
    pacer.activity()
    assert pacer.due(130.0)  # 30 s old at a 10 s pace
    assert not pacer.due(105.0)


def test_a_backoff_of_one_never_backs_off() -> None:
    pacer = RefreshPacer(5.0, 1.0, now=0.0)
    for _ in range(5):
        pacer.swept("same")
    assert pacer.current_interval == 5.0
