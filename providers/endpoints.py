"""Where an HTTP target points, and why it could not be reached.

URLs as they may be shown (no credentials, query values masked) and the secrets they carry,
host and port from a URL, the refusal of names under `.invalid`; the failure kinds of the
checks (refused, timeout, dns, tls, unreachable, other), the classification of an error into
one of them, and the summary of a failed request.
"""

from __future__ import annotations

import errno
import socket
import ssl
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from providers.redact import MASK

# Error kinds of http.status and reasons of tcp.connect.
REFUSED, TIMEOUT, DNS, TLS, OTHER, UNREACHABLE = (
    "refused",
    "timeout",
    "dns",
    "tls",
    "other",
    "unreachable",
)


class HttpTargetError(Exception):
    """The target or a parameter cannot be used as given (no URL, bad header option)."""


# --- URLs -----------------------------------------------------------------------------------


def display_url(url: str) -> str:
    """The URL as it may be shown: no user or password, every query value masked."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "(invalid URL)"
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port else host
    query = "&".join(
        f"{key}={MASK}" if value else key
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def split_host_port(url: str) -> tuple[str, int, str]:
    """(host, port, scheme) of a URL; a bare `host` or `host:port` is taken as http."""
    if "://" not in url:
        url = f"http://{url}"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise HttpTargetError(f"invalid URL {display_url(url)!r}: {error}") from None
    if not parts.hostname:
        raise HttpTargetError(f"no host in URL {display_url(url)!r}")
    return parts.hostname, port or default_port(parts.scheme), parts.scheme


def hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def url_address(url: str) -> str:
    """`host:port` of a URL; HttpTargetError when it names no host."""
    host, port, _ = split_host_port(url)
    return hostport(host, port)


def url_secrets(url: str) -> list[str]:
    """The secrets a URL carries, which display_url hides: its password and query values."""
    secrets: list[str] = []
    try:
        parts = urlsplit(url)
        if parts.password:
            secrets.append(parts.password)
        secrets.extend(value for _, value in parse_qsl(parts.query))
    except ValueError:  # not a URL urllib can split: it has no password or query to hide
        return secrets
    return secrets


def check_not_reserved(host: str) -> None:
    """Fail a name under `.invalid` at once, without a query, as RFC 6761 (6.4) asks."""
    name = host.lower().rstrip(".")
    if name == "invalid" or name.endswith(".invalid"):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known (reserved .invalid)")


# --- errors ---------------------------------------------------------------------------------


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def classify_error(error: BaseException) -> tuple[str, str]:
    """(kind, reason) of a failure to reach an endpoint: refused, timeout, dns, tls or other."""
    chain = list(_chain(error))
    for link in chain:
        if isinstance(link, ssl.SSLCertVerificationError):
            return TLS, str(link.verify_message or link.reason or "certificate verify failed")
        if isinstance(link, ssl.SSLError):
            return TLS, str(link.reason or link.strerror or link).lower().replace("_", " ")
    for link in chain:
        if isinstance(link, socket.gaierror):
            return DNS, f"host name not resolved ({link.strerror or link})"
    for link in chain:
        if isinstance(link, ConnectionRefusedError):
            return REFUSED, "connection refused"
    for link in chain:
        if isinstance(link, TimeoutError) or type(link).__name__.endswith("Timeout"):
            return TIMEOUT, "no answer"
    for link in chain:
        if isinstance(link, OSError) and link.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return UNREACHABLE, (link.strerror or "unreachable").lower()
    text = str(error) or type(error).__name__
    lowered = text.lower()
    if "refused" in lowered:
        return REFUSED, "connection refused"
    if "name or service not known" in lowered or "nodename nor servname" in lowered:
        return DNS, "host name not resolved"
    for link in chain:
        if isinstance(link, OSError) and link.errno and link.strerror:
            return OTHER, link.strerror.lower()
    return OTHER, text


def classify_failure(error: BaseException, timeout: float) -> tuple[str, str]:
    """Like classify_error, but a timeout's reason says how long was allowed."""
    kind, reason = classify_error(error)
    if kind == TIMEOUT:
        reason = f"no answer within {timeout:g}s"
    return kind, reason


def failure_summary(url: str, kind: str | None, reason: str) -> str:
    """`host:port: reason` for a failed request to `url` (as shown)."""
    try:
        where = url_address(url)
    except HttpTargetError:
        where = url
    if kind == TLS:
        return f"{where}: TLS verification failed: {reason}"
    return f"{where}: {reason}"
