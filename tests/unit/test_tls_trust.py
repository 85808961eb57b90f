"""Which requests need a trust store (providers/tls.py): loading one costs ~60 ms of CPU."""

from __future__ import annotations

import ssl

import pytest

import providers.tls as tls
from providers.tls import trust_for


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """The trust stores asked for (the real ones are still made)."""
    asked: list[str | None] = []
    real = tls.trust_context

    def counted(ca_file: str | None = None) -> ssl.SSLContext:
        asked.append(ca_file)
        return real(ca_file)

    monkeypatch.setattr(tls, "trust_context", counted)
    return asked


@pytest.mark.parametrize("url", ["http://127.0.0.1:15672", "HTTP://api.internal/health"])
async def test_a_plain_http_url_needs_no_trust_store(url: str, loads: list[str | None]) -> None:
    assert await trust_for(url) is False
    assert loads == []


@pytest.mark.parametrize(
    ("url", "redirects"),
    [("https://api.internal/health", False), ("http://api.internal/", True), ("", False)],
)
async def test_tls_that_may_happen_is_verified(
    url: str, redirects: bool, loads: list[str | None]
) -> None:
    verify = await trust_for(url, follows_redirects=redirects)
    assert isinstance(verify, ssl.SSLContext)
    assert verify.verify_mode is ssl.CERT_REQUIRED and verify.check_hostname
    assert loads == [None]
