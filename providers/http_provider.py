"""HTTP endpoints, and the network under them: status, latency, body, DNS, TCP and TLS.

One target is one endpoint URL (`https://api.example.com/health`). Its options:

- `expected_status` (200), `body_contains` (text the body must hold), `warn_ms` (latency above
  which to warn, 1000), `verify_tls` (true), `ca_file` (a PEM bundle to trust instead of the
  system's), `cert_warn_days` (14), `follow_redirects` (false);
- `headers`: header name -> a secret reference, `{env: VARIABLE}` or `{file: PATH}`, with an
  optional `prefix` that is not secret: `Authorization: {env: OPENAI_API_KEY, prefix: "Bearer "}`.

No secret (a header value, the password of the URL or of the target, a query value) is ever
shown: URLs are shown without credentials and with query values masked, request headers are
never echoed, and every text that leaves a check has the secret values replaced by `***`.

The DNS, TCP and TLS checks come from the NetworkChecks mixin (providers/network_checks.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from providers.base import Finding, Provider, check
from providers.contract import CheckCall, CheckStatus, Health, Node, ParamSpec, Status
from providers.endpoints import (
    OTHER,
    REFUSED,
    HttpTargetError,
    check_not_reserved,
    classify_failure,
    display_url,
    failure_summary,
    url_address,
    url_secrets,
)
from providers.http_probe import BODY_LIMIT, Probe, peer_certificate, read_limited
from providers.http_request import HttpRequests
from providers.inventory import SecretError, SecretRef
from providers.network_checks import DEFAULT_CERT_WARN_DAYS, NetworkChecks
from providers.proxies import Proxy, httpx_proxy, proxy_for
from providers.redact import MASK, redact
from providers.sweep import shared
from providers.text import sanitize
from providers.tls import trust_for
from providers.units import rough_ms
from providers.x509 import CertificateError, parse_certificate

DEFAULT_EXPECTED_STATUS = 200
DEFAULT_WARN_MS = 1000.0
EXCERPT_CHARS = 300
MIN_SECRET_CHARS = 4  # shorter values would mask ordinary text; redact() still runs


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in {"false", "no", "off", "0", ""}
    return bool(value)


def proxy_failure(proxy: Proxy, error: BaseException, kind: str, reason: str) -> tuple[str, str]:
    """(kind, reason) of a request through `proxy` that failed: a refused connection is the
    proxy's (the request never connects anywhere else), so it is not the target's `refused`."""
    import httpx

    if kind == REFUSED:
        return OTHER, proxy.refused()
    if isinstance(error, httpx.ProxyError):  # the proxy answered CONNECT with an error
        return OTHER, f"proxy {proxy.shown} answered {error} (from {proxy.variable})"
    return kind, proxy.through(reason)


class HttpProvider(NetworkChecks, HttpRequests, Provider):
    """One HTTP(S) endpoint, reached by URL, and the host and port under it."""

    kind = "http"

    # --- configuration ---

    @property
    def url(self) -> str:
        url = self.target.resolve_url("")
        if not url:
            raise HttpTargetError(f"target {self.target.name} has no url")
        return url

    @property
    def address(self) -> str:
        try:
            return url_address(self.url)
        except (SecretError, HttpTargetError) as error:
            return f"{self.target.name} ({error})"

    def _option(self, params: Mapping[str, Any], name: str, default: Any) -> Any:
        if params.get(name) is not None:
            return params[name]
        value = self.target.options.get(name)
        return default if value is None else value

    def _budget(self) -> float:
        """Time a check allows itself, a little under the deadline run_check enforces."""
        return self.timeout - min(0.1, self.timeout * 0.1)

    def _headers(self) -> tuple[dict[str, str], list[str]]:
        """The request headers with their secrets resolved, and the secret values."""
        configured = self.target.options.get("headers") or {}
        if not isinstance(configured, Mapping):
            raise HttpTargetError(
                "option headers must map a header name to {env: VARIABLE} or {file: PATH}"
            )
        headers: dict[str, str] = {}
        secrets: list[str] = []
        for name, ref in configured.items():
            if isinstance(ref, str):  # a header that is not a secret (Accept, Host ...)
                headers[str(name)] = ref
                continue
            if isinstance(ref, SecretRef):
                ref_fields: dict[str, Any] = ref.model_dump(exclude_none=True)
            elif isinstance(ref, Mapping):
                ref_fields = dict(ref)
            else:
                raise HttpTargetError(f"header {name}: expected {{env: VARIABLE}}")
            prefix = str(ref_fields.pop("prefix", "") or "")
            try:
                secret = SecretRef(**ref_fields).resolve()
            except SecretError as error:
                raise SecretError(f"header {name} cannot be sent: {error}") from None
            except ValueError:  # pydantic's ValidationError; the ref itself holds no secret
                raise HttpTargetError(
                    f"header {name}: expected {{env: VARIABLE}} or {{file: PATH}}, "
                    "with an optional prefix"
                ) from None
            headers[str(name)] = f"{prefix}{secret}"
            secrets.append(secret)
        return headers, secrets

    def _url_secrets(self, url: str) -> list[str]:
        secrets = url_secrets(url)
        password = self.target.resolve_password()
        if password:
            secrets.append(password)
        return secrets

    def _scrub(self, text: str, secrets: list[str]) -> str:
        for secret in sorted(set(secrets), key=len, reverse=True):
            if len(secret) >= MIN_SECRET_CHARS:
                text = text.replace(secret, MASK)
        return redact(text)

    def _target_secrets(self) -> list[str]:
        """Every secret the target holds, for scrubbing an error text; never raises."""
        secrets: list[str] = []
        with contextlib.suppress(Exception):  # an unusable header cannot leak either
            secrets.extend(self._headers()[1])
        with contextlib.suppress(Exception):  # an unresolvable URL has nothing to leak
            secrets.extend(self._url_secrets(self.url))
        return secrets

    def describe_error(self, error: BaseException) -> str:
        if isinstance(error, (SecretError, HttpTargetError)):
            return self._scrub(f"{self.target.name}: {error}", self._target_secrets())
        _, reason = classify_failure(error, self.timeout)
        return self._scrub(f"{self.address}: {reason}", self._target_secrets())

    # --- the tree ---

    def root_checks(self) -> tuple[CheckCall, ...]:
        try:
            https = urlsplit(self.url).scheme == "https"
        except Exception:  # unresolvable URL: the checks will say why
            https = isinstance(self.target.url, str) and self.target.url.startswith("https")
        calls = [CheckCall("http.status")]
        if https:
            calls.append(CheckCall("tls.certificate"))
        calls.extend((CheckCall("tcp.connect"), CheckCall("dns.resolve")))
        return tuple(calls)

    async def discover(self) -> Node:
        try:
            url = self.url
            name = f"{self.target.name} ({display_url(url)})"
        except Exception as error:  # the tree shows why, instead of failing discovery
            return self._root(self.target.name, Status(Health.FAILING, self.describe_error(error)))
        try:
            async with asyncio.timeout(self.timeout):
                probe = await self._probe(url, {})
            status = self._health(probe)
        except TimeoutError:
            status = Status(Health.FAILING, f"{self.address}: no answer within {self.timeout:g}s")
        except Exception as error:  # a bad option or secret becomes the node's status
            status = Status(Health.FAILING, self.describe_error(error))
        return self._root(name, status)

    def _root(self, name: str, status: Status) -> Node:
        return Node(
            id=self.root_id,
            kind="http.endpoint",
            name=name,
            status=status,
            checks=self.root_checks(),
        )

    def _health(self, probe: Probe) -> Status:
        expected = int(self._option({}, "expected_status", DEFAULT_EXPECTED_STATUS))
        warn_ms = float(self._option({}, "warn_ms", DEFAULT_WARN_MS))
        warn_days = int(self._option({}, "cert_warn_days", DEFAULT_CERT_WARN_DAYS))
        if probe.error:
            return Status(Health.FAILING, failure_summary(probe.url, probe.error, probe.reason))
        if probe.status_code != expected:
            return Status(Health.FAILING, f"{probe.status_line} (expected {expected})")
        if probe.body_match is False:
            wanted = self._option({}, "body_contains", "")
            return Status(Health.FAILING, f"{probe.status_line} but the body lacks {wanted!r}")
        degraded: list[str] = []
        latency = probe.latency_ms or 0.0
        if latency > warn_ms:
            degraded.append(f"slow: {latency:,.0f} ms (over {warn_ms:g} ms)")
        if probe.peer_certificate:
            try:
                certificate = parse_certificate(probe.peer_certificate)
            except CertificateError:  # tls.certificate says what is wrong with it
                certificate = None
            if certificate is not None:
                days = certificate.days_left()
                if days < 0:
                    return Status(
                        Health.FAILING,
                        f"certificate expired {certificate.not_after:%Y-%m-%d} "
                        "(TLS verification is off)",
                    )
                if days < warn_days:
                    degraded.append(
                        f"certificate expires in {days} days ({certificate.not_after:%Y-%m-%d})"
                    )
        if degraded:
            return Status(Health.DEGRADED, "; ".join(degraded))
        return Status(Health.OK, f"{probe.status_line} in {rough_ms(latency)}")

    # --- one request ---

    async def _probe(self, url: str, params: Mapping[str, Any]) -> Probe:
        """GET `url` once, within the budget; failures to reach it become the probe's error.
        Within a sweep, discovery and `http.status` share one GET (providers/sweep.py)."""
        asked = ("body_contains", "verify_tls", "follow_redirects")  # what the GET depends on
        key = (self, "probe", url, repr([self._option(params, name, None) for name in asked]))
        return await shared(key, lambda: self._get(url, params))

    async def _get(self, url: str, params: Mapping[str, Any]) -> Probe:
        import httpx

        headers, header_secrets = self._headers()
        secrets = header_secrets + self._url_secrets(url)
        shown = display_url(url)
        body_contains = self._option(params, "body_contains", None)
        verify = await self._verify(params, url)
        password = self.target.resolve_password()
        auth = (self.target.username or "", password) if password else None
        budget = self._budget()
        latency_ms: float | None = None
        proxy = proxy_for(url)
        try:
            check_not_reserved(urlsplit(url).hostname or "")
            async with (
                asyncio.timeout(budget),
                httpx.AsyncClient(
                    verify=verify,
                    timeout=httpx.Timeout(budget),
                    follow_redirects=_bool(self._option(params, "follow_redirects", False)),
                    **httpx_proxy(proxy),
                ) as client,
            ):
                started = time.monotonic()  # the request only, not building the client
                async with client.stream("GET", url, headers=headers, auth=auth) as response:
                    latency_ms = (time.monotonic() - started) * 1000
                    certificate = peer_certificate(response)
                    raw = await read_limited(response, BODY_LIMIT)
        except (httpx.HTTPError, OSError, TimeoutError) as error:
            kind, reason = classify_failure(error, self.timeout)
            if proxy is not None:
                kind, reason = proxy_failure(proxy, error, kind, reason)
            return Probe(
                url=shown,
                latency_ms=latency_ms,
                error=kind,
                reason=self._scrub(reason, secrets),
                proxy=proxy.shown if proxy is not None else "",
            )
        body = raw.decode(response.charset_encoding or "utf-8", errors="replace")
        version = response.http_version or "HTTP/1.1"
        status_line = f"{version} {response.status_code} {response.reason_phrase}".strip()
        return Probe(
            url=shown,
            status_code=response.status_code,
            status_line=self._scrub(sanitize(status_line), secrets),
            latency_ms=latency_ms,
            # Scrubbed whole, then cut, so no secret is cut in two and half shown.
            body=self._scrub(sanitize(body), secrets)[:EXCERPT_CHARS],
            body_match=None if not body_contains else str(body_contains) in body,
            location=display_url(response.headers.get("location", ""))
            if response.headers.get("location")
            else "",
            peer_certificate=certificate,
            proxy=proxy.shown if proxy is not None else "",
        )

    async def _verify(self, params: Mapping[str, Any], url: str = "") -> bool | ssl.SSLContext:
        """What httpx verifies a request to `url` with ("": any URL, an action's)."""
        if not _bool(self._option(params, "verify_tls", True)):
            return False
        ca_file = self.target.options.get("ca_file")
        redirects = _bool(self._option(params, "follow_redirects", False))
        return await trust_for(
            url or "https:", str(ca_file) if ca_file else None, follows_redirects=redirects
        )

    # --- checks ---

    @check(
        "http.status",
        "HTTP endpoint answers as expected",
        "GETs the URL; checks the status code, the latency, the body and the TLS verification "
        "(curl -sS -o /dev/null -w '%{http_code} %{time_total}' URL).",
        applies_to=("http.endpoint",),
        params={
            "url": ParamSpec("URL to GET instead of the target's"),
            "expected_status": ParamSpec("Status code that means healthy", int, None),
            "body_contains": ParamSpec("Text the body must contain"),
            "warn_ms": ParamSpec("Latency above which to warn, in ms", float, None),
            "verify_tls": ParamSpec("Verify the server's certificate", bool, None),
        },
    )
    async def status(self, params: Mapping[str, Any]) -> Finding:
        url = str(params.get("url") or self.url)
        expected = int(self._option(params, "expected_status", DEFAULT_EXPECTED_STATUS))
        warn_ms = float(self._option(params, "warn_ms", DEFAULT_WARN_MS))
        verify_tls = _bool(self._option(params, "verify_tls", True))
        probe = await self._probe(url, params)
        facts: dict[str, Any] = {
            "url": probe.url,
            "expected_status": expected,
            "status_code": probe.status_code,
            "latency_ms": None if probe.latency_ms is None else round(probe.latency_ms, 1),
            "body_match": probe.body_match,
            "verify_tls": verify_tls,
            "error": probe.error,
        }
        if probe.proxy:
            facts["proxy"] = probe.proxy
        asked = f"GET {probe.url}" + (f" through proxy {probe.proxy}" if probe.proxy else "")
        if probe.error:
            facts["reason"] = probe.reason
            summary = failure_summary(probe.url, probe.error, probe.reason)
            return Finding(CheckStatus.FAIL, summary, facts, (f"{asked} -> {summary}",))
        latency = probe.latency_ms or 0.0
        seen = f"{asked} -> {probe.status_line} in {latency:,.0f} ms"
        body = f"body: {probe.body}" if probe.body else "body: (empty)"
        if probe.status_code != expected:
            evidence = [seen, body]
            if probe.location:
                evidence.insert(1, f"Location: {probe.location}")
            return Finding(
                CheckStatus.FAIL,
                f"{probe.status_line} (expected {expected})",
                facts,
                tuple(evidence),
            )
        if probe.body_match is False:
            wanted = self._option(params, "body_contains", "")
            return Finding(
                CheckStatus.FAIL,
                f"{probe.status_line} but the body lacks {wanted!r}",
                facts,
                (seen, body),
            )
        if latency > warn_ms:
            return Finding(
                CheckStatus.WARN,
                f"slow: {probe.status_line} in {latency:,.0f} ms (over {warn_ms:g} ms)",
                facts,
                (seen,),
            )
        return Finding(
            CheckStatus.PASS, f"{probe.status_line} in {rough_ms(latency)}", facts, (seen,)
        )
