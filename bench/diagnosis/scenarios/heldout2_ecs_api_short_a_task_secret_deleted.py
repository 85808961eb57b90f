"""Yesterday evening someone tidying Secrets Manager scheduled `shop/prod/db` for deletion (7-day
recovery window), taking it for a leftover of the old staging account. Running tasks had read it
at start and carried on. A few hours ago Fargate retired one of the two tasks (platform
maintenance) and ECS started a replacement; every replacement since fails before its container
starts: the agent cannot fetch a secret marked for deletion (ResourceInitializationError ...
InvalidRequestException). The service runs on one task of two. Nobody deployed. The operator
describes what they see."""

from datetime import UTC, datetime, timedelta

from bench.diagnosis import faults_aws_compose as f
from bench.diagnosis.scenario import Scenario

MARKED = (
    "ResourceInitializationError: unable to pull secrets or registry auth: execution resource "
    "retrieval failed: unable to retrieve secret from asm: service call has been retried 1 "
    "time(s): failed to fetch secret {arn} from secrets manager: InvalidRequestException: You "
    "can't perform this operation on the secret because it was marked for deletion. status "
    "code: 400, request id: {request}"
)


def make(env):  # type: ignore[no-untyped-def]
    stack = f.ecs_service(env)
    f.secret_readable(stack)
    stack.aws.client("secretsmanager").delete_secret(SecretId=f.SECRET_NAME, RecoveryWindowInDays=7)
    described = stack.aws.client("secretsmanager").describe_secret(SecretId=f.SECRET_NAME)
    if "DeletedDate" not in described:
        raise AssertionError("the secret is not scheduled for deletion")
    survivor, replaced = stack.running[0], stack.running[1]
    f.stop(
        stack,
        [replaced],
        stop_code="ServiceSchedulerInitiated",
        reason="ECS is performing maintenance on the underlying infrastructure hosting the task",
        exit_code=0,
    )
    retired = stack.aws._task(f.CLUSTER, replaced)
    retired.stopped_at = datetime.now(UTC) - timedelta(hours=3, minutes=40)
    failed = [f.new_task(stack) for _ in range(5)]
    now = datetime.now(UTC)
    for index, arn in enumerate(failed):  # newest first, each with the agent's own request id
        f.stop(
            stack,
            [arn],
            stop_code="TaskFailedToStart",
            reason=MARKED.format(
                arn=f.SECRET_ARN, request=f"5c2d8e1a-7b40-4f6e-9a3d-{index:04d}e1f7c2b8"
            ),
        )
        stack.aws._task(f.CLUSTER, arn).stopped_at = now - timedelta(minutes=6 * index)
    f.counts(stack, running=1)
    f.api_logs(
        stack,
        survivor,
        [
            f"{f.log_time(1)} INFO  shop.api.access: GET /v1/products 200 41ms",
            f"{f.log_time(1)} INFO  shop.api.access: POST /v1/cart 201 63ms",
        ],
    )
    s = f.ECS_SERVICE
    f.events(
        stack,
        f"(service {s}) is unable to consistently start tasks successfully. For more "
        "information, see the Troubleshooting section of the Amazon ECS Developer Guide.",
        f"(service {s}) has started 1 tasks: (task {f.task_id(failed[0])}).",
        f"(service {s}) has started 1 tasks: (task {f.task_id(failed[1])}).",
        f"(service {s}) has started 1 tasks: (task {f.task_id(failed[2])}).",
        f"(service {s}) has stopped 1 running tasks: (task {f.task_id(replaced)}).",
    )


SCENARIO = Scenario(
    symptom=(
        "prod api has been running on one task instead of two for a few hours now. ECS "
        "keeps starting a second one and it dies before the app logs a single line. nobody "
        "deployed anything since tuesday"
    ),
    style="vague",
    kind="ecs",
    expected=(
        "the database secret shop/prod/db is scheduled for deletion: new tasks of "
        "shop-prod-api cannot fetch it at start (ResourceInitializationError, "
        "InvalidRequestException: marked for deletion) and stop, so only the one task started "
        "before survives"
    ),
    accept=(
        ("ecs-tasks-failing-to-start", "secret-missing"),
        ("aws-secret-scheduled-for-deletion", "scheduled-for-deletion"),
    ),
    make=make,
)
