"""TLS trust, built once: loading a CA bundle costs ~60 ms of CPU, so never once per request.

httpx builds a fresh SSL context (and re-reads certifi's bundle) for every client created with
`verify=True`; a provider that made a client per probe spent most of its CPU there, on the
event loop. Contexts here are made once per CA file (and again only when the file changes),
in a thread, and shared: an `ssl.SSLContext` may serve many connections at once.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import threading
from urllib.parse import urlsplit

_lock = threading.Lock()
_contexts: dict[tuple[str, float], ssl.SSLContext] = {}


def _default_bundle() -> str:
    import certifi  # what httpx trusts by default

    return str(certifi.where())


def trust_context(ca_file: str | None = None) -> ssl.SSLContext:
    """A context that verifies against `ca_file` (a PEM bundle), or the default bundle."""
    path = str(ca_file) if ca_file else _default_bundle()
    key = (path, os.stat(path).st_mtime)
    with _lock:
        context = _contexts.get(key)
        if context is None:
            context = ssl.create_default_context(cafile=path)
            _contexts[key] = context
        return context


async def trust_context_async(ca_file: str | None = None) -> ssl.SSLContext:
    """`trust_context` without blocking the event loop the first time."""
    return await asyncio.to_thread(trust_context, ca_file)


async def trust_for(
    url: str, ca_file: str | None = None, *, follows_redirects: bool = False
) -> ssl.SSLContext | bool:
    """httpx's `verify` for requests to `url`: the trust store, unless no TLS can happen at all
    (a plain http:// URL whose redirects are not followed), where loading a bundle would cost
    its ~60 ms of CPU at start for nothing (False: httpx then makes no trust store)."""
    if urlsplit(url).scheme.lower() == "http" and not follows_redirects:
        return False
    return await trust_context_async(ca_file)
