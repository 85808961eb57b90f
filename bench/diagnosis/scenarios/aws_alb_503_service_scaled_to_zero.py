"""shop-prod-api was scaled to 0 (a maintenance scale-down nobody reverted): no task runs, the
ALB's target group is empty and the ALB answers 503 itself. The operator pastes curl's answer."""

from bench.diagnosis import faults_aws_compose as f
from bench.diagnosis.scenario import Scenario
from tests.servers.http import Route

AWSELB_503 = (
    "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n"
    "<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n</body>\r\n</html>\r\n"
)


def make(env):  # type: ignore[no-untyped-def]
    stack = f.ecs_service(env)
    f.secret_readable(stack)
    lb = f.load_balancer(stack, register=False)  # ECS deregistered the stopped tasks
    stopped = list(stack.running)
    f.stop(
        stack,
        stopped,
        stop_code="ServiceSchedulerInitiated",
        reason="Scaling activity initiated by (deployment ecs-svc/7061448231562098123)",
        exit_code=0,
        minutes_apart=0,
    )
    f.counts(stack, desired=0, running=0)
    s = f.ECS_SERVICE
    f.events(
        stack,
        f"(service {s}) has reached a steady state.",
        f"(service {s}) has stopped 2 running tasks: (task {f.task_id(stopped[0])}) "
        f"(task {f.task_id(stopped[1])}).",
        f"(service {s}) deregistered 2 targets in (target-group {lb.target_group})",
    )
    # The ALB as the operator reaches it: its listener answers 503 for an empty target group.
    routes = {
        path: Route(503, AWSELB_503, headers={"Server": "awselb/2.0", "Content-Type": "text/html"})
        for path in ("/", "/health", "/v1/products")
    }
    site = f.http_site(env, routes)
    env.targets["shop-alb"] = {"kind": "http", "name": "shop-alb", "url": site.url("/v1/products")}


SCENARIO = Scenario(
    symptom=(
        "$ curl -si https://api.shop.example.com/v1/products\n"
        "HTTP/2 503\n"
        "server: awselb/2.0\n"
        "date: Tue, 08 Dec 2026 10:02:11 GMT\n"
        "content-type: text/html\n"
        "content-length: 162\n"
        "\n"
        "<html>\n"
        "<head><title>503 Service Temporarily Unavailable</title></head>\n"
        "<body>\n"
        "<center><h1>503 Service Temporarily Unavailable</h1></center>\n"
        "</body>\n"
        "</html>"
    ),
    style="paste",
    kind="ecs",
    expected=(
        "shop-prod-api has no running task (its desired count is 0): the ALB's target group "
        "shop-api is empty, so the ALB answers 503"
    ),
    accept=(("ecs-alb-5xx", "no-running-tasks"),),
    about="shop-prod-api",
    make=make,
)
