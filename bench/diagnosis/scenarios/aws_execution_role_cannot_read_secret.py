"""This morning's terraform apply re-created the task execution role without its policy: tasks
cannot read the database secret at start and stop (ResourceInitializationError). The operator
only knows that the API is down since the apply."""

from bench.diagnosis import faults_aws_compose as f
from bench.diagnosis.scenario import Scenario

SECRETS = (
    "ResourceInitializationError: unable to pull secrets or registry auth: execution resource "
    "retrieval failed: unable to retrieve secret from asm: service call has been retried 1 "
    "time(s): failed to fetch secret {arn} from secrets manager: AccessDeniedException: User: "
    "arn:aws:sts::123456789012:assumed-role/{role}/5b0e6f1c0a7d4d2f9c3e8a1b2c4d6e8f is not "
    "authorized to perform: secretsmanager:GetSecretValue on resource: {arn} because no "
    "identity-based policy allows the secretsmanager:GetSecretValue action status code: 400, "
    "request id: 0c9e4f4a-3f1d-4c55-8a55-1f2b7c0d9e21"
)


def make(env):  # type: ignore[no-untyped-def]
    stack = f.ecs_service(env)
    f.secret_readable(stack, allowed=False)  # the role exists, with no policy that allows it
    failed = [*stack.running, *(f.new_task(stack) for _ in range(4))]
    f.stop(
        stack,
        failed,
        stop_code="TaskFailedToStart",
        reason=SECRETS.format(arn=f.SECRET_ARN, role=f.EXECUTION_ROLE),
        minutes_apart=2,
    )
    f.counts(stack, running=0)
    s = f.ECS_SERVICE
    f.events(
        stack,
        f"(service {s}) has started 2 tasks: (task {f.task_id(failed[0])}) "
        f"(task {f.task_id(failed[1])}).",
        f"(service {s}) has started 2 tasks: (task {f.task_id(failed[2])}) "
        f"(task {f.task_id(failed[3])}).",
        f"(service {s}) has started 2 tasks: (task {f.task_id(failed[4])}) "
        f"(task {f.task_id(failed[5])}).",
    )


SCENARIO = Scenario(
    symptom=(
        "the api on prod is down since this morning's terraform apply, ECS keeps trying to "
        "start tasks and none of them stays up"
    ),
    style="vague",
    kind="ecs",
    expected=(
        "the task execution role shop-prod-api-execution is not allowed "
        "secretsmanager:GetSecretValue on shop/prod/db: tasks cannot read their secrets at start "
        "(ResourceInitializationError)"
    ),
    accept=(("ecs-tasks-failing-to-start", "secrets-unreadable"),),
    about="shop-prod-api",
    make=make,
)
