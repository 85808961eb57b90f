"""A request other than GET, mixed into HttpProvider: `curl -X POST URL -d BODY` through the gate.

A POST, PUT or PATCH may change what it reaches (send a message, re-register a webhook), so it
is an action: its preview names the method, the URL (credentials and query values masked), the
body's size and the names of the headers the target adds; it runs after the operator confirms,
and its outcome is the status line and an excerpt of the answer, secrets scrubbed. DELETE is
not sent: it would need a destructive action of its own.
"""

from __future__ import annotations

import inspect
import re
import ssl
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from providers.base import ActionPlan, action
from providers.contract import ActionOutcome, ActionPreview, ParamSpec
from providers.endpoints import check_not_reserved, display_url
from providers.proxies import httpx_proxy, proxy_for
from providers.redact import redact
from providers.text import sanitize

METHODS = ("POST", "PUT", "PATCH")
# JSON members whose name says they are secret: "password": "x" -> "password": "***"
_JSON_SECRET = re.compile(
    r'("[^"]*(?:password|passwd|secret|token|api[_-]?key|private[_-]?key)[^"]*"\s*:\s*)'
    r'"(?:[^"\\]|\\.)*"',
    re.IGNORECASE,
)
EXCERPT_CHARS = 500
BODY_SHOWN = 200


class HttpRequests:
    """Mixed into HttpProvider; relies on its `url`, `timeout`, `_headers`, `_verify`,
    `_url_secrets` and `_scrub`."""

    if TYPE_CHECKING:
        timeout: float

        @property
        def url(self) -> str: ...

        def _headers(self) -> tuple[dict[str, str], list[str]]: ...

        def _url_secrets(self, url: str) -> list[str]: ...

        def _scrub(self, text: str, secrets: list[str]) -> str: ...

        def _verify(self, params: Mapping[str, Any]) -> Any: ...

    @action(
        "http.request",
        "Send a POST, PUT or PATCH request (curl -X POST URL -d BODY)",
        destructive=False,
        params={
            "url": ParamSpec("URL to send to; default: the target's", str, None),
            "method": ParamSpec("POST, PUT or PATCH", str, "POST"),
            "body": ParamSpec("The request body, as the guide gives it", str, ""),
            "content_type": ParamSpec("Content-Type; default: JSON when the body is", str, ""),
        },
    )
    async def send_request(self, params: Mapping[str, Any]) -> ActionPlan:
        method = str(params.get("method") or "POST").upper()
        if method not in METHODS:
            raise ValueError(f"http.request sends {', '.join(METHODS)}, not {method}")
        url = str(params.get("url") or self.url)
        check_not_reserved(urlsplit(url).hostname or "")
        body = str(params.get("body") or "")
        headers, header_secrets = self._headers()
        content_type = str(params.get("content_type") or "")
        if body and not content_type:
            json_like = body.lstrip()[:1] in ("{", "[")
            content_type = "application/json" if json_like else "application/x-www-form-urlencoded"
        if content_type:
            headers = {**headers, "Content-Type": content_type}
        secrets = header_secrets + self._url_secrets(url)
        shown = display_url(url)
        excerpt = self._scrub(_masked(sanitize(body)), secrets)[:BODY_SHOWN]
        touches = (
            f"{method} {shown}",
            f"body ({len(body.encode())} bytes): {excerpt}" if body else "no body",
            "headers: " + (", ".join(sorted(headers)) or "none"),
        )
        preview = ActionPreview(
            action="http.request",
            target=shown,
            summary=redact(f"send {method} {shown} with a {len(body.encode())}-byte body"),
            destructive=False,
            touches=touches,
            counts={"body_bytes": len(body.encode())},
        )

        async def apply() -> ActionOutcome:
            import httpx

            verify: bool | ssl.SSLContext = self._verify(params)
            if inspect.isawaitable(verify):  # the provider may build its trust store async
                verify = await verify
            async with httpx.AsyncClient(
                verify=verify, timeout=httpx.Timeout(self.timeout), **httpx_proxy(proxy_for(url))
            ) as c:
                response = await c.request(method, url, content=body.encode(), headers=headers)
            status = f"{response.status_code} {response.reason_phrase}".strip()
            answer = self._scrub(_masked(sanitize(response.text)), secrets)[:EXCERPT_CHARS]
            return ActionOutcome(
                "http.request",
                shown,
                response.is_success,
                f"{method} {shown}: {status}",
                (answer,) if answer else (),
            )

        return ActionPlan(preview, apply)


def _masked(text: str) -> str:
    """JSON text with the values of secret-named members masked."""
    return _JSON_SECRET.sub(r'\1"***"', text)
