"""What a stopped ECS task's reasons and a service's numbers mean.

The tasks are shaped as `aws ecs describe-tasks` (boto3) returns a stopped one: its stopCode
(TaskFailedToStart, EssentialContainerExited, ServiceSchedulerInitiated, SpotInterruption,
UserInitiated, TerminationNotice), its stoppedReason, and each container's name, exitCode and
reason; the services as `describe-services` returns them, newest event first.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from providers.contract import Health
from providers.ecs_classify import (
    BENIGN_CLASSES,
    STOP_CLASSES,
    StopReason,
    classify,
    event_problems,
    service_state,
)

ARN = "arn:aws:ecs:eu-west-1:123456789012:task/shop-prod/5c1f1b7e0a1c4b0f9d5e3a2b1c0d9e8f"
TASK_ID = "5c1f1b7e0a1c4b0f9d5e3a2b1c0d9e8f"
STOPPED_AT = datetime(2024, 5, 14, 9, 12, 30, tzinfo=UTC)
TARGET_GROUP = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/shop-api/6d0ecf83"

PULL = (
    "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve "
    "ref 123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-api:v2.4.1: not found"
)
PULL_FORBIDDEN = (
    "CannotPullContainerError: ref pull has been retried 1 time(s): failed to pull and unpack "
    'image "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-api:v2.4.1": failed to resolve '
    "reference: unexpected status code 403 Forbidden"
)
SECRETS_ASM = (
    "ResourceInitializationError: unable to pull secrets or registry auth: execution resource "
    "retrieval failed: unable to retrieve secret from asm: service call has been retried 1 "
    "time(s): failed to fetch secret arn:aws:secretsmanager:eu-west-1:123456789012:secret:"
    "prod/db-AbCdEf from secrets manager: AccessDeniedException"
)
SECRETS_SSM = (
    "ResourceInitializationError: unable to pull secrets or registry auth: execution resource "
    "retrieval failed: unable to retrieve secrets from ssm: service call has been retried 1 "
    "time(s): AccessDeniedException: not authorized to perform: ssm:GetParameters"
)
REGISTRY_AUTH = (
    "ResourceInitializationError: unable to pull secrets or registry auth: execution resource "
    "retrieval failed: unable to retrieve ecr registry auth: service call has been retried 3 "
    'time(s): RequestError: send request failed caused by: Post "https://api.ecr.eu-west-1.'
    'amazonaws.com/": dial tcp 10.0.12.7:443: i/o timeout'
)
PULL_COMMAND = (
    "ResourceInitializationError: unable to pull secrets or registry auth: pull command failed: "
    ": signal: killed"
)
LOG_GROUP = (
    "ResourceInitializationError: failed to validate logger args: create stream has been "
    "retried 1 time(s): failed to create Cloudwatch log stream: ResourceNotFoundException: The "
    "specified log group does not exist. : exit status 1"
)
OOM = "OutOfMemoryError: Container killed due to memory usage"


def task(code: str | None, reason: str | None, *containers: dict[str, Any]) -> dict[str, Any]:
    """A stopped task of describe-tasks; a missing stopCode or stoppedReason is left out."""
    found: dict[str, Any] = {
        "taskArn": ARN,
        "lastStatus": "STOPPED",
        "desiredStatus": "STOPPED",
        "stoppedAt": STOPPED_AT,
        "containers": list(containers) or [{"name": "api", "lastStatus": "STOPPED"}],
    }
    if code is not None:
        found["stopCode"] = code
    if reason is not None:
        found["stoppedReason"] = reason
    return found


def container(name: str, exit_code: int | None = None, reason: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"name": name, "lastStatus": "STOPPED"}
    if exit_code is not None:
        found["exitCode"] = exit_code
    if reason is not None:
        found["reason"] = reason
    return found


CASES = [
    pytest.param(task("TaskFailedToStart", PULL), "image_pull", id="image-not-found"),
    pytest.param(task("TaskFailedToStart", PULL_FORBIDDEN), "image_pull", id="pull-forbidden"),
    pytest.param(
        task("TaskFailedToStart", "Task failed to start", container("api", None, PULL)),
        "image_pull",
        id="pull-error-on-the-container",
    ),
    pytest.param(task("TaskFailedToStart", SECRETS_ASM), "secrets", id="secrets-manager"),
    pytest.param(task("TaskFailedToStart", SECRETS_SSM), "secrets", id="parameter-store"),
    pytest.param(task("TaskFailedToStart", REGISTRY_AUTH), "registry_auth", id="ecr-auth"),
    pytest.param(task("TaskFailedToStart", PULL_COMMAND), "registry_auth", id="pull-cmd"),
    pytest.param(task("TaskFailedToStart", LOG_GROUP), "resource_init", id="log-group"),
    pytest.param(
        task(
            "EssentialContainerExited",
            "Essential container in task exited",
            container("api", 137, OOM),
        ),
        "out_of_memory",
        id="oom-killed",
    ),
    pytest.param(
        task(
            "EssentialContainerExited",
            "Essential container in task exited",
            container("api", 137),
        ),
        "out_of_memory",
        id="exit-137-alone",
    ),
    pytest.param(
        # the task's memory ran out before the container could report an exit code
        task(
            "EssentialContainerExited",
            "Essential container in task exited",
            container("api", None, OOM),
        ),
        "out_of_memory",
        id="oom-without-exit-code",
    ),
    pytest.param(
        task(
            "ServiceSchedulerInitiated",
            f"Task failed ELB health checks in (target-group {TARGET_GROUP})",
            container("api", 143),
        ),
        "elb_health",
        id="elb",
    ),
    pytest.param(
        task("ServiceSchedulerInitiated", "Task failed container health checks"),
        "container_health",
        id="container-health-check",
    ),
    pytest.param(
        task("TaskFailedToStart", "No Container Instances were found in your cluster."),
        "no_capacity",
        id="empty-cluster",
    ),
    pytest.param(
        task(
            "TaskFailedToStart",
            "Unable to place task: the closest matching container instance has "
            "insufficient CPU units available",
        ),
        "no_capacity",
        id="insufficient-cpu",
    ),
    pytest.param(
        task(
            "EssentialContainerExited",
            "Essential container in task exited",
            container("api", 1),
        ),
        "essential_exit",
        id="app-exited-1",
    ),
    pytest.param(
        # EventBridge task events of old carried no stopCode
        task(None, "Essential container in task exited", container("api", 1)),
        "essential_exit",
        id="no-stop-code",
    ),
    pytest.param(
        task("SpotInterruption", "Your Spot Task was interrupted."),
        "spot_interruption",
        id="fargate-spot",
    ),
    pytest.param(
        task("TerminationNotice", "Container instance draining after a Spot interruption"),
        "spot_interruption",
        id="ec2-spot-drained",
    ),
    pytest.param(
        task(
            "ServiceSchedulerInitiated",
            "Scaling activity initiated by (deployment ecs-svc/9223370485721474227)",
        ),
        "scaled_in",
        id="deployment",
    ),
    pytest.param(task("ServiceSchedulerInitiated", ""), "scaled_in", id="scheduler"),
    pytest.param(task("UserInitiated", "Task stopped by user"), "user_stopped", id="user"),
    pytest.param(
        task("UserInitiated", "rolling back the 14:02 config change"),
        "user_stopped",
        id="user-with-own-reason",
    ),
    pytest.param(
        task(
            "ServiceSchedulerInitiated",
            "ECS is performing maintenance on the underlying infrastructure hosting the task",
        ),
        "unknown",
        id="maintenance",
    ),
    pytest.param(
        task(
            "TaskFailedToStart",
            "Timeout waiting for network interface provisioning to complete.",
        ),
        "unknown",
        id="eni-timeout",
    ),
]


class TestStopClasses:
    @pytest.mark.parametrize(("stopped", "cls"), CASES)
    def test_class(self, stopped: dict[str, Any], cls: str) -> None:
        assert classify(stopped).cls == cls

    def test_every_class_has_its_meaning_and_a_case_here(self) -> None:
        # the checks show STOP_CLASSES[cls] beside a task's class and ignore the benign ones
        classes = {case.values[1] for case in CASES}
        assert classes == STOP_CLASSES.keys()
        assert classes >= BENIGN_CLASSES

    def test_a_name_holding_oom_does_not_make_a_health_check_failure_a_memory_one(self) -> None:
        reason = (
            "Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:"
            "eu-west-1:123456789012:targetgroup/chatroom-web/6d0ecf83)"
        )
        assert classify(task("ServiceSchedulerInitiated", reason)).cls == "elb_health"


class TestStopReasonFacts:
    def test_an_oom_kill_read_in_full(self) -> None:
        stopped = task(
            "EssentialContainerExited",
            "Essential container in task exited",
            container("log_router", 0),
            container("api", 137, OOM),
        )
        assert classify(stopped) == StopReason(
            task_id=TASK_ID,
            cls="out_of_memory",
            stop_code="EssentialContainerExited",
            stopped_reason="Essential container in task exited",
            container="api",
            container_reason=OOM,
            exit_code=137,
            stopped_at="2024-05-14T09:12:30+00:00",
        )

    def test_the_container_with_a_reason_explains_the_stop_before_one_that_exited(self) -> None:
        stopped = task(
            "EssentialContainerExited",
            "Essential container in task exited",
            container("datadog-agent", 143),
            container("api", 137, OOM),
        )
        reason = classify(stopped)
        assert (reason.container, reason.exit_code, reason.cls) == ("api", 137, "out_of_memory")

    def test_else_the_container_that_exited_non_zero(self) -> None:
        stopped = task(
            "EssentialContainerExited",
            "Essential container in task exited",
            container("envoy", 0),
            container("migrate"),  # never started: no exit code
            container("api", 1),
        )
        reason = classify(stopped)
        assert (reason.container, reason.exit_code, reason.container_reason) == ("api", 1, "")

    def test_else_the_first_container(self) -> None:
        stopped = task("UserInitiated", "Task stopped by user", container("api"), container("db"))
        reason = classify(stopped)
        assert (reason.container, reason.exit_code) == ("api", None)

    def test_a_task_without_containers_or_times_keeps_what_it_has(self) -> None:
        stopped = {"taskArn": ARN, "stopCode": "TaskFailedToStart", "stoppedReason": PULL}
        reason = classify(stopped)
        assert (reason.container, reason.container_reason, reason.exit_code) == ("", "", None)
        assert reason.stopped_at == ""
        assert classify({}).task_id == ""

    def test_a_stopped_time_that_is_not_a_datetime_is_left_out(self) -> None:
        stopped = task("UserInitiated", "Task stopped by user")
        stopped["stoppedAt"] = "2024-05-14T09:12:30Z"  # text, not what boto3 returns
        assert classify(stopped).stopped_at == ""

    def test_the_facts_are_every_field(self) -> None:
        stopped = task("EssentialContainerExited", "Essential container in task exited")
        stopped["containers"] = [container("api", 1)]
        assert classify(stopped).to_fact() == {
            "task_id": TASK_ID,
            "cls": "essential_exit",
            "stop_code": "EssentialContainerExited",
            "stopped_reason": "Essential container in task exited",
            "container": "api",
            "container_reason": "",
            "exit_code": 1,
            "stopped_at": "2024-05-14T09:12:30+00:00",
        }


class TestStopReasonLine:
    def test_the_line_reads_as_describe_tasks_shows_it(self) -> None:
        stopped = task(
            "EssentialContainerExited",
            "Essential container in task exited",
            container("api", 137, OOM),
        )
        assert classify(stopped).line() == (
            f"task {TASK_ID} [out_of_memory] EssentialContainerExited: Essential container in "
            f"task exited; api: exit 137 {OOM}"
        )

    def test_a_container_with_an_exit_code_and_no_reason(self) -> None:
        stopped = task("EssentialContainerExited", "Essential container in task exited")
        stopped["containers"] = [container("api", 0)]  # exit 0 is still shown
        assert classify(stopped).line() == (
            f"task {TASK_ID} [essential_exit] EssentialContainerExited: Essential container in "
            "task exited; api: exit 0"
        )

    def test_a_container_with_a_reason_and_no_exit_code(self) -> None:
        stopped = task("TaskFailedToStart", "Task failed to start", container("api", None, PULL))
        assert classify(stopped).line() == (
            f"task {TASK_ID} [image_pull] TaskFailedToStart: Task failed to start; api: {PULL}"
        )

    def test_a_container_with_neither(self) -> None:
        line = classify(task("UserInitiated", "Task stopped by user")).line()
        assert line == f"task {TASK_ID} [user_stopped] UserInitiated: Task stopped by user; api:"

    def test_without_containers_a_stop_code_or_a_reason(self) -> None:
        assert classify({"taskArn": ARN}).line() == f"task {TASK_ID} [unknown] -: -"


def service(
    running: int,
    desired: int,
    pending: int = 0,
    *,
    deployments: list[dict[str, Any]] | None = None,
    events: tuple[str, ...] = ("(service shop-api) has reached a steady state.",),
    status: str = "ACTIVE",
) -> dict[str, Any]:
    """A service of describe-services, one COMPLETED deployment unless told."""
    return {
        "serviceName": "shop-api",
        "status": status,
        "runningCount": running,
        "desiredCount": desired,
        "pendingCount": pending,
        "deployments": [deployment("PRIMARY", "COMPLETED")] if deployments is None else deployments,
        "events": [
            {"id": str(index), "createdAt": STOPPED_AT, "message": message}
            for index, message in enumerate(events)
        ],
    }


def deployment(status: str, rollout: str, failed: int = 0, why: str = "") -> dict[str, Any]:
    return {
        "id": f"ecs-svc/{status.lower()}",
        "status": status,
        "taskDefinition": "arn:aws:ecs:eu-west-1:123456789012:task-definition/shop-api:42",
        "rolloutState": rollout,
        "rolloutStateReason": why,
        "failedTasks": failed,
    }


PLACE = (
    "(service shop-api) was unable to place a task because no container instance met all of its "
    "requirements."
)
BREAKER = "ECS deployment circuit breaker: tasks failed to start."


class TestServiceState:
    def test_a_service_at_its_desired_count(self) -> None:
        state = service_state(service(3, 3))
        assert (state.health, state.reason) == (Health.OK, "3/3 running")
        assert (state.running, state.desired, state.pending) == (3, 3, 0)
        assert (state.rollout_state, state.deployments, state.failed_tasks) == ("COMPLETED", 1, 0)
        assert state.latest_event == "(service shop-api) has reached a steady state."

    def test_a_service_scaled_to_zero_is_fine(self) -> None:
        state = service_state(service(0, 0, events=()))
        assert (state.health, state.reason, state.latest_event) == (Health.OK, "0/0 running", "")

    def test_fewer_running_than_desired_is_degraded_with_the_latest_event(self) -> None:
        state = service_state(service(2, 3, 1, events=(PLACE, "(service shop-api) started 1")))
        assert state.health is Health.DEGRADED
        assert state.reason == f"2/3 running, 1 pending; latest event: {PLACE}"

    def test_none_running_is_failing_with_the_tasks_that_failed_to_start(self) -> None:
        rollout = [deployment("PRIMARY", "IN_PROGRESS", failed=4)]
        state = service_state(service(0, 2, 2, deployments=rollout, events=(PLACE,)))
        assert state.health is Health.FAILING
        assert state.reason == (
            f"0/2 running, 2 pending; 4 tasks failed to start; latest event: {PLACE}"
        )
        assert (state.rollout_state, state.failed_tasks) == ("IN_PROGRESS", 4)

    def test_a_failed_rollout_fails_the_service_even_at_full_count(self) -> None:
        rollout = [
            deployment("PRIMARY", "FAILED", failed=10, why=BREAKER),
            deployment("ACTIVE", "COMPLETED"),
        ]
        state = service_state(service(3, 3, deployments=rollout, events=()))
        assert state.health is Health.FAILING
        assert state.reason == f"3/3 running; rollout failed: {BREAKER}; 10 tasks failed to start"
        assert state.rollout_reason == BREAKER

    def test_the_rollout_is_read_from_the_primary_deployment_wherever_it_is_listed(self) -> None:
        rollout = [
            deployment("ACTIVE", "COMPLETED"),
            deployment("PRIMARY", "FAILED", failed=2, why=BREAKER),
        ]
        state = service_state(service(3, 3, deployments=rollout, events=()))
        assert (state.rollout_state, state.rollout_reason, state.failed_tasks) == (
            "FAILED",
            BREAKER,
            2,
        )

    def test_two_deployments_at_full_count_are_a_rollout_under_way(self) -> None:
        rollout = [deployment("PRIMARY", "IN_PROGRESS"), deployment("ACTIVE", "COMPLETED")]
        started = "(service shop-api) has started 3 tasks: (task 5c1f1b7e)."
        state = service_state(service(3, 3, deployments=rollout, events=(started,)))
        assert state.health is Health.DEGRADED
        assert state.reason == f"3/3 running; rolling out (2 deployments); latest event: {started}"

    def test_two_deployments_are_a_rollout_even_without_a_rollout_state(self) -> None:
        # services deployed before ECS reported rolloutState carry none
        rollout = [
            {"id": "ecs-svc/2", "status": "PRIMARY"},
            {"id": "ecs-svc/1", "status": "ACTIVE"},
        ]
        state = service_state(service(3, 3, deployments=rollout, events=()))
        assert (state.health, state.reason, state.rollout_state) == (
            Health.DEGRADED,
            "3/3 running; rolling out (2 deployments)",
            "",
        )

    def test_a_rollout_in_progress_alone_is_under_way(self) -> None:
        rollout = [deployment("PRIMARY", "IN_PROGRESS")]
        state = service_state(service(3, 3, deployments=rollout, events=()))
        assert (state.health, state.reason) == (
            Health.DEGRADED,
            "3/3 running; rolling out (1 deployment)",
        )

    def test_tasks_that_failed_on_the_way_to_a_steady_service_are_not_mentioned(self) -> None:
        rollout = [deployment("PRIMARY", "COMPLETED", failed=2)]
        state = service_state(service(3, 3, deployments=rollout))
        assert (state.health, state.reason, state.failed_tasks) == (Health.OK, "3/3 running", 2)

    @pytest.mark.parametrize("status", ["DRAINING", "INACTIVE"])
    def test_a_service_being_deleted_is_failing(self, status: str) -> None:
        state = service_state(service(0, 0, deployments=[], events=(), status=status))
        assert (state.health, state.reason) == (Health.FAILING, f"service {status}")
        assert (state.rollout_state, state.rollout_reason, state.deployments) == ("", "", 0)

    def test_a_service_without_a_status_is_read_from_its_counts(self) -> None:
        found = service(3, 3)
        del found["status"]
        assert service_state(found).health is Health.OK


class TestEventProblems:
    def test_a_steady_service_names_no_problem(self) -> None:
        assert event_problems(["(service shop-api) has reached a steady state."]) == {}
        assert event_problems([]) == {}

    def test_each_problem_is_counted_over_the_events(self) -> None:
        messages = [
            PLACE,
            "(service shop-api) was unable to place a task. Reason: Capacity is unavailable at "
            "this time. Please try again later or in a different availability zone.",
            "(service shop-api) failed to launch a task with (error ECS was unable to assume the "
            "role that was provided for this task).",
            "(service shop-api, taskSet ecs-svc/9223370485721474227) (port 8080) is unhealthy in "
            f"(target-group {TARGET_GROUP}) due to (reason Health checks failed with these "
            "codes: [502]).",
            "(service shop-api) (task 5c1f1b7e0a1c) failed container health checks.",
            "(service shop-api) (deployment ecs-svc/9223370485721474227) deployment failed: "
            "tasks failed to start.",
            "(service shop-api) rolling back to deployment ecs-svc/9223370485721470000.",
            "(service shop-api) operations are being throttled. Will try again later.",
            f"(service shop-api) failed to register targets in (target-group {TARGET_GROUP}) "
            "with (error Rate exceeded)",
            f"(service shop-api) (task 5c1f1b7e0a1c) stopped: {PULL}",
            "(service shop-api) has reached a steady state.",
        ]
        assert event_problems(messages) == {
            "unable_to_place": 2,
            "failed_to_launch": 2,
            "unhealthy_targets": 2,
            "deployment_failed": 2,
            "throttled": 2,
            "cannot_pull": 1,
        }

    def test_an_empty_cluster_is_a_placement_problem(self) -> None:
        message = "Reason: No Container Instances were found in your cluster."
        assert event_problems([message]) == {"unable_to_place": 1}

    def test_the_circuit_breaker_is_a_failed_deployment(self) -> None:
        message = f"(service shop-api) (deployment ecs-svc/1) {BREAKER}"
        assert event_problems([message]) == {"deployment_failed": 1, "failed_to_launch": 1}
