"""The api container outgrows its 512 MiB: ECS stops the task (OutOfMemoryError, exit 137) and
starts another, again and again; the running-task alarm pages."""

from bench.diagnosis import faults_aws_compose as f
from bench.diagnosis.scenario import Scenario


def make(env):  # type: ignore[no-untyped-def]
    stack = f.ecs_service(env)
    f.secret_readable(stack)
    killed = [stack.running[0], *(f.new_task(stack) for _ in range(3))]
    f.stop(
        stack,
        killed,
        stop_code="EssentialContainerExited",
        reason="Essential container in task exited",
        container_reason="OutOfMemoryError: Container killed due to memory usage",
        exit_code=137,
        minutes_apart=9,
    )
    for index, arn in enumerate(killed):
        minutes = index * 9 + 1
        f.api_logs(
            stack,
            arn,
            [
                f"{f.log_time(minutes + 7)} INFO  shop.api: listening on 0.0.0.0:8080",
                f"{f.log_time(minutes + 2)} INFO  shop.api.reports: building export for "
                "tenant 311 (184,220 orders)",
                f"{f.log_time(minutes)} WARN  shop.api.reports: export buffer at 471 MiB",
            ],
            minutes_ago=minutes + 7,
        )
    f.service_metrics(
        stack,
        cpu=[31, 35, 38, 36, 41, 39, 44, 40, 37, 42],
        memory=[71, 78, 86, 93, 99.8, 62, 74, 88, 97, 99.6],
    )
    f.counts(stack, running=1)
    s = f.ECS_SERVICE
    f.events(
        stack,
        f"(service {s}) has started 1 tasks: (task {f.task_id(killed[0])}).",
        f"(service {s}) has started 1 tasks: (task {f.task_id(killed[1])}).",
        f"(service {s}) has started 1 tasks: (task {f.task_id(killed[2])}).",
    )
    f.alarm(
        stack,
        "shop-prod-api-running-tasks",
        namespace="ECS/ContainerInsights",
        metric="RunningTaskCount",
        dimensions={"ClusterName": f.CLUSTER, "ServiceName": s},
        comparison="LessThanThreshold",
        threshold=2,
        statistic="Minimum",
        periods=2,
        state="ALARM",
        reason="Threshold Crossed: 2 out of the last 2 datapoints [1.0, 1.0] were less than the "
        "threshold (2.0) (minimum 2 datapoints for OK -> ALARM transition).",
    )


SCENARIO = Scenario(
    symptom=(
        'ALARM: "shop-prod-api-running-tasks" in US East (N. Virginia)\n'
        "shop-prod-api RunningTaskCount < 2 for 2 datapoints within 2 minutes"
    ),
    style="alert",
    kind="ecs",
    expected=(
        "shop-prod-api's api container runs out of memory (OutOfMemoryError: Container killed "
        "due to memory usage, exit 137) and ECS keeps replacing the task"
    ),
    accept=(
        ("ecs-tasks-restarting", "out-of-memory"),
        ("ecs-tasks-failing-to-start", "insufficient-resources"),
    ),
    about="shop-prod-api",
    make=make,
)
