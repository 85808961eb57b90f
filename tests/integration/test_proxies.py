"""HTTP(S) proxies from the environment, with a real forwarding proxy (tests/servers/proxy.py).

The targets are named by names that resolve nowhere (`api.shop.test`, `kube.shop.test`): only
the proxy knows them (its routes map them to the local servers), so a check that passes went
through it. A loopback target never does, whatever NO_PROXY says; a proxy that refuses is one
line naming it and the variable it came from.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from providers.contract import CheckStatus, Health
from providers.ecs_provider import EcsProvider
from providers.kubernetes_provider import KubernetesProvider
from tests.integration.http_provider_helpers import provider_for, run
from tests.servers import kube_objects as k
from tests.servers.http import CertificateFactory, HttpServer, serve_http
from tests.servers.kube_api import FakeKubeApi, kube_target
from tests.servers.moto_server import MotoAws, ecs_target
from tests.servers.process import free_port
from tests.servers.proxy import ForwardingProxy

pytestmark = pytest.mark.integration


async def test_http_check_to_a_name_goes_through_the_proxy(
    http_server: HttpServer, forwarding_proxy: ForwardingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    forwarding_proxy.routes["api.shop.test:80"] = ("127.0.0.1", http_server.port)
    monkeypatch.setenv("HTTP_PROXY", forwarding_proxy.url)
    provider = provider_for("http://api.shop.test/health", body_contains='"status": "ok"')

    result = await run(provider, "http.status")

    assert result.status is CheckStatus.PASS, result.summary
    assert forwarding_proxy.handled() == ["http://api.shop.test/health"]
    assert len(http_server.requests) == 1  # the server behind the name answered it
    assert result.facts["proxy"] == forwarding_proxy.url
    assert result.evidence[0].startswith(
        f"GET http://api.shop.test/health through proxy {forwarding_proxy.url} -> HTTP/1.1 200"
    )


async def test_https_check_tunnels_through_the_proxy_and_verifies_the_name(
    forwarding_proxy: ForwardingProxy,
    certificates: CertificateFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    certificate = certificates(common_name="api.shop.test", sans=("DNS:api.shop.test",))
    with serve_http(tls=certificate) as server:
        forwarding_proxy.routes["api.shop.test:443"] = ("127.0.0.1", server.port)
        monkeypatch.setenv("https_proxy", forwarding_proxy.url)  # lower case, as curl reads it
        provider = provider_for("https://api.shop.test/health", ca_file=str(certificate.cert))

        result = await run(provider, "http.status")

    assert result.status is CheckStatus.PASS, result.summary
    assert forwarding_proxy.handled() == ["api.shop.test:443"]
    assert forwarding_proxy.handled("CONNECT") == ["api.shop.test:443"]


async def test_loopback_targets_never_go_through_the_proxy(
    http_server: HttpServer, forwarding_proxy: ForwardingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", forwarding_proxy.url)
    monkeypatch.setenv("HTTPS_PROXY", forwarding_proxy.url)
    monkeypatch.setenv("NO_PROXY", "example.com")  # names other hosts, not this one

    for host in ("127.0.0.1", "localhost"):
        result = await run(provider_for(f"http://{host}:{http_server.port}/health"), "http.status")
        assert result.status is CheckStatus.PASS, result.summary
        assert "proxy" not in result.facts

    assert len(http_server.requests) == 2
    assert forwarding_proxy.handled() == []


async def test_no_proxy_sends_a_name_directly(
    http_server: HttpServer, forwarding_proxy: ForwardingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    forwarding_proxy.routes["api.shop.test:80"] = ("127.0.0.1", http_server.port)
    monkeypatch.setenv("HTTP_PROXY", forwarding_proxy.url)
    monkeypatch.setenv("no_proxy", ".shop.test")

    result = await run(provider_for("http://api.shop.test/health"), "http.status")

    # Directly, the name resolves nowhere: the check says so, and the proxy saw nothing.
    assert result.status is CheckStatus.FAIL
    assert result.facts["error"] == "dns"
    assert forwarding_proxy.handled() == []


async def test_a_refusing_proxy_is_one_line_naming_it_and_its_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port = free_port()
    monkeypatch.setenv("HTTPS_PROXY", f"http://user:proxy-secret@127.0.0.1:{port}")
    provider = provider_for("https://api.shop.test/health")

    result = await run(provider, "http.status")
    root = await provider.discover()

    line = (
        f"api.shop.test:443: proxy http://127.0.0.1:{port} refused the connection "
        "(from HTTPS_PROXY)"
    )
    assert result.status is CheckStatus.FAIL
    assert result.summary == line
    assert root.status.reason == line
    assert result.facts["error"] == "other"  # not the target's own `refused`
    assert "proxy-secret" not in repr(result) + repr(root)


async def test_kubernetes_api_through_the_proxy_and_loopback_directly(
    kube_api: FakeKubeApi,
    forwarding_proxy: ForwardingProxy,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kube_api.put(*k.healthy_app("prod", "web"))
    forwarding_proxy.routes["kube.shop.test:80"] = ("127.0.0.1", kube_api.port)
    monkeypatch.setenv("HTTP_PROXY", forwarding_proxy.url)
    by_name = kube_api.write_kubeconfig(tmp_path / "by-name")
    by_name.write_text(by_name.read_text().replace(kube_api.url, "http://kube.shop.test"))
    loopback = kube_api.write_kubeconfig(tmp_path / "loopback")

    named = KubernetesProvider(kube_target(by_name))
    direct = KubernetesProvider(kube_target(loopback))
    try:
        through = await named.discover()
        asked = len(forwarding_proxy.handled())
        not_through = await direct.discover()
    finally:
        await named.close()
        await direct.close()

    assert through.status.health is Health.OK, through.status.reason
    assert asked >= 2  # /version and the lists, each a request of its own through the proxy
    assert all(url.startswith("http://kube.shop.test/") for url in forwarding_proxy.handled())
    assert not_through.status.health is Health.OK, not_through.status.reason
    assert len(forwarding_proxy.handled()) == asked  # the loopback server was asked directly


async def test_kubernetes_refusing_proxy(
    kube_api: FakeKubeApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    monkeypatch.setenv("http_proxy", f"127.0.0.1:{port}")  # no scheme: http, as curl reads it
    config = kube_api.write_kubeconfig(tmp_path / "kubeconfig")
    config.write_text(config.read_text().replace(kube_api.url, "http://kube.shop.test"))
    provider = KubernetesProvider(kube_target(config))
    try:
        root = await provider.discover()
    finally:
        await provider.close()

    assert root.status.health is Health.FAILING
    assert root.status.reason == (
        f"proxy http://127.0.0.1:{port} refused the connection (from http_proxy)"
    )


async def test_aws_through_the_proxy_and_a_refusing_one(
    aws: MotoAws, forwarding_proxy: ForwardingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    aws.ecs_stack(desired=1, running=1)
    moto_port = int(aws.endpoint.rsplit(":", 1)[1])
    forwarding_proxy.routes["aws.shop.test:80"] = ("127.0.0.1", moto_port)
    monkeypatch.setenv("HTTP_PROXY", forwarding_proxy.url)
    options = {**aws.options(), "endpoint_url": "http://aws.shop.test"}

    through = EcsProvider(ecs_target(options))
    direct = EcsProvider(aws.target())  # moto on the loopback
    try:
        root = await through.discover()
        asked = len(forwarding_proxy.handled())
        loopback = await direct.discover()
    finally:
        await through.close()
        await direct.close()

    # The same account seen both ways: through the proxy by name, and directly on the loopback.
    assert [c.name for c in root.children] == ["shop-prod"], root.status.reason
    assert root.status.reason == loopback.status.reason
    assert asked > 0
    assert all(url.startswith("http://aws.shop.test/") for url in forwarding_proxy.handled())
    assert len(forwarding_proxy.handled()) == asked

    port = free_port()
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    refused = EcsProvider(ecs_target(options, timeout=2.0))
    try:
        failing = await refused.discover()
    finally:
        await refused.close()
    assert failing.status.health is Health.FAILING
    assert failing.status.reason.endswith(
        f": proxy http://127.0.0.1:{port} refused the connection (from HTTP_PROXY)"
    ), failing.status.reason
