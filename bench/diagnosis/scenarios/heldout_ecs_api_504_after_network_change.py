"""This afternoon's network clean-up (terraform) removed the rule of the tasks' security group that
let the ALB in on port 8080. The api's tasks run and are fine, but nothing reaches them: the
ALB's requests and health checks time out, every target is unhealthy, ECS replaces tasks that
were never sick, and every request through the ALB ends in a 504. The operator describes it."""

from bench.diagnosis import faults_aws_compose as f
from bench.diagnosis.scenario import Scenario
from tests.servers.http import Route

AWSELB_504 = (
    "<html>\r\n<head><title>504 Gateway Time-out</title></head>\r\n<body>\r\n"
    "<center><h1>504 Gateway Time-out</h1></center>\r\n</body>\r\n</html>\r\n"
)
HEALTH = ("unhealthy", "Target.Timeout", "Request timed out")


def make(env):  # type: ignore[no-untyped-def]
    stack = f.ecs_service(env)
    f.secret_readable(stack)
    lb = f.load_balancer(stack, health=HEALTH, register=False)
    # The rule the ALB needed, gone with the clean-up.
    stack.aws.client("ec2").revoke_security_group_ingress(
        GroupId=stack.security_group,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 8080,
                "ToPort": 8080,
                "UserIdGroupPairs": [{"GroupId": lb.security_group}],
            }
        ],
    )
    group = lb.target_group
    replaced = [stack.running[0], f.new_task(stack)]
    f.stop(
        stack,
        replaced,
        stop_code="ServiceSchedulerInitiated",
        reason=f"Task failed ELB health checks in (target-group {group})",
        exit_code=143,
        minutes_apart=7,
    )
    current = f.new_task(stack)
    f.register_running(stack, lb)
    f.counts(stack, running=2)
    for arn in stack.running:
        f.api_logs(
            stack,
            arn,
            [
                f"{f.log_time(6)} INFO  shop.api: starting shop-api 1.4.2 (env=prod, workers=4)",
                f"{f.log_time(6)} INFO  shop.api.db: connected to the database (pool 10)",
                f"{f.log_time(6)} INFO  shop.api: listening on 0.0.0.0:8080",
            ],
            minutes_ago=6,
        )
    s = f.ECS_SERVICE
    f.events(
        stack,
        f"(service {s}) (task {f.task_id(current)}) (port 8080) is unhealthy in (target-group "
        f"{group}) due to (reason Request timed out).",
        f"(service {s}) registered 1 targets in (target-group {group})",
        f"(service {s}) has started 1 tasks: (task {f.task_id(current)}).",
        f"(service {s}) has stopped 1 running tasks: (task {f.task_id(replaced[0])}).",
        f"(service {s}) deregistered 1 targets in (target-group {group})",
        f"(service {s}) (task {f.task_id(replaced[0])}) (port 8080) is unhealthy in "
        f"(target-group {group}) due to (reason Request timed out).",
    )
    routes = {
        path: Route(
            504,
            AWSELB_504,
            headers={"Server": "awselb/2.0", "Content-Type": "text/html"},
            delay=1.5,
        )
        for path in ("/", "/health", "/v1/products")
    }
    site = f.http_site(env, routes)
    env.targets["shop-alb"] = {"kind": "http", "name": "shop-alb", "url": site.url("/v1/products")}


SCENARIO = Scenario(
    symptom=(
        "prod api is down since around 15:30: every call hangs for a while and then the load "
        "balancer gives back a 504 Gateway Time-out. ECS says the service has its 2 tasks "
        "running and their logs look normal"
    ),
    style="vague",
    kind="ecs",
    expected=(
        "shop-prod-api's tasks' security group no longer admits the ALB on port 8080: the ALB's "
        "requests and health checks to the tasks time out (504, every target unhealthy with "
        "Target.Timeout)"
    ),
    accept=(("ecs-alb-5xx", "security-group-blocks-alb"),),
    about="shop-prod-api",
    make=make,
)
