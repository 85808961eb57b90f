"""A sweep reads each ECS thing once; a check run outside a sweep reads it again (moto server)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from providers.aws_session import AwsSession
from providers.contract import CheckCall, CheckStatus
from providers.environment import LiveEnvironment, PlannedCheck
from providers.inventory import Environment, Inventory
from tests.servers.moto_server import CLUSTER, SERVICE, MotoAws
from tui.pacing import worth_sweeping

pytestmark = pytest.mark.integration


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Every AWS call the providers make, as 'operation key=value ...'."""
    made: Counter[str] = Counter()
    aws, pages = AwsSession.aws, AwsSession.aws_pages

    def named(operation: str, params: dict[str, Any]) -> str:
        return " ".join([operation, *(f"{k}={v}" for k, v in sorted(params.items()))])

    async def counted_aws(self: AwsSession, api: str, operation: str, /, **params: Any) -> Any:
        made[named(operation, params)] += 1
        return await aws(self, api, operation, **params)

    async def counted_pages(
        self: AwsSession, api: str, operation: str, key: str, /, **params: Any
    ) -> Any:
        made[named(operation, params)] += 1
        return await pages(self, api, operation, key, **params)

    monkeypatch.setattr(AwsSession, "aws", counted_aws)
    monkeypatch.setattr(AwsSession, "aws_pages", counted_pages)
    return made


def environment(aws: MotoAws) -> LiveEnvironment:
    return LiveEnvironment(Inventory(environments={"prod": Environment(targets=[aws.target()])}))


async def test_a_sweep_asks_for_each_cluster_service_and_task_list_once(
    aws: MotoAws, calls: Counter[str]
) -> None:
    aws.ecs_stack(desired=2, running=1, stopped=1)  # unwell: the service's checks are swept
    live = environment(aws)
    try:
        _, results = await live.check_everything(worth_checking=worth_sweeping)
    finally:
        await live.close()

    swept = {result.check for result in results}
    assert {"ecs.clusters", "ecs.service_counts", "ecs.service_events"} <= swept
    assert {"ecs.stopped_tasks", "ecs.task_definition"} <= swept
    assert all(result.status is not CheckStatus.ERROR for result in results), results
    repeated = {call: count for call, count in calls.items() if count > 1}
    assert repeated == {}
    # Discovery described the service; its four checks asked for nothing more about it.
    assert [call for call in calls if call.startswith("describe_services")] == [
        f"describe_services cluster={CLUSTER} services=['{aws_service_arn(aws)}']"
    ]
    assert [call for call in calls if call.startswith("list_tasks")] == [
        f"list_tasks cluster={CLUSTER} desiredStatus=RUNNING",
        f"list_tasks cluster={CLUSTER} desiredStatus=STOPPED",
    ]


def aws_service_arn(aws: MotoAws) -> str:
    answer = aws.client("ecs").list_services(cluster=CLUSTER)
    (arn,) = answer["serviceArns"]
    return str(arn)


async def test_a_check_run_after_the_sweep_reads_what_changed_since(
    aws: MotoAws, calls: Counter[str]
) -> None:
    aws.ecs_stack(desired=2, running=1)
    live = environment(aws)
    counts = CheckCall("ecs.service_counts", {"cluster": CLUSTER, "service": SERVICE})
    try:
        nodes, results = await live.check_everything(worth_checking=worth_sweeping)
        (swept,) = [result for result in results if result.check == "ecs.service_counts"]
        aws.set_service(CLUSTER, SERVICE, running=2, pending=0, rollout="COMPLETED")
        (service_id,) = [n.id for tree in nodes for n in tree.walk() if n.kind == "ecs.service"]
        (rerun,) = await live.run_checks([PlannedCheck(service_id, counts)])
    finally:
        await live.close()

    assert swept.status is not CheckStatus.PASS, swept.summary
    assert rerun.status is CheckStatus.PASS, rerun.summary
    assert rerun.facts["running"] == 2
    single = f"describe_services cluster={CLUSTER} services=['{SERVICE}']"
    assert calls[single] == 1  # the re-run, and only the re-run, asked for the service alone
