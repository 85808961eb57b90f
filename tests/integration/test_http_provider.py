"""The HTTP provider against real local servers: healthy, failing, slow, hung, and over TLS."""

from __future__ import annotations

import asyncio
import ssl
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from providers.contract import CheckCall, CheckResult, CheckStatus, Health
from providers.http_provider import HttpProvider
from providers.inventory import SecretRef, Target
from providers.x509 import parse_certificate
from tests.servers.http import CertificateFactory, HttpServer, Route, full_backlog_port, serve_http
from tests.servers.process import free_port

pytestmark = pytest.mark.integration

EXPIRED = {
    "not_before": datetime(2020, 1, 1, tzinfo=UTC),
    "not_after": datetime(2020, 2, 1, tzinfo=UTC),
}


def provider_for(url: str | SecretRef, timeout: float = 2.0, **options: Any) -> HttpProvider:
    return HttpProvider(Target(kind="http", name="api", url=url, timeout=timeout, options=options))


async def run(provider: HttpProvider, check: str, **params: Any) -> CheckResult:
    return await provider.run_check(CheckCall(check, params))


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


async def test_expired_self_signed_certificate(certificates: CertificateFactory) -> None:
    cert = certificates("expired", common_name="expired.test", **EXPIRED)
    with serve_http(tls=cert) as server:
        untrusted = provider_for(server.url())
        trusted = provider_for(server.url(), ca_file=str(cert.cert))
        self_signed = await run(untrusted, "http.status")
        expired = await run(trusted, "http.status")
        certificate = await run(untrusted, "tls.certificate")
        root = await trusted.discover()

    assert self_signed.status is CheckStatus.FAIL
    assert self_signed.facts["error"] == "tls"
    assert self_signed.facts["reason"] == "self-signed certificate"
    assert expired.status is CheckStatus.FAIL
    assert expired.summary == (
        f"127.0.0.1:{server.port}: TLS verification failed: certificate has expired"
    )
    assert expired.facts["error"] == "tls"
    assert expired.facts["reason"] == "certificate has expired"
    assert certificate.status is CheckStatus.FAIL
    assert "certificate expired" in certificate.summary
    assert certificate.facts["days_left"] < 0
    assert certificate.facts["self_signed"] is True
    assert certificate.facts["not_after"] == "2020-02-01T00:00:00+00:00"
    assert certificate.facts["subject"] == "CN=expired.test"
    assert certificate.facts["issuer"] == "CN=expired.test"
    assert certificate.facts["hostname_matches"] is True  # it names IP:127.0.0.1
    assert "issuer:  CN=expired.test  (self-signed)" in certificate.evidence
    assert root.status.health is Health.FAILING
    assert "certificate has expired" in root.status.reason
    assert [call.check for call in root.checks] == [
        "http.status",
        "tls.certificate",
        "tcp.connect",
        "dns.resolve",
    ]


async def test_valid_self_signed_certificate_for_localhost(
    certificates: CertificateFactory,
) -> None:
    cert = certificates("valid", sans=("DNS:localhost",))
    with serve_http(tls=cert) as server:
        url = f"https://localhost:{server.port}/health"
        unverified = provider_for(url, verify_tls=False)
        status = await run(unverified, "http.status")
        verified = await run(provider_for(url, ca_file=str(cert.cert)), "http.status")
        certificate = await run(unverified, "tls.certificate")
        root = await unverified.discover()

    assert status.status is CheckStatus.PASS, status.summary
    assert status.facts["verify_tls"] is False
    assert status.facts["status_code"] == 200
    assert verified.status is CheckStatus.PASS, verified.summary
    assert verified.facts["verify_tls"] is True
    assert certificate.status is CheckStatus.PASS, certificate.summary
    assert certificate.facts["hostname_matches"] is True
    assert 363 <= certificate.facts["days_left"] <= 365
    assert certificate.facts["self_signed"] is True
    assert certificate.facts["sans"] == ["DNS:localhost"]
    assert certificate.facts["subject"] == "CN=localhost"
    assert root.status.health is Health.OK, root.status.reason


async def test_certificate_for_another_name_fails(certificates: CertificateFactory) -> None:
    cert = certificates("other", common_name="api.other.test", sans=("DNS:*.other.test",))
    with serve_http(tls=cert) as server:
        url = f"https://localhost:{server.port}/health"
        certificate = await run(provider_for(url), "tls.certificate")
        status = await run(provider_for(url, ca_file=str(cert.cert)), "http.status")

    assert certificate.status is CheckStatus.FAIL
    assert certificate.facts["hostname_matches"] is False
    assert certificate.facts["days_left"] > 300
    assert certificate.summary.endswith(
        "certificate does not name localhost (it names DNS:*.other.test)"
    )
    assert status.status is CheckStatus.FAIL
    assert status.facts["error"] == "tls"
    assert "Hostname mismatch" in status.facts["reason"]
    # The wildcard covers one label, as RFC 6125 says (checked without resolving any name).
    parsed = parse_certificate(ssl.PEM_cert_to_DER_cert(cert.cert.read_text()))
    assert parsed.dns_names == ("*.other.test",)
    assert parsed.matches("api.other.test")
    assert not parsed.matches("other.test")
    assert not parsed.matches("a.api.other.test")
    assert not parsed.matches("127.0.0.1")


