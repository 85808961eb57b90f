"""Healthy twin: this morning the storefront went HTTPS-only, as planned: plain HTTP now answers
every request with a 301 to the same path over HTTPS, and the HTTPS endpoint (the one the
inventory names, its certificate valid and trusted) answers 200 quickly. An old uptime check
that still probes http:// and counts anything but 200 as down has been red since. The operator
on call, who was not told of the change, asks."""

from bench.diagnosis import faults_aws_compose as f
from bench.diagnosis.faults_stores import own_http
from bench.diagnosis.scenario import Scenario
from tests.servers.http import Route, make_certificate


def make(env):  # type: ignore[no-untyped-def]
    certificate = make_certificate(env.folder / "storefront-cert")  # localhost and 127.0.0.1
    secure = own_http(
        env,
        {
            "/health": Route(200, '{"status": "ok"}', headers={"Content-Type": "application/json"}),
            "/": Route(200, "<!doctype html><html><body>Shop</body></html>"),
        },
        tls=certificate,
        options={"ca_file": str(certificate.cert)},
    )
    moved = {
        path: Route(
            301,
            "",
            headers={
                "Location": f"https://127.0.0.1:{secure.port}{path}",
                "Strict-Transport-Security": "max-age=31536000",
            },
        )
        for path in ("/", "/health")
    }
    plain = f.http_site(env, moved)
    env.values["plain_port"] = plain.port


SCENARIO = Scenario(
    symptom=(
        "the uptime check for the storefront has been red since about 07:00, it only says "
        "'unexpected status 301'. is the storefront down?\n"
        "$ curl -si http://127.0.0.1:{plain_port}/health | grep -iE '^(http|location)'\n"
        "HTTP/1.1 301 Moved Permanently\n"
        "Location: https://127.0.0.1:{storefront_port}/health"
    ),
    style="question",
    kind="http",
    expected=(
        "nothing: plain HTTP redirects to HTTPS by design since this morning's HTTPS-only "
        "change; the storefront over HTTPS answers 200 quickly with a valid certificate; the "
        "uptime check still probes http://"
    ),
    make=make,
)
