"""The network under an HTTP endpoint: DNS resolution, the TCP connect, the TLS certificate.

`NetworkChecks` is mixed into HttpProvider and carries the checks `dns.resolve`, `tcp.connect`
and `tls.certificate`. The certificate check reads the certificates the server sends without
verifying them (so an expired or self-signed one can still be described), and describes them
with providers.x509: the server's own certificate, and whether the chain is in order.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from providers.base import Finding, check
from providers.contract import CheckStatus, ParamSpec, utc_now
from providers.endpoints import (
    DNS,
    OTHER,
    REFUSED,
    TIMEOUT,
    TLS,
    check_not_reserved,
    classify_error,
    classify_failure,
    default_port,
    hostport,
    split_host_port,
)
from providers.x509 import CertificateError, Chain, parse_certificate, parse_chain

DEFAULT_CERT_WARN_DAYS = 14


class NetworkChecks:
    """Mixed into HttpProvider; relies on its `url`, `timeout`, `_option` and `_budget`."""

    timeout: float

    @property
    def url(self) -> str:
        raise NotImplementedError

    def _option(self, params: Mapping[str, Any], name: str, default: Any) -> Any:
        raise NotImplementedError

    def _budget(self) -> float:
        raise NotImplementedError

    def _endpoint(self, params: Mapping[str, Any]) -> tuple[str, int, str]:
        """(host, port, scheme) from the params `host`/`port`/`url`, else the target's URL."""
        url = params.get("url") or self.url
        host, port, scheme = split_host_port(str(url))
        if params.get("host"):
            host = str(params["host"])
            if not params.get("url"):
                port = default_port(scheme)
        if params.get("port"):
            port = int(params["port"])
        return host, port, scheme

    @check(
        "dns.resolve",
        "Host name resolves",
        "Resolves the host to its A and AAAA addresses (getent ahosts HOST).",
        applies_to=("http.endpoint",),
        params={
            "host": ParamSpec("Host name to resolve instead of the URL's"),
            "url": ParamSpec("URL whose host to resolve"),
        },
    )
    async def resolve(self, params: Mapping[str, Any]) -> Finding:
        host, _, _ = self._endpoint(params)
        loop = asyncio.get_running_loop()
        started = loop.time()
        facts: dict[str, Any] = {"host": host, "addresses": []}
        try:
            async with asyncio.timeout(self._budget()):
                addresses = await _resolve(host)
        except socket.gaierror as error:
            reason = str(error.strerror or error)
            facts.update(reason=DNS, error=reason)
            return Finding(
                CheckStatus.FAIL,
                f"{host}: host name not resolved ({reason})",
                facts,
                (f"getaddrinfo({host!r}) -> {reason}",),
            )
        except TimeoutError:
            facts.update(reason=TIMEOUT, error=f"no answer within {self.timeout:g}s")
            return Finding(
                CheckStatus.FAIL,
                f"{host}: the resolver gave no answer within {self.timeout:g}s",
                facts,
                (f"getaddrinfo({host!r}) -> no answer within {self.timeout:g}s",),
            )
        took_ms = (loop.time() - started) * 1000
        ipv4 = [address for address in addresses if ":" not in address]
        ipv6 = [address for address in addresses if ":" in address]
        facts.update(
            addresses=addresses, ipv4=ipv4, ipv6=ipv6, reason="ok", resolve_ms=round(took_ms, 1)
        )
        return Finding(
            CheckStatus.PASS,
            f"{host} resolves to {', '.join(addresses)}",
            facts,
            (
                f"A    {' '.join(ipv4) or '(none)'}",
                f"AAAA {' '.join(ipv6) or '(none)'}",
                f"resolved in {took_ms:.1f} ms",
            ),
        )

    @check(
        "tcp.connect",
        "TCP port accepts connections",
        "Opens a TCP connection; tells a refused port from a silent one (a firewall, a security "
        "group) and from a name that does not resolve (nc -vz HOST PORT).",
        applies_to=("http.endpoint",),
        params={
            "host": ParamSpec("Host to connect to instead of the URL's"),
            "port": ParamSpec("Port to connect to instead of the URL's", int, None),
            "url": ParamSpec("URL whose host and port to connect to"),
        },
    )
    async def connect(self, params: Mapping[str, Any]) -> Finding:
        host, port, _ = self._endpoint(params)
        where = hostport(host, port)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._budget()
        facts: dict[str, Any] = {"host": host, "port": port, "address": None, "connect_ms": None}
        try:
            async with asyncio.timeout_at(deadline):
                addresses = await _resolve(host)
        except socket.gaierror as error:
            reason = str(error.strerror or error)
            facts.update(reason=DNS, error=reason)
            return Finding(
                CheckStatus.FAIL,
                f"{where}: host name not resolved ({reason})",
                facts,
                (f"getaddrinfo({host!r}) -> {reason}",),
            )
        except TimeoutError:
            facts.update(reason=TIMEOUT)
            return Finding(
                CheckStatus.FAIL,
                f"{where}: the resolver gave no answer within {self.timeout:g}s",
                facts,
                (f"getaddrinfo({host!r}) -> no answer",),
            )
        attempts: list[str] = []
        outcome: tuple[str, str] = (OTHER, "no address to connect to")
        for address in addresses:
            facts["address"] = address
            started = loop.time()
            try:
                async with asyncio.timeout_at(deadline):
                    _, writer = await asyncio.open_connection(address, port)
            except TimeoutError:
                outcome = (TIMEOUT, f"no answer within {self.timeout:g}s")
                attempts.append(f"connect {hostport(address, port)} -> {outcome[1]}")
                break  # the whole budget is spent
            except OSError as error:
                outcome = classify_error(error)
                attempts.append(f"connect {hostport(address, port)} -> {outcome[1]}")
                continue
            took_ms = (loop.time() - started) * 1000
            writer.close()
            facts.update(reason="ok", connect_ms=round(took_ms, 1))
            attempts.append(f"connect {hostport(address, port)} -> connected in {took_ms:.1f} ms")
            return Finding(
                CheckStatus.PASS,
                f"{where} accepts connections ({took_ms:.1f} ms)",
                facts,
                tuple(attempts),
            )
        kind, reason = outcome
        facts.update(reason=kind, error=reason)
        hint = {
            REFUSED: "nothing listens on that port, or a firewall rejects",
            TIMEOUT: "packets are dropped: a firewall, a security group, or no route back",
        }.get(kind)
        summary = f"{where}: {reason}" + (f" ({hint})" if hint else "")
        return Finding(CheckStatus.FAIL, summary, facts, tuple(attempts))

    @check(
        "tls.certificate",
        "TLS certificate valid and for this host",
        "Reads the server's certificate without verifying it and reports its expiry, whether it "
        "names the host, its issuer, subject and key, and whether the chain the server sends is "
        "in order (openssl s_client -showcerts -connect HOST:PORT).",
        applies_to=("http.endpoint",),
        params={
            "host": ParamSpec("Host to connect to instead of the URL's"),
            "port": ParamSpec("Port to connect to instead of the URL's", int, None),
            "url": ParamSpec("URL whose host and port to read the certificate of"),
            "cert_warn_days": ParamSpec("Days before expiry to warn", int, None),
        },
    )
    async def certificate(self, params: Mapping[str, Any]) -> Finding:
        host, port, scheme = self._endpoint(params)
        if not params.get("port") and not params.get("host") and scheme == "http":
            port = 443  # the certificate of a plain-http URL's host is on 443
        where = hostport(host, port)
        warn_days = int(self._option(params, "cert_warn_days", DEFAULT_CERT_WARN_DAYS))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        try:
            ipaddress.ip_address(host)
            server_name = None  # no SNI for an address
        except ValueError:
            server_name = host
        budget = self._budget()
        try:
            async with asyncio.timeout(budget):
                _, writer = await asyncio.open_connection(
                    host,
                    port,
                    ssl=context,
                    server_hostname=server_name or "",
                    ssl_handshake_timeout=budget,
                )
        except ssl.SSLError as error:
            _, reason = classify_error(error)
            return Finding(
                CheckStatus.FAIL,
                f"{where}: TLS handshake failed: {reason}",
                {"host": host, "port": port, "error": TLS, "reason": reason},
                (f"TLS handshake with {where} -> {reason}",),
            )
        except (OSError, TimeoutError) as error:  # no certificate to read: could not run
            kind, reason = classify_failure(error, self.timeout)
            return Finding(
                CheckStatus.ERROR,
                f"{where}: {reason}",
                {"host": host, "port": port, "error": kind, "reason": reason},
                (f"connect {where} -> {reason}",),
            )
        try:
            tls = writer.get_extra_info("ssl_object")
            leaf = tls.getpeercert(binary_form=True) if tls is not None else None
            chain = _served_chain(tls) if leaf else None
            version = tls.version() if tls is not None else None
        finally:
            writer.close()
        served = chain or ([leaf] if leaf else [])
        return certificate_finding(host, port, served, version, warn_days, whole_chain=bool(chain))


