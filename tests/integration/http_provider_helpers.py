"""Shared by the HTTP provider tests: a provider on a URL, and running one of its checks."""

from __future__ import annotations

from typing import Any

from providers.contract import CheckCall, CheckResult
from providers.http_provider import HttpProvider
from providers.inventory import SecretRef, Target


def provider_for(url: str | SecretRef, timeout: float = 2.0, **options: Any) -> HttpProvider:
    return HttpProvider(Target(kind="http", name="api", url=url, timeout=timeout, options=options))


async def run(provider: HttpProvider, check: str, **params: Any) -> CheckResult:
    return await provider.run_check(CheckCall(check, params))
