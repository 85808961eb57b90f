"""The HTTP provider against real local servers: healthy, failing, slow and hung."""

from __future__ import annotations

import asyncio
import builtins
import time

import pytest

from providers.contract import CheckStatus, Health
from providers.sweep import one_sweep
from tests.integration.http_provider_helpers import provider_for, run
from tests.servers.http import HttpServer, Route, full_backlog_port, serve_http
from tests.servers.process import free_port

pytestmark = pytest.mark.integration


async def test_healthy_endpoint_passes_with_facts(http_server: HttpServer) -> None:
    provider = provider_for(http_server.url(), body_contains='"status": "ok"', warn_ms=500)

    status = await run(provider, "http.status")
    connect = await run(provider, "tcp.connect")
    root = await provider.discover()

    assert status.status is CheckStatus.PASS, status.summary
    assert status.summary.startswith("HTTP/1.1 200 OK in ")
    assert status.facts["status_code"] == 200
    assert status.facts["expected_status"] == 200
    assert status.facts["body_match"] is True
    assert status.facts["error"] is None
    assert status.facts["verify_tls"] is True
    assert status.facts["url"] == http_server.url()
    assert 0 < status.facts["latency_ms"] < 500
    assert status.evidence[0].startswith(f"GET {http_server.url()} -> HTTP/1.1 200 OK in")
    assert connect.status is CheckStatus.PASS, connect.summary
    assert connect.facts["reason"] == "ok"
    assert connect.facts["port"] == http_server.port
    assert connect.facts["connect_ms"] >= 0
    assert root.kind == "http.endpoint"
    assert root.id == "http:api"
    assert root.name == f"api ({http_server.url()})"
    assert root.status.health is Health.OK, root.status.reason
    assert root.status.reason.startswith("HTTP/1.1 200 OK in ")
    assert [call.check for call in root.checks] == ["http.status", "tcp.connect", "dns.resolve"]


async def test_server_error_fails_with_status_line_and_sanitized_body(
    http_server: HttpServer,
) -> None:
    provider = provider_for(http_server.url("/error"))

    result = await run(provider, "http.status")
    root = await provider.discover()

    assert result.status is CheckStatus.FAIL
    assert result.summary == "HTTP/1.1 500 Internal Server Error (expected 200)"
    assert result.facts["status_code"] == 500
    assert result.facts["expected_status"] == 200
    assert result.facts["error"] is None
    assert "HTTP/1.1 500 Internal Server Error" in result.evidence[0]
    assert result.evidence[1] == "body: Traceback: database connection pool exhausted red"
    assert root.status.health is Health.FAILING
    assert root.status.reason == "HTTP/1.1 500 Internal Server Error (expected 200)"


async def test_body_excerpt_is_cut_at_300_characters() -> None:
    with serve_http({"/big": Route(503, "x" * 5000)}) as server:
        result = await run(provider_for(server.url("/big")), "http.status")
    assert result.status is CheckStatus.FAIL
    assert result.facts["status_code"] == 503
    assert result.evidence[1] == "body: " + "x" * 300


async def test_params_override_the_options(http_server: HttpServer) -> None:
    provider = provider_for(http_server.url("/error"), expected_status=500)
    as_expected = await run(provider, "http.status")
    overridden = await run(
        provider, "http.status", url=http_server.url(), expected_status=200, body_contains="up"
    )

    assert as_expected.status is CheckStatus.PASS, as_expected.summary
    assert as_expected.facts["expected_status"] == 500
    assert as_expected.facts["status_code"] == 500
    assert overridden.status is CheckStatus.PASS, overridden.summary
    assert overridden.facts["expected_status"] == 200
    assert overridden.facts["body_match"] is True
    assert overridden.facts["url"] == http_server.url()


async def test_body_without_the_expected_text_fails(http_server: HttpServer) -> None:
    result = await run(provider_for(http_server.url(), body_contains="degraded"), "http.status")
    assert result.status is CheckStatus.FAIL
    assert result.summary == "HTTP/1.1 200 OK but the body lacks 'degraded'"
    assert result.facts["body_match"] is False
    assert result.facts["status_code"] == 200
    assert result.evidence[1] == 'body: {"status": "ok", "db": "up"}'


async def test_redirect_fails_unless_followed(http_server: HttpServer) -> None:
    stopped = await run(provider_for(http_server.url("/redirect")), "http.status")
    followed = await run(
        provider_for(http_server.url("/redirect"), follow_redirects=True), "http.status"
    )
    assert stopped.status is CheckStatus.FAIL
    assert stopped.facts["status_code"] == 301
    assert "Location: /health" in stopped.evidence
    assert followed.status is CheckStatus.PASS, followed.summary
    assert followed.facts["status_code"] == 200


async def test_slow_answer_warns_and_degrades(http_server: HttpServer) -> None:
    provider = provider_for(http_server.url("/slow"), warn_ms=150)

    result = await run(provider, "http.status")
    root = await provider.discover()

    assert result.status is CheckStatus.WARN
    assert result.summary.startswith("slow: HTTP/1.1 200 OK in ")
    assert result.summary.endswith("(over 150 ms)")
    assert result.facts["latency_ms"] >= 400
    assert result.facts["status_code"] == 200
    assert root.status.health is Health.DEGRADED
    assert root.status.reason.startswith("slow: ")


async def test_answer_slower_than_the_timeout_fails_within_the_timeout() -> None:
    with serve_http({"/hang": Route(200, "late", delay=5)}) as server:
        provider = provider_for(server.url("/hang"), timeout=0.5)
        started = time.monotonic()
        result = await run(provider, "http.status")
        elapsed = time.monotonic() - started
        root = await provider.discover()

    assert result.status is CheckStatus.FAIL
    assert result.summary == f"127.0.0.1:{server.port}: no answer within 0.5s"
    assert result.facts["error"] == "timeout"
    assert result.facts["status_code"] is None
    assert elapsed < 0.5 + 0.3
    assert root.status.health is Health.FAILING
    assert root.status.reason == f"127.0.0.1:{server.port}: no answer within 0.5s"


