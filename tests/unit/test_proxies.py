"""Which proxy a request goes through: the variables as curl and urllib read them, NO_PROXY's
entries, and loopback always direct."""

from __future__ import annotations

import pytest

from providers.proxies import Proxy, bypassed, proxy_for

PROXY = "http://proxy.corp:3128"


@pytest.mark.parametrize(
    ("url", "environ", "expected"),
    [
        ("https://api.example.com/health", {"HTTPS_PROXY": PROXY}, (PROXY, "HTTPS_PROXY")),
        ("http://api.example.com/", {"HTTP_PROXY": PROXY}, (PROXY, "HTTP_PROXY")),
        # The scheme's own variable: an HTTPS_PROXY says nothing of plain HTTP.
        ("http://api.example.com/", {"HTTPS_PROXY": PROXY}, None),
        # Lower case wins over upper case, as in curl and urllib.
        (
            "https://api.example.com/",
            {"https_proxy": PROXY, "HTTPS_PROXY": "http://other:1"},
            (PROXY, "https_proxy"),
        ),
        ("https://api.example.com/", {"ALL_PROXY": PROXY}, (PROXY, "ALL_PROXY")),
        ("https://api.example.com/", {"HTTPS_PROXY": "proxy.corp:3128"}, (PROXY, "HTTPS_PROXY")),
        ("https://api.example.com/", {"HTTPS_PROXY": "  "}, None),
        # Under CGI the upper-case HTTP_PROXY is a request header (httpoxy): not a proxy.
        ("http://api.example.com/", {"HTTP_PROXY": PROXY, "REQUEST_METHOD": "GET"}, None),
    ],
)
def test_the_variable_that_names_the_proxy(
    url: str, environ: dict[str, str], expected: tuple[str, str] | None
) -> None:
    found = proxy_for(url, environ)
    assert (None if found is None else (found.url, found.variable)) == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/health",
        "http://127.9.3.1/",
        "https://[::1]:6443/",
        "http://localhost:15672/api",
        "http://LOCALHOST./",
        "http://app.localhost:3000/",
    ],
)
def test_loopback_is_always_direct_whatever_no_proxy_says(url: str) -> None:
    environ = {"HTTP_PROXY": PROXY, "HTTPS_PROXY": PROXY, "NO_PROXY": "example.com"}
    assert proxy_for(url, environ) is None


@pytest.mark.parametrize(
    ("host", "port", "no_proxy", "expected"),
    [
        ("api.example.com", 443, "example.com", True),
        ("example.com", 443, ".example.com", True),
        ("api.example.com", 443, ".example.com", True),
        ("notexample.com", 443, "example.com", False),
        ("api.example.com", 443, "example.com:8443", False),
        ("api.example.com", 8443, "example.com:8443", True),
        ("10.1.2.3", 443, "10.0.0.0/8", True),
        ("192.168.1.1", 443, "10.0.0.0/8, 192.168.1.1", True),
        ("172.16.0.1", 443, "10.0.0.0/8", False),
        ("fd00::1", 443, "fd00::/8", True),
        ("anything.internal", 80, "*", True),
        ("eks.amazonaws.com", 443, "internal,.svc , .cluster.local", False),
        ("web.prod.svc", 443, "internal,.svc , .cluster.local", True),
    ],
)
def test_no_proxy_entries(host: str, port: int, no_proxy: str, expected: bool) -> None:
    assert bypassed(host, port, no_proxy) is expected


def test_no_proxy_sends_a_matching_name_directly() -> None:
    environ = {"HTTPS_PROXY": PROXY, "no_proxy": ".corp,10.0.0.0/8"}
    assert proxy_for("https://git.corp/", environ) is None
    assert proxy_for("https://10.4.0.9:6443/", environ) is None
    assert proxy_for("https://api.example.com/", environ) == Proxy(PROXY, "HTTPS_PROXY")


def test_a_proxy_is_shown_without_its_credentials() -> None:
    proxy = Proxy("http://ops:s3cret-pass@proxy.corp/", "HTTPS_PROXY")
    assert proxy.shown == "http://proxy.corp:80"
    assert proxy.refused() == "proxy http://proxy.corp:80 refused the connection (from HTTPS_PROXY)"
    assert "s3cret" not in proxy.through("no answer within 5s")
