"""Log line stamps as container engines and the kubelet write them (RFC 3339 with nanoseconds,
`docker logs --timestamps`, `kubectl logs --timestamps`), ordered exactly.

Go's RFC3339Nano drops the fraction's trailing zeros (`.5Z` is half a second, `.500000001Z` a
nanosecond later), so the stamps cannot be compared as text; and a flood writes many lines
within one microsecond, so they cannot be compared as datetimes either.
"""

from __future__ import annotations


def precise_stamp(stamp: str) -> tuple[str, int]:
    """`2026-11-23T03:54:28.5419229Z` -> ("2026-11-23T03:54:28", 541922900): the second as
    written (fixed width, so it orders as text) and the nanoseconds; 0 without a fraction."""
    second, _, rest = stamp.partition(".")
    fraction = rest.rstrip("Z")
    if not rest:  # `2026-11-23T03:54:29Z`
        second = second.rstrip("Z")
    nanoseconds = int(fraction[:9].ljust(9, "0")) if fraction.isdigit() else 0
    return second, nanoseconds
