"""The garbage collector around start-up.

Start-up makes ~100,000 objects that live as long as the app (modules, classes, the SDKs, the
runbooks). Each full collection while they are made walks them all again: three of them took
~0.2 s of CPU before the tree was populated. So the CLI pauses full collections until start-up
is over; young ones go on, so what start-up throws away (a large cluster's discovery throws
away much) is freed as it goes. Then the app collects once and freezes what is left out of the
collector's sight: a full collection (every second or two under a log flood) walks only what
came after, ~25 ms instead of ~100, which a key no longer waits behind.
"""

from __future__ import annotations

import gc

PAUSED = 1_000_000_000  # young collections between two full ones: never, in practice

_thresholds: tuple[int, int, int] | None = None


def pause_full_collections() -> None:
    """No full collection until `freeze_start_up()`."""
    global _thresholds
    if _thresholds is None:
        _thresholds = gc.get_threshold()
        young, middle, _ = _thresholds
        gc.set_threshold(young, middle, PAUSED)


def freeze_start_up() -> None:
    """Collect, freeze what start-up made, and let full collections run again."""
    global _thresholds
    gc.collect()
    gc.freeze()
    if _thresholds is not None:
        gc.set_threshold(*_thresholds)
        _thresholds = None
