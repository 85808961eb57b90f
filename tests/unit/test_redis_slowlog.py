"""When a followed slow log began again: a new run id, ids that went back, a log emptied."""

from __future__ import annotations

from providers.redis_slowlog import SlowLogSeen

ADDRESS = "10.0.3.7:6379"


def seen(run_id: str | None, ids: range | list[int]) -> SlowLogSeen:
    return SlowLogSeen(run_id, len(ids), frozenset(ids))


def test_newer_entries_of_the_same_server_are_the_same_log() -> None:
    before = seen("a1", range(0, 128))
    assert before.reset(list(range(5, 133)), "a1", 127, ADDRESS) is None  # the window slid on
    assert before.reset(list(range(300, 428)), "a1", 127, ADDRESS) is None  # a burst passed it
    assert before.reset(list(range(118, 128)), "a1", 127, ADDRESS) is None  # max-len lowered
    assert before.reset(list(range(0, 128)), "a1", 127, ADDRESS) is None  # nothing new
    assert SlowLogSeen().reset([0, 1], "a1", -1, ADDRESS) is None  # the first poll


def test_a_new_run_id_is_a_restart() -> None:
    assert seen("a1", [7, 8]).reset([0, 1], "b2", 8, ADDRESS) == (
        "10.0.3.7:6379 restarted (a new run id): following its slow log from the start"
    )
    # Even when the new server's ids already passed the old ones.
    assert seen("a1", [7, 8]).reset(list(range(0, 20)), "b2", 8, ADDRESS) is not None


def test_ids_that_went_back_begin_again_where_the_run_id_is_not_known() -> None:
    assert seen(None, [40, 41]).reset([0, 1, 2], None, 41, ADDRESS) == (
        "the slow log of 10.0.3.7:6379 began again (its ids went back): following it"
    )


def test_an_emptied_log_begins_again() -> None:
    emptied = (
        "the slow log of 10.0.3.7:6379 was emptied (SLOWLOG RESET or a restart): "
        "following its new entries"
    )
    assert seen("a1", range(0, 50)).reset([], "a1", 49, ADDRESS) == emptied
    assert seen("a1", range(0, 50)).reset([50, 51], "a1", 49, ADDRESS) == emptied  # ids go on
    assert seen("a1", []).reset([], "a1", -1, ADDRESS) is None  # empty, and empty still
