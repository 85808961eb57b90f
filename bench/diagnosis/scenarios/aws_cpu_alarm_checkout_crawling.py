"""Since 14:00 the api's two tasks run at 97-99 % CPU (a sale started, nobody scaled out); the
CPU alarm is firing. The operator only hears that checkout crawls."""

from bench.diagnosis import faults_aws_compose as f
from bench.diagnosis.scenario import Scenario


def make(env):  # type: ignore[no-untyped-def]
    stack = f.ecs_service(env)
    f.secret_readable(stack)
    f.load_balancer(stack)
    f.service_metrics(
        stack,
        cpu=[34, 36, 33, 41, 58, 77, 91, 96, 98, 97, 99, 98, 99, 97, 98],
        memory=[52, 52, 53, 53, 55, 57, 58, 60, 61, 61, 62, 62, 63, 62, 63],
    )
    for index, arn in enumerate(stack.running):
        f.api_logs(
            stack,
            arn,
            [
                f"{f.log_time(3)} INFO  shop.api.access: POST /v1/checkout 200 8412ms",
                f"{f.log_time(2)} INFO  shop.api.access: GET /v1/cart 200 5120ms",
                f"{f.log_time(1)} WARN  shop.api.server: worker busy, request queued "
                f"{14 + index} s",
            ],
            minutes_ago=3,
        )
    f.alarm(
        stack,
        "shop-prod-api-cpu-high",
        namespace="AWS/ECS",
        metric="CPUUtilization",
        dimensions={"ClusterName": f.CLUSTER, "ServiceName": f.ECS_SERVICE},
        comparison="GreaterThanThreshold",
        threshold=85,
        state="ALARM",
        reason="Threshold Crossed: 3 out of the last 3 datapoints [98.4, 97.1, 99.0] were "
        "greater than the threshold (85.0) (minimum 3 datapoints for OK -> ALARM transition).",
    )


SCENARIO = Scenario(
    symptom="checkout on prod has been crawling since 14:00, pages take ten seconds to load",
    style="vague",
    kind="ecs",
    expected=(
        "shop-prod-api's tasks are CPU-saturated (CPUUtilization 97-99 %, the "
        "shop-prod-api-cpu-high alarm is firing): too few tasks for the load"
    ),
    accept=(("ecs-slow-performance", "cpu-saturated"),),
    about="shop-prod-api",
    make=make,
)