def certificate_finding(
    host: str,
    port: int,
    served: Sequence[bytes],
    tls_version: str | None,
    warn_days: int = DEFAULT_CERT_WARN_DAYS,
    now: datetime | None = None,
    *,
    whole_chain: bool = True,
) -> Finding:
    """The `tls.certificate` finding on the certificates `host:port` served, its own first.

    `whole_chain` is False when only the server's own certificate could be read, so whether
    its chain is in order is unknown.
    """
    where = hostport(host, port)
    now = now or utc_now()
    if not served:
        return Finding(
            CheckStatus.FAIL,
            f"{where}: the server sent no certificate",
            {"host": host, "port": port, "error": TLS, "tls_version": tls_version},
        )
    try:
        cert = parse_certificate(served[0])
    except CertificateError as error:  # the handshake took it, but it cannot be described
        reason = f"the server's certificate could not be parsed: {error}"
        return Finding(
            CheckStatus.ERROR,
            f"{where}: {reason}",
            {
                "host": host,
                "port": port,
                "error": TLS,
                "reason": reason,
                "tls_version": tls_version,
            },
            (f"certificate from {where} ({len(served[0])} bytes) -> {error}",),
        )
    chain: Chain | None = None
    if not whole_chain:
        chain_line = "chain:   unknown (this Python reads only the server's own certificate)"
    else:
        try:
            chain = parse_chain(served) if len(served) > 1 else Chain((cert,))
        except CertificateError as error:  # the server's own certificate still says enough
            chain_line = f"chain:   {len(served)} certificates, one unreadable: {error}"
        else:
            chain_line = _chain_line(chain)
    days = cert.days_left(now)
    matches = cert.matches(host)
    facts = {
        "host": host,
        "port": port,
        "subject": cert.subject,
        "issuer": cert.issuer,
        "not_before": cert.not_before.isoformat(),
        "not_after": cert.not_after.isoformat(),
        "days_left": days,
        "hostname_matches": matches,
        "sans": cert.sans,
        "self_signed": cert.self_signed,
        "tls_version": tls_version,
        "key_type": cert.key_type,
        "key_bits": cert.key_bits,
        "key_curve": cert.key_curve,
        "signature_algorithm": cert.signature_algorithm,
        "chain_length": len(served) if whole_chain else None,
        "chain_in_order": chain.in_order if chain is not None else None,
    }
    evidence = (
        f"subject: {cert.subject}",
        f"issuer:  {cert.issuer}" + ("  (self-signed)" if cert.self_signed else ""),
        f"valid:   {cert.not_before:%Y-%m-%d %H:%M} to {cert.not_after:%Y-%m-%d %H:%M} UTC",
        f"names:   {', '.join(cert.sans) or '(no subjectAltName)'}",
        f"key:     {cert.key}; signature {cert.signature_algorithm}",
        chain_line,
        *(_chain_listing(chain) if chain is not None else ()),
    )
    # An out-of-order chain is reported, not judged: most clients reorder it, and the runbooks
    # read a warning as "expires soon".
    problems: list[str] = []
    if cert.not_after <= now:
        problems.append(f"certificate expired {-days} days ago ({cert.not_after:%Y-%m-%d})")
    elif cert.not_before > now:
        problems.append(f"certificate not valid before {cert.not_before:%Y-%m-%d}")
    if not matches:
        named = ", ".join(cert.sans) or f"CN={cert.common_name}"
        problems.append(f"certificate does not name {host} (it names {named})")
    if problems:
        return Finding(CheckStatus.FAIL, f"{where}: {'; '.join(problems)}", facts, evidence)
    summary = f"valid for {days} more days, until {cert.not_after:%Y-%m-%d}"
    if days < warn_days:
        return Finding(
            CheckStatus.WARN,
            f"{where}: certificate expires in {days} days ({cert.not_after:%Y-%m-%d})",
            facts,
            evidence,
        )
    return Finding(CheckStatus.PASS, f"{where}: {summary}", facts, evidence)


