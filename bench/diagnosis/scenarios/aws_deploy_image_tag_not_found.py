"""A deploy asks for shop-api:1.4.3, a tag nobody pushed (ECR holds 1.4.2 and 1.4.3-rc1): the
new tasks stop before they start, the old ones keep serving. The operator pastes the stopped
task's reason as the CLI prints it."""

from bench.diagnosis import faults_aws_compose as f
from bench.diagnosis.scenario import Scenario

PULL = (
    "CannotPullContainerError: pull image manifest has been retried 7 time(s): failed to "
    "resolve ref {image}: {image}: not found"
)


def make(env):  # type: ignore[no-untyped-def]
    stack = f.ecs_service(env)
    f.secret_readable(stack)
    f.ecr_images(stack, "1.4.1", "1.4.2", "1.4.3-rc1")
    revision = f.new_revision(stack, "1.4.3")
    old = list(stack.running)
    failed = [f.new_task(stack, revision) for _ in range(3)]
    image = f"{f.REGISTRY}/{f.REPOSITORY}:1.4.3"
    f.stop(
        stack,
        failed,
        stop_code="TaskFailedToStart",
        reason=PULL.format(image=image),
        minutes_apart=3,
    )
    stack.running = old
    f.deploy(stack, revision, rollout="IN_PROGRESS", running=0, failed=3)
    f.counts(stack, running=2)
    s = f.ECS_SERVICE
    f.events(
        stack,
        f"(service {s}) has started 1 tasks: (task {f.task_id(failed[0])}).",
        f"(service {s}) has started 1 tasks: (task {f.task_id(failed[1])}).",
        f"(service {s}) has started 1 tasks: (task {f.task_id(failed[2])}).",
        f"(service {s}) has reached a steady state.",
    )
    env.values["task"] = f.task_id(failed[0])
    env.values["image"] = image


SCENARIO = Scenario(
    symptom=(
        "$ aws ecs describe-tasks --cluster shop-prod --tasks {task} "
        "--query 'tasks[0].[lastStatus,stopCode,stoppedReason]'\n"
        "[\n"
        '    "STOPPED",\n'
        '    "TaskFailedToStart",\n'
        '    "CannotPullContainerError: pull image manifest has been retried 7 time(s): failed '
        'to resolve ref {image}: {image}: not found"\n'
        "]"
    ),
    style="paste",
    kind="ecs",
    expected=(
        "the new task definition of shop-prod-api asks for the image tag shop-api:1.4.3, which "
        "does not exist in ECR: the image cannot be pulled"
    ),
    accept=(("ecs-tasks-failing-to-start", "image-pull"),),
    about="shop-prod-api",
    make=make,
)
