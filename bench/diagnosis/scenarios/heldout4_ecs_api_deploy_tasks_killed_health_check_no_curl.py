"""shop-api 1.5.0 moved to a slimmer base image (python:3.12-slim), which has no curl. The task
definition's container health check is still `curl -f http://localhost:8080/health || exit 1`:
in the new tasks the command is not found, every probe fails, and once the start period is over
ECS marks the container UNHEALTHY and stops the task ("Task failed container health checks"),
then starts another, which meets the same fate. The application itself starts cleanly and logs
nothing wrong; the 1.4.2 tasks of the old deployment keep serving, and the rollout never
completes. The operator describes it."""

from bench.diagnosis import faults_aws_compose as f
from bench.diagnosis.faults_heldout4 import failed_container_health
from bench.diagnosis.scenario import Scenario

STARTS = (41, 36, 31, 26, 21, 16, 11)  # minutes ago, one new task every five minutes


def make(env):  # type: ignore[no-untyped-def]
    stack = f.ecs_service(env)
    f.secret_readable(stack)
    f.ecr_images(stack, "1.4.1", "1.4.2", "1.5.0")
    revision = f.new_revision(stack, "1.5.0")
    old = list(stack.running)
    started = [f.new_task(stack, revision) for _ in STARTS]
    killed, current = started[:-1], started[-1]
    # Newest first: each ran its start period and three failed probes, about 2.5 minutes.
    failed_container_health(stack, list(reversed(killed)), minutes_apart=5)
    stack.running = [*old, current]
    for arn, minutes in zip(started, STARTS, strict=True):
        f.api_logs(
            stack,
            arn,
            [
                f"{f.log_time(minutes)} INFO  shop.api: starting shop-api 1.5.0 (env=prod, "
                "workers=4)",
                f"{f.log_time(minutes, 2)} INFO  shop.api.db: connected to the database (pool 10)",
                f"{f.log_time(minutes, 3)} INFO  uvicorn.error: Uvicorn running on "
                "http://0.0.0.0:8080 (Press CTRL+C to quit)",
            ]
            + (
                [
                    f"{f.log_time(minutes - 2.5)} INFO  uvicorn.error: Shutting down",
                    f"{f.log_time(minutes - 2.5, 1)} INFO  uvicorn.error: Finished server "
                    "process [1]",
                ]
                if arn != current
                else []
            ),
            minutes_ago=minutes,
        )
    f.deploy(stack, revision, rollout="IN_PROGRESS", running=1, failed=len(killed))
    f.counts(stack, running=3)
    s = f.ECS_SERVICE
    messages = []
    for arn in reversed(started):
        messages.append(f"(service {s}) has started 1 tasks: (task {f.task_id(arn)}).")
        if arn != current:
            messages.insert(
                len(messages) - 1,
                f"(service {s}) (task {f.task_id(arn)}) failed container health checks.",
            )
    f.events(stack, *messages)


SCENARIO = Scenario(
    symptom=(
        "the shop-api 1.5.0 deploy started 40 min ago and still isn't done. new tasks come "
        "up, start clean (connected to db, uvicorn running), and a couple of minutes later ECS "
        "stops them and starts another one. their logs have no errors and no OOM. the 1.4.2 "
        "tasks are still up so customers are fine, but why does ECS keep killing the new ones?"
    ),
    style="vague",
    kind="ecs",
    expected=(
        "the new tasks fail their container health check: it runs curl, which the 1.5.0 image "
        "(python:3.12-slim) does not have, so ECS marks the container UNHEALTHY and stops each "
        "task (Task failed container health checks)"
    ),
    accept=(("ecs-tasks-restarting", "container-health-checks"),),
    about="shop-prod-api",
    make=make,
)