async def test_closed_port_is_refused() -> None:
    port = free_port()
    provider = provider_for(f"http://127.0.0.1:{port}/health")

    status = await run(provider, "http.status")
    connect = await run(provider, "tcp.connect")
    root = await provider.discover()

    assert status.status is CheckStatus.FAIL
    assert status.summary == f"127.0.0.1:{port}: connection refused"
    assert status.facts["error"] == "refused"
    assert status.facts["status_code"] is None
    assert connect.status is CheckStatus.FAIL
    assert connect.facts["reason"] == "refused"
    assert connect.facts["address"] == "127.0.0.1"
    assert connect.summary.startswith(f"127.0.0.1:{port}: connection refused")
    assert root.status.health is Health.FAILING
    assert root.status.reason == f"127.0.0.1:{port}: connection refused"


async def test_silent_port_times_out_and_costs_one_timeout() -> None:
    with full_backlog_port() as port:
        provider = provider_for(f"http://127.0.0.1:{port}/", timeout=0.5)
        started = time.monotonic()
        connect, status = await asyncio.gather(
            run(provider, "tcp.connect"), run(provider, "http.status")
        )
        elapsed = time.monotonic() - started

    assert connect.status is CheckStatus.FAIL
    assert connect.facts["reason"] == "timeout"
    assert connect.facts["connect_ms"] is None
    assert "no answer within 0.5s" in connect.summary
    assert status.status is CheckStatus.FAIL
    assert status.facts["error"] == "timeout"
    assert elapsed < 0.5 + 0.3


async def test_tcp_connect_takes_host_and_port_params(http_server: HttpServer) -> None:
    provider = provider_for(f"http://127.0.0.1:{free_port()}/")
    result = await run(provider, "tcp.connect", host="localhost", port=http_server.port)
    assert result.status is CheckStatus.PASS, result.summary
    assert result.facts["host"] == "localhost"
    assert result.facts["port"] == http_server.port
    assert result.facts["reason"] == "ok"


async def test_dns_resolves_localhost_and_not_a_reserved_invalid_name() -> None:
    provider = provider_for("http://localhost:1/")

    found = await run(provider, "dns.resolve")
    missing = await run(provider, "dns.resolve", host="no-such-host.invalid")
    connect = await run(provider, "tcp.connect", host="no-such-host.invalid", port=80)
    status = await run(provider, "http.status", url="http://no-such-host.invalid/health")

    assert found.status is CheckStatus.PASS, found.summary
    assert "127.0.0.1" in found.facts["addresses"]
    assert found.facts["reason"] == "ok"
    assert found.facts["host"] == "localhost"
    assert missing.status is CheckStatus.FAIL
    assert missing.facts["reason"] == "dns"
    assert missing.facts["addresses"] == []
    assert missing.summary.startswith("no-such-host.invalid: host name not resolved")
    assert connect.status is CheckStatus.FAIL
    assert connect.facts["reason"] == "dns"
    assert status.status is CheckStatus.FAIL
    assert status.facts["error"] == "dns"
    assert status.facts["url"] == "http://no-such-host.invalid/health"


async def test_a_dead_endpoint_costs_one_timeout_for_every_check() -> None:
    with full_backlog_port() as port:
        provider = provider_for(f"https://127.0.0.1:{port}/", timeout=0.5)
        started = time.monotonic()
        results = await asyncio.gather(
            *(provider.run_check(call) for call in provider.root_checks())
        )
        elapsed = time.monotonic() - started

    by_check = {result.check: result for result in results}
    assert set(by_check) == {"http.status", "tls.certificate", "tcp.connect", "dns.resolve"}
    assert by_check["http.status"].status is CheckStatus.FAIL
    assert by_check["http.status"].facts["error"] == "timeout"
    assert by_check["tcp.connect"].facts["reason"] == "timeout"
    assert by_check["tls.certificate"].status is CheckStatus.ERROR
    assert by_check["tls.certificate"].facts["error"] == "timeout"
    assert by_check["dns.resolve"].status is CheckStatus.PASS
    assert elapsed < 0.5 + 0.3


async def test_a_probe_looks_for_no_module_it_cannot_import(
    http_server: HttpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed import walks sys.path on disk every time; httpx's transport looks for an async
    library at each request, so a missing one would cost every probe (and every refresh)."""
    provider = provider_for(http_server.url())
    await run(provider, "http.status")  # what is imported once is imported now
    missed: list[str] = []
    real_import = builtins.__import__

    def counting_import(name: str, *args: object, **kwargs: object) -> object:
        try:
            return real_import(name, *args, **kwargs)  # type: ignore[arg-type]
        except ImportError:
            missed.append(name)
            raise

    monkeypatch.setattr(builtins, "__import__", counting_import)
    result = await run(provider, "http.status")

    assert result.status is CheckStatus.PASS, result.summary
    assert missed == []


async def test_discovery_and_the_status_check_of_a_sweep_share_one_request(
    http_server: HttpServer,
) -> None:
    provider = provider_for(http_server.url())
    with one_sweep():
        root, status = await asyncio.gather(provider.discover(), run(provider, "http.status"))
    swept = len(http_server.requests)
    again = await run(provider, "http.status")  # outside a sweep: asked again

    assert root.status.health is Health.OK, root.status.reason
    assert status.status is CheckStatus.PASS, status.summary
    assert swept == 1
    assert again.status is CheckStatus.PASS and len(http_server.requests) == 2
