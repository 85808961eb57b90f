"""The storefront's certificate expired three days ago (the renewal never ran); the operator
pastes what curl says. The inventory trusts the issuing CA (ca_file), as clients do."""

from bench.diagnosis.faults_stores import expired_certificate, own_http
from bench.diagnosis.scenario import Scenario
from tests.servers.http import Route


def make(env):  # type: ignore[no-untyped-def]
    certificate = expired_certificate(env, days_ago=3)
    own_http(
        env,
        {"/health": Route(200, '{"status": "ok"}')},
        tls=certificate,
        options={"ca_file": str(certificate.cert)},
    )


SCENARIO = Scenario(
    symptom=(
        "$ curl -sS {storefront_url}\n"
        "curl: (60) SSL certificate problem: certificate has expired\n"
        "More details here: https://curl.se/docs/sslcerts.html\n"
        "\n"
        "curl failed to verify the legitimacy of the server and therefore could not\n"
        "establish a secure connection to it. To learn more about this situation and\n"
        "how to fix it, please visit the web page mentioned above."
    ),
    style="paste",
    kind="http",
    expected="the storefront's TLS certificate expired (not after: three days ago)",
    accept=(
        ("http-tls-certificate", "certificate-expired"),
        ("env-health", "expired-certificate"),
    ),
    about="storefront",
    make=make,
)
