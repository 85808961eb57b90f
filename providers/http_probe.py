"""One GET of an HTTP endpoint: what it answered (or why not), and how the answer is read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

BODY_LIMIT = 1024 * 1024  # bytes read to look for `body_contains`


@dataclass(frozen=True, slots=True)
class Probe:
    """One GET of an endpoint: its answer, or why there was none."""

    url: str
    status_code: int | None = None
    status_line: str = ""
    latency_ms: float | None = None
    body: str = ""
    body_match: bool | None = None
    error: str | None = None
    reason: str = ""
    location: str = ""
    proxy: str = ""  # the proxy the GET went through (`http://HOST:PORT`), "" if direct
    peer_certificate: bytes | None = field(default=None, repr=False)


def peer_certificate(response: httpx.Response) -> bytes | None:
    stream = response.extensions.get("network_stream")
    if stream is None:
        return None
    try:
        tls = stream.get_extra_info("ssl_object")
        return tls.getpeercert(binary_form=True) if tls is not None else None
    except Exception:  # a transport without TLS details; the status check still stands
        return None


async def read_limited(response: httpx.Response, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]
