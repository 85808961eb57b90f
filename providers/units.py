"""Numbers as an operator reads them: 1.5 MiB, 3d 4h."""

from __future__ import annotations


def human_bytes(count: int | float) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def human_duration(seconds: float) -> str:
    """The two largest units: 45s, 3m 20s, 5h 2m, 12d 3h."""
    total = int(seconds)
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


def rough_ms(milliseconds: float) -> str:
    """A latency in steady words ("under 5 ms"): a status line that does not change at every
    refresh costs nothing to redraw over a slow link. Evidence keeps the exact figure."""
    for bound in (1, 5, 20, 100, 500):
        if milliseconds < bound:
            return f"under {bound} ms"
    return f"{milliseconds / 1000:.1f} s"


def counted(count: int, noun: str) -> str:
    """`1 pod`, `3 pods`, `0 HPAs`: a count with its noun, plural unless it is one."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"
