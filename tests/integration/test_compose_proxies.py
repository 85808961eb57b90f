"""The engine's client takes the proxy settings of its environment once, when it is made
(requests would walk the environment twice at every call)."""

from __future__ import annotations

from typing import Any

import pytest
import requests.sessions
import requests.utils

from providers.contract import Health
from tests.integration.compose_helpers import provider_on
from tests.servers.docker_engine import DockerEngine

pytestmark = pytest.mark.integration


def without_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    for name in ("NO_PROXY", "no_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


async def test_calls_do_not_read_the_proxy_settings_again(
    docker_engine: DockerEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    without_proxies(monkeypatch)
    reads: list[str] = []
    real = requests.utils.get_environ_proxies

    def counted(url: str, no_proxy: Any = None) -> dict[str, str]:
        reads.append(url)
        return real(url, no_proxy)

    monkeypatch.setattr(requests.utils, "get_environ_proxies", counted)
    monkeypatch.setattr(requests.sessions, "get_environ_proxies", counted)  # its own name
    provider = provider_on(docker_engine)
    try:
        first = await provider.discover()  # the client is made: the settings are read
        read_to_make_it = len(reads)
        again = [await provider.discover() for _ in range(3)]
    finally:
        await provider.close()

    assert all(root.status.health is Health.UNKNOWN for root in [first, *again])  # no containers
    assert first.status.reason == "no containers"
    assert 0 < read_to_make_it <= 2  # the engine's version asked, then the settings kept
    assert len(reads) == read_to_make_it  # and none at each call since
