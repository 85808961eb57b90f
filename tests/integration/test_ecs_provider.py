"""The ecs provider's ECS side against the moto server: tree, checks, stop reasons, logs, actions.

Where ECS reports what moto cannot produce (stopCode, container exit codes and reasons, service
events, counts), the fixture sets it on moto's backend objects; the provider still reads it all
through the real API.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

import providers.ecs_logs as ecs_logs
from providers.base import ConfirmationRequired
from providers.contract import CheckCall, CheckStatus, Health, LogLine
from providers.ecs_provider import EcsProvider
from tests.servers.moto_server import CONTAINER, LOG_GROUP, SECRET_ARN, MotoAws, ecs_target

pytestmark = pytest.mark.integration


@contextlib.asynccontextmanager
async def opened(aws: MotoAws, **options: Any) -> AsyncIterator[EcsProvider]:
    provider = EcsProvider(ecs_target(aws.options(**options)))
    try:
        yield provider
    finally:
        await provider.close()


SERVICE_CALL = {"cluster": "shop-prod", "service": "shop-prod-api"}


async def test_discover_tree_clusters_services_tasks_containers(aws: MotoAws) -> None:
    stack = aws.ecs_stack(desired=2, running=1, stopped=1)
    aws.stop_task(
        stack.cluster,
        stack.stopped[0],
        stop_code="EssentialContainerExited",
        reason="Essential container in task exited",
        exit_code=137,
        container_reason="OutOfMemoryError: Container killed due to memory usage",
    )
    async with opened(aws) as provider:
        root = await provider.discover()
    assert root.kind == "aws.account"
    assert root.status.health is Health.DEGRADED
    (cluster,) = root.children
    assert (cluster.kind, cluster.name) == ("ecs.cluster", "shop-prod")
    (service,) = cluster.children
    assert service.kind == "ecs.service" and service.has_logs
    assert service.status.health is Health.DEGRADED
    assert service.status.reason.startswith("1/2 running, 1 pending")
    assert {call.check for call in service.checks} >= {"ecs.service_counts", "ecs.stopped_tasks"}
    tasks = {node.name: node for node in service.children}
    assert set(tasks) == {arn.rsplit("/", 1)[-1] for arn in stack.running + stack.stopped}
    running = tasks[stack.running[0].rsplit("/", 1)[-1]]
    stopped = tasks[stack.stopped[0].rsplit("/", 1)[-1]]
    assert running.kind == "ecs.task" and running.status.health is Health.OK
    assert stopped.status.health is Health.FAILING
    assert "OutOfMemoryError" in stopped.status.reason
    (container,) = stopped.children
    assert container.kind == "ecs.container" and container.name == CONTAINER
    assert "exit 137" in container.status.reason and container.has_logs
    # A task offers its task definition's check, named family:revision as the API wants it.
    (call,) = running.checks
    family, _, revision = call.params["task_definition"].partition(":")
    assert family and revision == "1"
    async with opened(aws) as provider:
        result = await provider.run_check(call, node_id=running.id)
    assert result.status is CheckStatus.PASS, result.summary


async def test_service_counts_pass_when_all_running(aws: MotoAws) -> None:
    aws.ecs_stack(desired=2, running=2)
    aws.set_service("shop-prod", "shop-prod-api", rollout="COMPLETED")
    async with opened(aws) as provider:
        result = await provider.run_check(CheckCall("ecs.service_counts", SERVICE_CALL))
    assert result.status is CheckStatus.PASS, result.summary
    assert (result.facts["running"], result.facts["desired"], result.facts["pending"]) == (2, 2, 0)
    assert result.facts["rollout_state"] == "COMPLETED"
    assert result.facts["task_definition"] == "shop-prod-api:1"


async def test_service_counts_fail_with_zero_running_and_failed_rollout(aws: MotoAws) -> None:
    aws.ecs_stack(desired=2, running=0)
    aws.set_service(
        "shop-prod",
        "shop-prod-api",
        rollout="FAILED",
        rollout_reason="ECS deployment circuit breaker: tasks failed to start.",
        failed_tasks=4,
        events=["(service shop-prod-api) failed to launch a task with (error ECS was unable)"],
    )
    async with opened(aws) as provider:
        result = await provider.run_check(CheckCall("ecs.service_counts", SERVICE_CALL))
    assert result.status is CheckStatus.FAIL
    assert result.facts["running"] == 0 and result.facts["desired"] == 2
    assert result.facts["rollout_state"] == "FAILED" and result.facts["failed_tasks"] == 4
    assert "circuit breaker" in result.summary
    assert result.facts["latest_event"].startswith("(service shop-prod-api) failed to launch")


async def test_service_events_name_placement_problems(aws: MotoAws) -> None:
    aws.ecs_stack(desired=2, running=0)
    aws.set_service(
        "shop-prod",
        "shop-prod-api",
        events=[
            "(service shop-prod-api) was unable to place a task because no container instance "
            "met all of its requirements.",
            "(service shop-prod-api) has started 2 tasks: (task a) (task b).",
        ],
    )
    async with opened(aws) as provider:
        result = await provider.run_check(CheckCall("ecs.service_events", SERVICE_CALL))
    assert result.status is CheckStatus.FAIL
    assert result.facts["problems"] == {"unable_to_place": 1}
    assert result.facts["steady"] is False
    assert "unable to place a task" in result.facts["latest"]
    assert len(result.evidence) == 2


STOP_CASES = [
    pytest.param(
        "TaskFailedToStart",
        "CannotPullContainerError: pull image manifest has been retried 5 time(s): "
        "failed to resolve ref 123456789012.dkr.ecr.us-east-1.amazonaws.com/shop-api:1.4.2: "
        "not found",
        "CannotPullContainerError: ref not found",
        None,
        "image_pull",
        id="image-pull",
    ),
    pytest.param(
        "TaskFailedToStart",
        "ResourceInitializationError: unable to pull secrets or registry auth: execution "
        "resource retrieval failed: unable to retrieve secret from asm: AccessDeniedException "
        "secretsmanager:GetSecretValue",
        None,
        None,
        "secrets",
        id="secrets",
    ),
    pytest.param(
        "TaskFailedToStart",
        "ResourceInitializationError: unable to pull secrets or registry auth: pull command "
        "failed: unable to retrieve ecr registry auth: service call has been retried",
        None,
        None,
        "registry_auth",
        id="registry-auth",
    ),
    pytest.param(
        "EssentialContainerExited",
        "Essential container in task exited",
        "OutOfMemoryError: Container killed due to memory usage",
        137,
        "out_of_memory",
        id="out-of-memory",
    ),
    pytest.param(
        "EssentialContainerExited",
        "Essential container in task exited",
        None,
        137,
        "out_of_memory",
        id="exit-137",
    ),
    pytest.param(
        "EssentialContainerExited",
        "Essential container in task exited",
        None,
        3,
        "essential_exit",
        id="essential-exit",
    ),
    pytest.param(
        "ServiceSchedulerInitiated",
        "Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:us-east-1:"
        "123456789012:targetgroup/shop-api/0123456789abcdef)",
        None,
        143,
        "elb_health",
        id="elb-health",
    ),
    pytest.param(
        "TaskFailedToStart",
        "No container instances to place task",
        None,
        None,
        "no_capacity",
        id="no-capacity",
    ),
    pytest.param(
        "TaskFailedToStart",
        "Timeout waiting for network interface provisioning to complete.",
        None,
        None,
        "unknown",
        id="unknown-verbatim",
    ),
]


@pytest.mark.parametrize(
    ("stop_code", "reason", "container_reason", "exit_code", "expected"), STOP_CASES
)
async def test_stopped_tasks_classified(
    aws: MotoAws,
    stop_code: str,
    reason: str,
    container_reason: str | None,
    exit_code: int | None,
    expected: str,
) -> None:
    stack = aws.ecs_stack(desired=1, running=0, stopped=1)
    aws.stop_task(
        stack.cluster,
        stack.stopped[0],
        stop_code=stop_code,
        reason=reason,
        container_reason=container_reason,
        exit_code=exit_code,
    )
    async with opened(aws) as provider:
        result = await provider.run_check(CheckCall("ecs.stopped_tasks", SERVICE_CALL))
    assert result.status is CheckStatus.FAIL, result.summary
    assert result.facts["class"] == expected
    assert result.facts["classes"] == {expected: 1}
    assert result.facts["stop_codes"] == [stop_code]
    assert reason in result.facts["reasons"]
    latest = result.facts["latest"]
    assert latest["exit_code"] == exit_code and latest["container"] == CONTAINER
    assert latest["stopped_reason"] == reason
    if expected == "essential_exit":
        assert "with code 3" in result.summary
    if expected == "unknown":
        assert reason in result.summary  # kept verbatim
    assert result.evidence and f"[{expected}]" in result.evidence[0]


async def test_stopped_tasks_pass_when_only_replaced_by_deployments(aws: MotoAws) -> None:
    stack = aws.ecs_stack(desired=1, running=1, stopped=1)
    aws.stop_task(
        stack.cluster,
        stack.stopped[0],
        stop_code="ServiceSchedulerInitiated",
        reason="Scaling activity initiated by (deployment ecs-svc/4126543787621534)",
        exit_code=0,
    )
    async with opened(aws) as provider:
        result = await provider.run_check(CheckCall("ecs.stopped_tasks", SERVICE_CALL))
    assert result.status is CheckStatus.PASS
    assert result.facts["classes"] == {"scaled_in": 1} and result.facts["faults"] == 0


async def test_task_definition_facts_without_secret_values(aws: MotoAws) -> None:
    aws.ecs_stack(desired=1, running=1)
    async with opened(aws) as provider:
        result = await provider.run_check(CheckCall("ecs.task_definition", SERVICE_CALL))
    assert result.status is CheckStatus.PASS, result.summary
    facts = result.facts
    assert (facts["cpu"], facts["memory"]) == ("512", "1024")
    assert facts["secrets"] == [SECRET_ARN] and facts["secret_names"] == ["DATABASE_URL"]
    assert facts["log_groups"] == [LOG_GROUP]
    assert "curl -f http://localhost:8080/health" in facts["health_checks"][CONTAINER]
    assert facts["execution_role"].endswith(":role/shop-prod-api-execution")
    (container,) = facts["containers"]
    assert container["log"] == {"group": LOG_GROUP, "region": "us-east-1", "prefix": "ecs"}
    assert container["health_check_timing"]["startPeriod"] == 60


async def test_check_error_names_the_endpoint(aws: MotoAws) -> None:
    target = ecs_target(
        {"region": "us-east-1", "endpoint_url": "http://127.0.0.1:9", "max_attempts": 1},
        timeout=1.0,
    )
    provider = EcsProvider(target)
    try:
        result = await provider.run_check(CheckCall("ecs.service_counts", SERVICE_CALL))
        root = await provider.discover()
    finally:
        await provider.close()
    assert result.status is CheckStatus.ERROR
    assert "127.0.0.1:9" in result.summary
    assert result.facts["error"] == "EndpointConnectionError"
    assert root.status.health is Health.FAILING and "127.0.0.1:9" in root.status.reason


async def _collect(stream: AsyncIterator[LogLine], count: int, timeout: float) -> list[LogLine]:
    lines: list[LogLine] = []
    async with asyncio.timeout(timeout):
        async for line in stream:
            lines.append(line)
            if len(lines) >= count:
                break
    return lines


async def test_logs_tail_task_stream_with_tokens_no_duplicates_no_gaps(
    aws: MotoAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ecs_logs, "PAGE_LIMIT", 2)  # several pages per poll: nextToken followed
    monkeypatch.setattr(ecs_logs, "POLL_SECONDS", 0.1)
    stack = aws.ecs_stack(desired=1, running=1)
    task_id = stack.running[0].rsplit("/", 1)[-1]
    stream = f"ecs/{CONTAINER}/{task_id}"
    aws.put_logs(LOG_GROUP, stream, [f"line {n}" for n in range(5)])
    aws.put_logs(LOG_GROUP, "ecs/api/other-task", ["not this task"])
    async with opened(aws, live_tail=False) as provider:
        root = await provider.discover()
        task_node = next(n for n in root.walk() if n.kind == "ecs.task")
        logs = provider.logs(task_node.id)
        first = await _collect(logs, 6, 10)
        aws.put_logs(LOG_GROUP, stream, ["line 5", "ERROR boom password=hunter2", "line 7"])
        more = await _collect(logs, 3, 10)
        await logs.aclose()
    assert first[0].text == f"following CloudWatch Logs {LOG_GROUP}"
    texts = [line.text for line in first[1:] + more]
    assert texts[:6] == ["line 0", "line 1", "line 2", "line 3", "line 4", "line 5"]
    assert texts[6] == "ERROR boom password=***" and more[1].level == "error"
    assert texts[7] == "line 7" and len(texts) == len(set(texts))
    assert all(line.source == stream for line in first[1:])


async def test_logs_fall_back_to_polling_when_live_tail_is_unavailable(
    aws: MotoAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ecs_logs, "POLL_SECONDS", 0.1)
    stack = aws.ecs_stack(desired=1, running=1)
    task_id = stack.running[0].rsplit("/", 1)[-1]
    stream = f"ecs/{CONTAINER}/{task_id}"
    aws.put_logs(LOG_GROUP, stream, ["started"])
    async with opened(aws, live_tail=True) as provider:
        events = provider.tail_events(LOG_GROUP, streams=[stream])
        first = await asyncio.wait_for(anext(events), 10)
        notice = await asyncio.wait_for(anext(events), 15)
        aws.put_logs(LOG_GROUP, stream, ["after live tail failed"])
        second = await asyncio.wait_for(anext(events), 15)
        await events.aclose()
    # The operator is told the live tail is not there, and lines keep coming by polling.
    assert notice["message"].startswith("live tail unavailable (")
    assert notice["message"].endswith("); polling instead")
    assert (first["message"], second["message"]) == ("started", "after live tail failed")
    assert first["logStreamName"] == second["logStreamName"] == stream


async def test_force_new_deployment_previews_refuses_then_runs(aws: MotoAws) -> None:
    aws.ecs_stack(desired=2, running=2)
    async with opened(aws) as provider:
        plan = await provider.plan_action("ecs.force_new_deployment", SERVICE_CALL)
        assert not plan.preview.destructive
        assert plan.preview.counts == {"running": 2, "desired": 2}
        assert "replace the 2 running tasks of shop-prod/shop-prod-api" in plan.preview.summary
        # Not destructive: the service it redeploys, never a bare yes.
        assert plan.confirmation_word() == "shop-prod-api"
        for wrong in (None, "yes"):
            with pytest.raises(ConfirmationRequired, match="type 'shop-prod-api' to run it"):
                await provider.run_action(plan, confirmation=wrong)
        outcome = await provider.run_action(plan, confirmation="shop-prod-api")
    assert outcome.ok, outcome.summary
    assert "new deployment" in outcome.summary


async def test_set_desired_count_previews_current_to_new(aws: MotoAws) -> None:
    aws.ecs_stack(desired=2, running=2)
    async with opened(aws) as provider:
        plan = await provider.plan_action("ecs.set_desired_count", {**SERVICE_CALL, "count": 4})
        assert "2 -> 4" in plan.preview.summary
        assert plan.preview.counts == {"current": 2, "new": 4}
        assert plan.confirmation_word() == "shop-prod-api"
        for wrong in ("no", "yes"):
            with pytest.raises(ConfirmationRequired, match="type 'shop-prod-api' to run it"):
                await provider.run_action(plan, confirmation=wrong)
        unchanged = await provider.run_check(CheckCall("ecs.service_counts", SERVICE_CALL))
        assert unchanged.facts["desired"] == 2
        outcome = await provider.run_action(plan, confirmation="shop-prod-api")
        assert outcome.ok, outcome.summary
        after = await provider.run_check(CheckCall("ecs.service_counts", SERVICE_CALL))
    assert after.facts["desired"] == 4
    assert after.status is CheckStatus.WARN  # 2 of 4 running now


async def test_stop_task_is_destructive_and_needs_the_target_and_task_id(aws: MotoAws) -> None:
    stack = aws.ecs_stack(desired=1, running=1)
    task_id = stack.running[0].rsplit("/", 1)[-1]
    async with opened(aws) as provider:
        plan = await provider.plan_action(
            "ecs.stop_task", {"cluster": stack.cluster, "task": task_id}
        )
        assert plan.preview.destructive and plan.preview.target == task_id
        assert "service:shop-prod-api" in plan.preview.summary
        # Destructive: the target's name with the task id; the bare task id is not enough.
        assert plan.confirmation_word() == f"prod/{task_id}"
        for wrong in (None, "yes", task_id, f"staging/{task_id}"):
            with pytest.raises(ConfirmationRequired, match=f"type 'prod/{task_id}' to run it"):
                await provider.run_action(plan, confirmation=wrong)
        running = await provider.run_check(CheckCall("ecs.stopped_tasks", SERVICE_CALL))
        assert running.facts["count"] == 0
        outcome = await provider.run_action(plan, confirmation=f"prod/{task_id}")
        assert outcome.ok, outcome.summary
        stopped = await provider.run_check(CheckCall("ecs.stopped_tasks", SERVICE_CALL))
    assert stopped.facts["count"] == 1
    assert stopped.facts["latest"]["stopped_reason"] == "stopped with triage"
