"""Which HTTP(S) proxy a request goes through: the environment's, as curl and the SDKs read it.

On a bastion the way out is often a proxy: `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and
`NO_PROXY`, in lower case too (lower case wins, as in curl and urllib). One decision for every
client (httpx for HTTP checks, urllib3 under the Kubernetes client, botocore), so a failure can
say which proxy and which variable it came from. A loopback target (127.0.0.0/8, ::1,
localhost) is always reached directly, whatever NO_PROXY says: a proxy elsewhere cannot reach
this machine's loopback, and a tunnel or port-forward on it is meant to be reached from here.

NO_PROXY entries are host names (`example.com` and `.example.com` both match the name and its
subdomains), `host:port`, IP addresses, CIDR networks (`10.0.0.0/8`) and `*` (no proxy at all).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class Proxy:
    """A proxy from the environment: its URL (credentials included, to be used, never shown)
    and the variable that named it."""

    url: str
    variable: str

    @classmethod
    def named(cls, value: str, variable: str) -> Proxy:
        """The proxy a variable's value names: `proxy:3128` is `http://proxy:3128`, as in curl."""
        return cls(value if "://" in value else f"http://{value}", variable)

    @property
    def shown(self) -> str:
        """`http://HOST:PORT`: the proxy as it may be shown, never its user or password."""
        try:
            parts = urlsplit(self.url)
            host, port = parts.hostname or "?", parts.port
        except ValueError:
            return "(invalid proxy URL)"
        if ":" in host:
            host = f"[{host}]"
        port = port or DEFAULT_PORTS.get(parts.scheme, 0)
        return f"{parts.scheme}://{host}:{port}" if port else f"{parts.scheme}://{host}"

    def refused(self) -> str:
        """The line for a proxy that refused the connection."""
        return f"proxy {self.shown} refused the connection (from {self.variable})"

    def through(self, reason: str) -> str:
        """Another failure of a request that went through this proxy."""
        return f"{reason} (through proxy {self.shown} from {self.variable})"


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and localhost (with or without a trailing dot, and its subdomains)."""
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _variable(names: tuple[str, ...], environ: Mapping[str, str]) -> tuple[str, str] | None:
    """The first of `names` set to a non-empty value, with that value."""
    for name in names:
        value = environ.get(name, "").strip()
        if value:
            return name, value
    return None


def bypassed(host: str, port: int, no_proxy: str) -> bool:
    """Whether NO_PROXY (`no_proxy`, as written) sends host:port directly."""
    host = host.strip("[]").rstrip(".").lower()
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for entry in (e.strip().lower() for e in no_proxy.replace(" ", ",").split(",")):
        if not entry:
            continue
        if entry == "*":
            return True
        if address is not None and (network := _network(entry)) is not None and address in network:
            return True
        name, _, entry_port = entry.rpartition(":") if _has_port(entry) else (entry, "", "")
        if entry_port and entry_port != str(port):
            continue
        name = name.strip("[]").lstrip(".").rstrip(".")
        if name and (host == name or host.endswith(f".{name}")):
            return True
    return False


def _network(entry: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """A NO_PROXY entry read as an IP or a CIDR range; None when it is a host name."""
    try:
        return ipaddress.ip_network(entry.strip("[]"), strict=False)
    except ValueError:
        return None


def _has_port(entry: str) -> bool:
    """`host:port` or `[v6]:port`, not a bare IPv6 address."""
    if entry.startswith("["):
        return "]:" in entry
    return entry.count(":") == 1


def proxy_for(url: str, environ: Mapping[str, str] | None = None) -> Proxy | None:
    """The proxy a request to `url` goes through, or None when it goes directly."""
    environ = os.environ if environ is None else environ
    try:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if not host or is_loopback(host):
        return None
    names: tuple[str, ...] = (f"{scheme}_proxy",)
    # The upper-case HTTP_PROXY is a request header under CGI (httpoxy): urllib ignores it there.
    if scheme != "http" or "REQUEST_METHOD" not in environ:
        names += (f"{scheme.upper()}_PROXY",)
    found = _variable((*names, "all_proxy", "ALL_PROXY"), environ)
    if found is None:
        return None
    excluded = _variable(("no_proxy", "NO_PROXY"), environ)
    if excluded and bypassed(host, port or DEFAULT_PORTS.get(scheme, 0), excluded[1]):
        return None
    variable, value = found
    return Proxy.named(value, variable)


def httpx_proxy(proxy: Proxy | None) -> dict[str, Any]:
    """httpx client options for going through `proxy` (None: directly).

    The decision is `proxy_for`'s, not httpx's `trust_env`, which would send a loopback URL
    through the proxy unless NO_PROXY names it. A followed redirect keeps the decision made for
    the URL asked.
    """
    return {"proxy": proxy.url if proxy is not None else None, "trust_env": False}
