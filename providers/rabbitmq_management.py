"""RabbitMQ management HTTP API client (httpx): GETs with a back-off, and its queue listings.

The management API knows every queue, unacked counts, rates and the node's alarms. Every
failure to use it is `ManagementUnavailable`, on which callers fall back to AMQP. httpx is
imported only when a request is made.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from providers.proxies import httpx_proxy, proxy_for
from providers.rabbitmq_state import QueueState
from providers.redact import redact
from providers.tls import trust_for

if TYPE_CHECKING:
    import httpx

    from providers.rabbitmq_amqp import Endpoint

MANAGEMENT_PORT = 15672


def quote_segment(segment: str) -> str:
    """One path segment of a management API URL (the default vhost "/" is "%2F")."""
    return quote(segment, safe="")


class ManagementUnavailable(Exception):
    """The management API did not answer (or refused us); AMQP is used instead."""


def http_reason(error: BaseException) -> str:
    """Why an HTTP call failed, from the cause httpx wraps ("All connection attempts failed")."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused"
        if isinstance(seen, OSError) and seen.strerror:
            return seen.strerror.lower()
        seen = seen.__cause__ or seen.__context__
    return str(error) or type(error).__name__


def rate(stats: Mapping[str, Any], name: str) -> float | None:
    details = stats.get(f"{name}_details")
    if isinstance(details, Mapping) and "rate" in details:
        return float(details["rate"])
    return None


class Management:
    """The management API over httpx; every failure to use it is ManagementUnavailable.

    After a timeout it is not asked again for `retry_after` seconds, so a hung management
    listener does not cost every call its timeout before the AMQP fallback.
    """

    def __init__(
        self, base_url: str | None, endpoint: Endpoint, timeout: float, retry_after: float
    ) -> None:
        self.base_url = base_url
        self.endpoint = endpoint
        self.timeout = timeout
        self.retry_after = retry_after
        self.down_until = 0.0
        self._client: httpx.AsyncClient | None = None

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        """The JSON of GET `path`; a 404 raises LookupError (no such vhost or queue)."""
        import httpx

        base = self.base_url
        if base is None:
            raise ManagementUnavailable("management API disabled (options.management_url)")
        if time.monotonic() < self.down_until:
            raise ManagementUnavailable(f"management API not reachable at {base} (timed out)")
        if self._client is None:
            self._client = httpx.AsyncClient(
                base_url=base,
                auth=(self.endpoint.user, self.endpoint.password),
                timeout=self.timeout,
                verify=await trust_for(base),  # never a CA bundle read on the event loop
                **httpx_proxy(proxy_for(base)),  # a loopback broker is never asked via a proxy
            )
        try:
            response = await self._client.get(path, params=params)
        except httpx.TimeoutException:
            self.down_until = time.monotonic() + self.retry_after
            raise ManagementUnavailable(
                f"management API not reachable at {base} (no answer)"
            ) from None
        except httpx.HTTPError as error:
            raise ManagementUnavailable(
                redact(f"management API not reachable at {base} ({http_reason(error)})")
            ) from None
        if response.status_code in (401, 403):
            raise ManagementUnavailable(
                f"management API at {base} refused user {self.endpoint.user!r} "
                f"(HTTP {response.status_code}; it needs the monitoring or management tag)"
            )
        if response.status_code == 404:
            raise LookupError(f"{self.endpoint.address}: {path} not found (HTTP 404)")
        if response.status_code >= 400:
            raise ManagementUnavailable(
                f"management API at {base} answered HTTP {response.status_code}"
            )
        return response.json()

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()


def merge_queue_rows(totals: Any, stats: Any, vhost: str, name: str | None) -> list[QueueState]:
    """Queue states from the totals listing (exact, immediate) and the stats listing (consumers
    and rates, emitted every collect_statistics_interval); either may be paginated."""
    if isinstance(totals, dict):
        totals = totals.get("items", [])
    if isinstance(stats, dict):
        stats = stats.get("items", [])
    by_key = {(row.get("vhost"), row.get("name")): row for row in stats}
    found = []
    for row in totals:
        if name is not None and row.get("name") != name:
            continue
        extra = by_key.get((row.get("vhost"), row.get("name")), {})
        rates = extra.get("message_stats") or {}
        consumers = extra.get("consumers")
        found.append(
            QueueState(
                vhost=str(row.get("vhost", vhost)),
                name=str(row.get("name")),
                messages=int(row.get("messages") or 0),
                ready=int(row.get("messages_ready") or 0),
                unacked=int(row.get("messages_unacknowledged") or 0),
                consumers=None if consumers is None else int(consumers),
                source="management",
                publish_rate=rate(rates, "publish"),
                deliver_rate=rate(rates, "deliver_get"),
            )
        )
    return found


def consumer_names(consumers: Any, connections: Any) -> dict[tuple[str, str], tuple[str, ...]]:
    """(vhost, queue) -> the names the clients consuming it gave their connections (a pod's,
    a service's: `connection_name` in the client's properties), each once, sorted; consumers
    whose connection gave none are left out."""
    given: dict[str, str] = {}
    for row in connections if isinstance(connections, list) else []:
        properties = row.get("client_properties") or {}
        name = row.get("user_provided_name") or properties.get("connection_name")
        if name and row.get("name"):
            given[str(row["name"])] = str(name)
    found: dict[tuple[str, str], set[str]] = {}
    for row in consumers if isinstance(consumers, list) else []:
        queue = row.get("queue") or {}
        channel = row.get("channel_details") or {}
        name = given.get(str(channel.get("connection_name") or ""))
        if name and queue.get("name") is not None:
            found.setdefault((str(queue.get("vhost", "/")), str(queue["name"])), set()).add(name)
    return {key: tuple(sorted(names)) for key, names in found.items()}
