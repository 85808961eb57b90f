"""The HTTP provider over TLS (expired, valid, wrong-name and expiring certificates), and its
secrets (headers, URL credentials, query tokens), which are never shown.
"""

from __future__ import annotations

import ssl
from datetime import UTC, datetime, timedelta

import pytest

from providers.contract import CheckStatus, Health
from providers.inventory import SecretRef
from providers.x509 import parse_certificate
from tests.integration.http_provider_helpers import provider_for, run
from tests.servers.http import CertificateFactory, HttpServer, Route, serve_http

pytestmark = pytest.mark.integration

EXPIRED = {
    "not_before": datetime(2020, 1, 1, tzinfo=UTC),
    "not_after": datetime(2020, 2, 1, tzinfo=UTC),
}


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
