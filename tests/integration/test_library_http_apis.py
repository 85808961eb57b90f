"""The third-party API runbooks of the library (LLM, speech, messaging, CRM ...) on local servers.

Each vendor API is a local HTTP server that insists on its auth header; the header comes from
the inventory target's options and an environment variable, never from the runbook. A fault
(a rejected key, a quota, a bad request) must rank its cause first and confirmed; a healthy API
must confirm no cause.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from providers.inventory import Target
from tests.integration.library_scenarios import LIBRARY, assert_first, assert_healthy, run
from tests.servers.http import HttpServer, Route, serve_http
from tests.servers.redis import RedisServer

pytestmark = pytest.mark.integration

KEY_ENV = "TRIAGE_TEST_VENDOR_KEY"
GOOD_KEY = "good-vendor-key-1234"


def http_target(name: str, url: str, **options: Any) -> Target:
    return Target(kind="http", name=name, url=url, timeout=3.0, options=options)


def redis_target(server: RedisServer) -> Target:
    return Target(kind="redis", name="cache", url=server.url, timeout=3.0)


@dataclass(frozen=True)
class Vendor:
    """A runbook whose main check is one vendor API, and how that API fails."""

    runbook: str
    param: str
    header: str  # the auth header the API insists on
    prefix: str
    fault_status: int | None  # None: the API rejects the (wrong) key with 401
    cause: str


VENDORS = [
    Vendor("api-llm-errors", "llm", "Authorization", "Bearer ", None, "api-key-rejected"),
    Vendor("api-speech-to-text", "stt", "Authorization", "Token ", 402, "out-of-credit"),
    Vendor("api-text-to-speech", "tts", "xi-api-key", "", None, "api-key-rejected"),
    Vendor("api-whatsapp-outbound", "whatsapp", "D360-API-KEY", "", 400, "invalid-message-format"),
    Vendor("api-voice-calls", "vapi", "Authorization", "Bearer ", None, "api-key-rejected"),
    Vendor("api-crm-sync", "crm", "Authorization", "Bearer ", 403, "missing-scopes"),
    Vendor(
        "api-calendar-availability", "calendar", "Authorization", "Bearer ", None, "token-expired"
    ),
    Vendor("api-whatsapp-inbound", "webhook", "X-Verify", "", 403, "verify-token-mismatch"),
]


@pytest.fixture
def vendor_api(request: pytest.FixtureRequest) -> Iterator[HttpServer]:
    vendor, fault = request.param
    route = Route(200, '{"data": []}', require={vendor.header: f"{vendor.prefix}{GOOD_KEY}"})
    if fault and vendor.fault_status is not None:
        route = Route(vendor.fault_status, '{"error": "injected"}')
    with serve_http({"/v1/api": route}) as server:
        yield server


def vendor_target(vendor: Vendor, server: HttpServer) -> Target:
    header = {"env": KEY_ENV, "prefix": vendor.prefix} if vendor.prefix else {"env": KEY_ENV}
    return http_target(vendor.param, server.url("/v1/api"), headers={vendor.header: header})


@pytest.mark.parametrize(
    ("vendor", "vendor_api"),
    [pytest.param(v, (v, True), id=v.runbook) for v in VENDORS],
    indirect=["vendor_api"],
)
async def test_vendor_fault_ranks_its_cause_first(
    vendor: Vendor, vendor_api: HttpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, "revoked-key-5678" if vendor.fault_status is None else GOOD_KEY)
    diagnosis = await run(vendor.runbook, [vendor_target(vendor, vendor_api)])
    assert_first(diagnosis, vendor.cause)
    result = diagnosis.results[next(iter(diagnosis.results))]
    assert result.facts["status_code"] == (vendor.fault_status or 401)
    # The key went out in the header, and shows nowhere in what the check reports.
    assert vendor_api.requests and vendor.header.lower() in vendor_api.requests[0]
    assert "revoked-key-5678" not in str(result) and GOOD_KEY not in str(result)


@pytest.mark.parametrize(
    ("vendor", "vendor_api"),
    [pytest.param(v, (v, False), id=v.runbook) for v in VENDORS],
    indirect=["vendor_api"],
)
async def test_vendor_healthy_confirms_no_cause(
    vendor: Vendor, vendor_api: HttpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, GOOD_KEY)
    diagnosis = await run(vendor.runbook, [vendor_target(vendor, vendor_api)])
    assert_healthy(diagnosis)
    assert next(iter(diagnosis.results.values())).facts["status_code"] == 200


def test_every_api_runbook_is_exercised() -> None:
    tested = {v.runbook for v in VENDORS} | {
        "api-genesys-integration",
        "api-tenant-not-found",
        "api-rate-limit-exceeded",
    }
    assert {rid for rid in LIBRARY if rid.startswith("api-")} == tested


# --- Genesys: the tenant's token service, the Genesys API and the token cache ---------------


@pytest.mark.parametrize("fault", [True, False], ids=["credentials-rejected", "healthy"])
async def test_genesys_integration(
    fault: bool, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, GOOD_KEY)
    redis_server.client().set("tenant:t1:oauth:token", "cached", ex=3600)
    genesys = Route(401, '{"code": "bad.credentials"}') if fault else Route(200, '{"id": "org"}')
    routes = {
        "/auth/token": Route(200, '{"token": "x"}', require={"X-Tenant-ID": "t1"}),
        "/api/v2/organizations/me": genesys,
    }
    with serve_http(routes) as server:
        targets = [
            http_target("auth", server.url("/auth/token"), headers={"X-Tenant-ID": "t1"}),
            http_target(
                "genesys",
                server.url("/api/v2/organizations/me"),
                headers={"Authorization": {"env": KEY_ENV, "prefix": "Bearer "}},
            ),
            redis_target(redis_server),
        ]
        diagnosis = await run("api-genesys-integration", targets, auth="auth", genesys="genesys")
    assert diagnosis.results["tokens"].facts["matched"] == 1
    if fault:
        assert_first(diagnosis, "credentials-rejected")
    else:
        assert_healthy(diagnosis)


# --- Tenants: the tenant service's record and the API key mapping in Redis ------------------


@pytest.mark.parametrize("fault", [True, False], ids=["tenant-missing", "healthy"])
async def test_tenant_not_found(fault: bool, redis_server: RedisServer) -> None:
    redis_server.client().set("apikey:abc123", "t1")
    record = '{"tenantId": "t1", "status": "active", "rateLimit": 100}'
    route = Route(404, '{"error": "Tenant not found"}') if fault else Route(200, record)
    with serve_http({"/tenants/t1": route}) as server:
        targets = [http_target("tenant", server.url("/tenants/t1")), redis_target(redis_server)]
        diagnosis = await run("api-tenant-not-found", targets)
    if fault:
        assert_first(diagnosis, "tenant-missing")
    else:
        assert_healthy(diagnosis)
        assert diagnosis.results["apikeys"].facts["matched"] == 1


async def test_inactive_tenant_is_told_apart_from_a_missing_one(
    redis_server: RedisServer,
) -> None:
    redis_server.client().set("apikey:abc123", "t1")
    record = Route(200, '{"tenantId": "t1", "status": "inactive"}')
    with serve_http({"/tenants/t1": record}) as server:
        targets = [http_target("tenant", server.url("/tenants/t1")), redis_target(redis_server)]
        diagnosis = await run("api-tenant-not-found", targets)
    assert_first(diagnosis, "tenant-inactive")


# --- Rate limits: the API's 429 and the counters in Redis -----------------------------------


@pytest.mark.parametrize("fault", [True, False], ids=["counters-never-expire", "healthy"])
async def test_rate_limit_exceeded(fault: bool, redis_server: RedisServer) -> None:
    client = redis_server.client()
    for minute in range(3):
        key = f"ratelimit:t1:20260114103{minute}"
        client.set(key, 250) if fault else client.set(key, 12, ex=60)
    route = Route(429, '{"error": "Rate limit exceeded"}') if fault else Route(200, "ok")
    record = Route(200, '{"tenantId": "t1", "rateLimit": 100}')
    with serve_http({"/v1/messages": route, "/tenants/t1": record}) as server:
        targets = [
            http_target("api", server.url("/v1/messages")),
            http_target("tenant", server.url("/tenants/t1")),
            redis_target(redis_server),
        ]
        diagnosis = await run(
            "api-rate-limit-exceeded",
            targets,
            api="api",
            tenant="tenant",
            counter_pattern="ratelimit:t1:*",
        )
    assert diagnosis.results["counters"].facts["matched"] == 3
    if fault:
        assert_first(diagnosis, "counters-never-expire")
    else:
        assert_healthy(diagnosis)