async def test_certificate_close_to_expiry_warns_and_degrades(
    certificates: CertificateFactory,
) -> None:
    soon = datetime.now(UTC) + timedelta(days=5, hours=1)
    cert = certificates("soon", not_after=soon)
    with serve_http(tls=cert) as server:
        provider = provider_for(server.url(), verify_tls=False, cert_warn_days=14)
        certificate = await run(provider, "tls.certificate")
        quiet = await run(provider, "tls.certificate", cert_warn_days=3)
        root = await provider.discover()

    assert certificate.status is CheckStatus.WARN
    assert certificate.facts["days_left"] == 5
    assert certificate.summary.endswith(f"certificate expires in 5 days ({soon:%Y-%m-%d})")
    assert quiet.status is CheckStatus.PASS, quiet.summary
    assert quiet.facts["days_left"] == 5
    assert root.status.health is Health.DEGRADED
    assert root.status.reason.startswith("certificate expires in 5 days")


async def test_certificate_check_on_a_plain_http_port_fails_the_handshake(
    http_server: HttpServer,
) -> None:
    provider = provider_for(http_server.url())
    result = await run(provider, "tls.certificate", port=http_server.port)
    assert result.status is CheckStatus.FAIL
    assert result.facts["error"] == "tls"
    assert result.summary.startswith(f"127.0.0.1:{http_server.port}: TLS handshake failed")


async def test_header_secret_is_sent_and_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    token = "s3cr3t-t0ken-value-98765"
    monkeypatch.setenv("TRIAGE_TEST_API_TOKEN", token)
    headers = {"Authorization": {"env": "TRIAGE_TEST_API_TOKEN", "prefix": "Bearer "}}
    routes = {
        "/health": Route(200, "ok", require={"Authorization": f"Bearer {token}"}),
        # A server that echoes what it got, as a debugging endpoint might.
        "/echo": Route(500, f"unexpected header Authorization: Bearer {token} (id {token})"),
    }
    with serve_http(routes) as server:
        provider = provider_for(server.url(), headers=headers)
        ok = await run(provider, "http.status")
        echoed = await run(provider, "http.status", url=server.url("/echo"))
        root = await provider.discover()
        unauthenticated = await run(provider_for(server.url()), "http.status")
        sent = server.requests

    assert ok.status is CheckStatus.PASS, ok.summary
    assert ok.facts["status_code"] == 200
    assert sent[0]["authorization"] == f"Bearer {token}"
    assert unauthenticated.status is CheckStatus.FAIL
    assert unauthenticated.facts["status_code"] == 401
    assert echoed.status is CheckStatus.FAIL
    assert echoed.facts["status_code"] == 500
    assert "***" in echoed.evidence[1]
    for shown in (ok, echoed, root):
        assert token not in repr(shown)
    assert token not in repr(echoed.to_dict())


async def test_unset_header_secret_is_an_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, http_server: HttpServer
) -> None:
    monkeypatch.delenv("TRIAGE_TEST_MISSING_TOKEN", raising=False)
    provider = provider_for(
        http_server.url(), headers={"X-Api-Key": {"env": "TRIAGE_TEST_MISSING_TOKEN"}}
    )
    result = await run(provider, "http.status")
    root = await provider.discover()
    assert result.status is CheckStatus.ERROR
    assert result.summary == (
        "api: header X-Api-Key cannot be sent: "
        "environment variable TRIAGE_TEST_MISSING_TOKEN is not set"
    )
    assert result.facts["error"] == "SecretError"
    assert root.status.health is Health.FAILING
    assert "TRIAGE_TEST_MISSING_TOKEN is not set" in root.status.reason


async def test_url_credentials_and_query_tokens_are_never_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    password, query_token = "pa55-w0rd-secret", "q-t0ken-abcdef"
    with serve_http({"/health": Route(500, f"echo token={query_token} pw={password}")}) as server:
        monkeypatch.setenv(
            "TRIAGE_TEST_HEALTH_URL",
            f"http://svc:{password}@127.0.0.1:{server.port}/health?token={query_token}&full",
        )
        provider = provider_for(SecretRef(env="TRIAGE_TEST_HEALTH_URL"))
        result = await run(provider, "http.status")
        root = await provider.discover()
        sent = server.requests

    assert sent[0]["authorization"].startswith("Basic ")  # the URL's user and password
    assert result.status is CheckStatus.FAIL
    assert result.facts["url"] == f"http://127.0.0.1:{server.port}/health?token=***&full"
    assert root.name == f"api (http://127.0.0.1:{server.port}/health?token=***&full)"
    for shown in (result, root):
        assert password not in repr(shown)
        assert query_token not in repr(shown)


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
