"""Shared by the tests of the ecs provider's checks around ECS, on the moto server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio

from providers.contract import CheckCall, CheckResult
from providers.ecs_provider import EcsProvider
from tests.servers.moto_server import MotoAws

SECRET_VALUE = "s3cr3t-Value-Never-Shown"


@pytest_asyncio.fixture
async def ecs_provider(aws: MotoAws) -> AsyncIterator[EcsProvider]:
    opened = EcsProvider(aws.target())
    try:
        yield opened
    finally:
        await opened.close()


async def run(provider: EcsProvider, name: str, **params: Any) -> CheckResult:
    """Run one check; whatever it says, the test secret's value is not in it."""
    result = await provider.run_check(CheckCall(name, params))
    assert SECRET_VALUE not in json.dumps(result.to_dict(), default=str)
    return result
