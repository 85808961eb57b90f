"""Healthy: the 14:05 deploy of 1.4.3 replaced both tasks; the old ones stopped as a rolling
deployment stops them, the rollout completed, targets are healthy, CPU and memory are normal."""

from bench.diagnosis import faults_aws_compose as f
from bench.diagnosis.scenario import Scenario


def make(env):  # type: ignore[no-untyped-def]
    stack = f.ecs_service(env)
    f.secret_readable(stack)
    f.ecr_images(stack, "1.4.2", "1.4.3")
    revision = f.new_revision(stack, "1.4.3")
    old = list(stack.running)
    f.stop(
        stack,
        old,
        stop_code="ServiceSchedulerInitiated",
        reason="Scaling activity initiated by (deployment ecs-svc/4811223395017341112)",
        exit_code=0,
        minutes_apart=1,
    )
    new = [f.new_task(stack, revision) for _ in range(2)]
    f.load_balancer(stack, health_path="/health")
    f.deploy(stack, revision, rollout="COMPLETED", running=2)
    f.counts(stack, running=2)
    f.service_metrics(
        stack,
        cpu=[31, 33, 30, 44, 38, 29, 31, 30, 32, 28],
        memory=[47, 47, 48, 52, 41, 42, 43, 43, 44, 44],
    )
    for arn in new:
        f.api_logs(
            stack,
            arn,
            [
                f"{f.log_time(20)} INFO  shop.api: starting shop-api 1.4.3 (env=prod, workers=4)",
                f"{f.log_time(20)} INFO  shop.api: listening on 0.0.0.0:8080",
                f"{f.log_time(1)} INFO  shop.api.access: GET /health 200 2ms",
            ],
            minutes_ago=20,
        )
    s = f.ECS_SERVICE
    f.events(
        stack,
        f"(service {s}) has reached a steady state.",
        f"(service {s}) (deployment ecs-svc/4811223395017341112) deployment completed.",
        f"(service {s}) has stopped 2 running tasks: (task {f.task_id(old[0])}) "
        f"(task {f.task_id(old[1])}).",
        f"(service {s}) has started 2 tasks: (task {f.task_id(new[0])}) "
        f"(task {f.task_id(new[1])}).",
    )
    f.alarm(
        stack,
        "shop-prod-api-cpu-high",
        namespace="AWS/ECS",
        metric="CPUUtilization",
        dimensions={"ClusterName": f.CLUSTER, "ServiceName": s},
        comparison="GreaterThanThreshold",
        threshold=85,
        state="OK",
        reason="Threshold Crossed: 3 out of the last 3 datapoints were not greater than the "
        "threshold (85.0).",
    )


SCENARIO = Scenario(
    symptom="the 14:05 deploy of shop-prod-api replaced both tasks, did it go through fine?",
    style="question",
    kind="ecs",
    expected="nothing: the rollout completed, 2 of 2 tasks run healthy behind the ALB",
    make=make,
)
