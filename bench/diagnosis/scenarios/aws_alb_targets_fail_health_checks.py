"""The ALB's target group checks /healthz, which the api does not serve (it answers /health):
every target is unhealthy and ECS keeps replacing the tasks. The unhealthy-hosts alarm pages."""

from bench.diagnosis import faults_aws_compose as f
from bench.diagnosis.scenario import Scenario

HEALTH = (
    "unhealthy",
    "Target.ResponseCodeMismatch",
    "Health checks failed with these codes: [404]",
)


def make(env):  # type: ignore[no-untyped-def]
    stack = f.ecs_service(env)
    f.secret_readable(stack)
    lb = f.load_balancer(stack, health_path="/healthz", health=HEALTH, register=False)
    group = lb.target_group
    failed = [stack.running[0], f.new_task(stack), f.new_task(stack)]
    f.stop(
        stack,
        failed,
        stop_code="ServiceSchedulerInitiated",
        reason=f"Task failed ELB health checks in (target-group {group})",
        exit_code=143,
        minutes_apart=6,
    )
    replacement = f.new_task(stack)
    f.register_running(stack, lb)
    f.counts(stack, running=2)
    s = f.ECS_SERVICE
    f.events(
        stack,
        f"(service {s}) registered 1 targets in (target-group {group})",
        f"(service {s}) has started 1 tasks: (task {f.task_id(replacement)}).",
        f"(service {s}) deregistered 1 targets in (target-group {group})",
        f"(service {s}) has stopped 1 running tasks: (task {f.task_id(failed[0])}).",
        f"(service {s}) (task {f.task_id(failed[0])}) (port 8080) is unhealthy in (target-group "
        f"{group}) due to (reason Health checks failed with these codes: [404]).",
    )
    f.alarm(
        stack,
        "shop-api-unhealthy-hosts",
        namespace="AWS/ApplicationELB",
        metric="UnHealthyHostCount",
        dimensions={
            "TargetGroup": "targetgroup/" + group.split(":targetgroup/")[-1],
            "LoadBalancer": "app/" + lb.arn.split(":loadbalancer/app/")[-1],
        },
        comparison="GreaterThanThreshold",
        threshold=0,
        statistic="Maximum",
        state="ALARM",
        reason="Threshold Crossed: 3 out of the last 3 datapoints [2.0 (08/12/26 10:14:00), "
        "2.0 (08/12/26 10:13:00), 1.0 (08/12/26 10:12:00)] were greater than the threshold (0.0) "
        "(minimum 3 datapoints for OK -> ALARM transition).",
    )


SCENARIO = Scenario(
    symptom=(
        'ALARM: "shop-api-unhealthy-hosts" in US East (N. Virginia)\n'
        "TargetGroup UnHealthyHostCount > 0 for 3 datapoints within 3 minutes"
    ),
    style="alert",
    kind="ecs",
    expected=(
        "the ALB target group shop-api health-checks /healthz, which the api answers with 404: "
        "every target fails the health check and ECS replaces shop-prod-api's tasks"
    ),
    accept=(
        ("ecs-tasks-restarting", "load-balancer-health-checks"),
        ("ecs-alb-5xx", "all-targets-unhealthy"),
    ),
    about="shop-prod-api",
    make=make,
)
