"""Task definitions against the moto server: a revision is asked for once, a family each time."""

from __future__ import annotations

from typing import Any

import pytest

from providers.contract import CheckCall, CheckStatus, Health
from tests.integration.test_ecs_provider import SERVICE_CALL, opened
from tests.servers.moto_server import MotoAws

pytestmark = pytest.mark.integration


async def test_a_task_definition_revision_is_described_once(aws: MotoAws) -> None:
    """A revision ARN never changes, so a refresh does not ask for it again; a family name
    (the latest revision) is asked for every time."""
    aws.ecs_stack(desired=1, running=1)
    async with opened(aws) as provider:
        asked: list[str] = []
        plain_aws = provider.aws

        async def counting(api: str, operation: str, /, **params: Any) -> dict[str, Any]:
            if operation == "describe_task_definition":
                asked.append(params["taskDefinition"])
            return await plain_aws(api, operation, **params)

        provider.aws = counting  # type: ignore[method-assign]
        for _ in range(2):
            tree = await provider.discover()
            result = await provider.run_check(CheckCall("ecs.task_definition", SERVICE_CALL))
            assert result.status is CheckStatus.PASS, result.summary
        assert tree.status.health is not Health.FAILING, tree.status.reason
        revisions = [arn for arn in asked if ":task-definition/" in arn]
        assert revisions and len(revisions) == len(set(revisions))  # each asked for once
        family = await provider.task_definition("shop-prod-api")
        again = await provider.task_definition("shop-prod-api")
        assert family["family"] == again["family"] == "shop-prod-api"
        assert asked.count("shop-prod-api") == 2
