"""Last night the storefront's certificate was renewed by hand, and the new one was requested for
www.shop.example only: the names the old one also carried (among them the address clients and
the health checks use) were left out. It is in date and issued by the CA the clients trust, but
no client that reaches the storefront by that address accepts it: every TLS handshake fails on
the name. The operator pastes what the team's smoke test prints."""

from bench.diagnosis.faults_stores import own_http
from bench.diagnosis.scenario import Scenario
from tests.servers.http import Route, make_certificate


def make(env):  # type: ignore[no-untyped-def]
    certificate = make_certificate(
        env.folder / "renewed-cert",
        common_name="www.shop.example",
        sans=("DNS:www.shop.example",),
    )
    own_http(
        env,
        {
            "/health": Route(200, '{"status": "ok"}', headers={"Content-Type": "application/json"}),
            "/": Route(200, "<!doctype html><html><body>Shop</body></html>"),
        },
        tls=certificate,
        options={"ca_file": str(certificate.cert)},
    )


SCENARIO = Scenario(
    symptom=(
        "smoke test against the storefront fails since the cert renewal last night:\n"
        "$ python smoke.py\n"
        "GET https://127.0.0.1:{storefront_port}/health ...\n"
        "requests.exceptions.SSLError: HTTPSConnectionPool(host='127.0.0.1', "
        "port={storefront_port}): Max retries exceeded with url: /health (Caused by "
        'SSLError(SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate '
        "verify failed: IP address mismatch, certificate is not valid for '127.0.0.1'. "
        '(_ssl.c:1006)")))'
    ),
    style="paste",
    kind="http",
    expected=(
        "the storefront's renewed certificate names only www.shop.example, not the address "
        "clients reach it by: it is in date and trusted, but fails verification on the name"
    ),
    accept=(("http-tls-certificate", "hostname-mismatch"),),
    about="storefront",
    make=make,
)