def _chain_line(chain: Chain) -> str:
    count = len(chain.certificates)
    if count == 1:
        return "chain:   the server's certificate alone"
    if chain.in_order:
        return f"chain:   {count} certificates, in order (each issued by the next)"
    first = chain.misplaced()[0]
    certificate, following = chain.certificates[first], chain.certificates[first + 1]
    return (
        f"chain:   {count} certificates, out of order: {first} is issued by "
        f"{certificate.issuer or '(empty name)'}, but {first + 1} is "
        f"{following.subject or '(empty name)'}"
    )


def _chain_listing(chain: Chain) -> tuple[str, ...]:
    """Each certificate as `openssl s_client -showcerts` lists it, when there are several."""
    if len(chain.certificates) < 2:
        return ()
    return tuple(
        f" {position} s:{certificate.subject}  i:{certificate.issuer}"
        for position, certificate in enumerate(chain.certificates)
    )


def _served_chain(tls: ssl.SSLObject | None) -> list[bytes] | None:
    """The certificates the server sent, as sent, or None where this Python cannot tell.

    Python 3.13 has `SSLObject.get_unverified_chain()`; 3.10 to 3.12 have it only on the
    private `_sslobj`, read here because the standard library offers no other way to see the
    intermediates a server sends. Elsewhere the check sees the server's own certificate alone.
    """
    if tls is None:
        return None
    public = getattr(tls, "get_unverified_chain", None)
    if public is not None:
        return [bytes(der) for der in public() or ()]
    private = getattr(getattr(tls, "_sslobj", None), "get_unverified_chain", None)
    if private is None:
        return None
    return [ssl.PEM_cert_to_DER_cert(cert.public_bytes()) for cert in private() or ()]


async def _resolve(host: str) -> list[str]:
    """The host's addresses, in the resolver's order, without repeats."""
    check_not_reserved(host)
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    addresses: list[str] = []
    for _, _, _, _, sockaddr in infos:
        address = str(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    return addresses
