"""This morning the storefront's certificate was replaced (the old one was due to expire). The new
one is in date, for the right names, and issued by the shop's usual CA through its new
intermediate, "Shop Example TLS Issuing CA 2". Whoever installed it put the server certificate
alone in the file the server reads, without the intermediate: the server sends a chain of one.
Browsers cope (they have met the intermediate before, or fetch it), so the site looks fine to the
team; every client that relies on the chain the server sends (the payment provider's webhooks,
the uptime checks, curl, Python's requests) fails verification: unable to get local issuer
certificate. The operator pastes curl's output."""

from bench.diagnosis.faults_heldout3 import handshake_error, leaf_without_intermediate
from bench.diagnosis.faults_stores import own_http
from bench.diagnosis.scenario import Scenario
from tests.servers.http import Route


def make(env):  # type: ignore[no-untyped-def]
    leaf, root, intermediate = leaf_without_intermediate(env.folder / "storefront-tls")
    server = own_http(
        env,
        {
            "/health": Route(200, '{"status": "ok"}', headers={"Content-Type": "application/json"}),
            "/": Route(200, "<!doctype html><html><body>Shop</body></html>"),
        },
        tls=leaf,
        options={"ca_file": str(root)},
    )
    refused = handshake_error(server.port, root)
    if "unable to get local issuer certificate" not in refused:
        raise AssertionError(f"the storefront's chain verifies: {refused!r}")
    if handshake_error(server.port, root, also=intermediate):
        raise AssertionError("the chain fails even with its intermediate")


SCENARIO = Scenario(
    symptom=(
        "since the cert swap this morning the payment provider says our webhooks fail and the "
        "uptime check is red, but the site opens fine in chrome:\n"
        "$ curl -sS https://127.0.0.1:{storefront_port}/health\n"
        "curl: (60) SSL certificate problem: unable to get local issuer certificate\n"
        "More details here: https://curl.se/docs/sslcerts.html\n"
        "what did we get wrong?"
    ),
    style="paste",
    kind="http",
    expected=(
        "the storefront serves its new certificate without the intermediate CA that issued it: "
        "clients that trust the root cannot build the chain (unable to get local issuer "
        "certificate); the certificate itself is in date and for the right names"
    ),
    accept=(("http-tls-certificate", "chain-not-trusted"),),
    about="storefront",
    make=make,
)
