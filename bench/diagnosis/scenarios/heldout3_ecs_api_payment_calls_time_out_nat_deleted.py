"""A cost clean-up script went through the account this morning deleting NAT gateways it judged
idle, and it took the one shop-prod's private subnet routes its internet traffic through. The
route table's default route still names the deleted gateway (a blackhole). The api's tasks run,
pass their health checks and serve everything that stays inside the VPC, but every call they
make to the outside (the payment provider, the e-mail API) times out: checkout fails at the
payment step. The payment provider's status page is green. The operator describes it, with one
line from the api's log."""

from bench.diagnosis import faults_aws_compose as f
from bench.diagnosis.faults_heldout3 import nat_gateway_deleted
from bench.diagnosis.scenario import Scenario

TIMEOUT = (
    "ERROR shop.api.payments: charge for order 118460 failed: "
    "ConnectTimeout: HTTPSConnectionPool(host='api.stripe.com', port=443): Max retries exceeded "
    "with url: /v1/payment_intents (Caused by ConnectTimeoutError(<urllib3.connection."
    "HTTPSConnection object at 0x7f3a2c1b9d50>, 'Connection to api.stripe.com timed out. "
    "(connect timeout=10)'))"
)


def make(env):  # type: ignore[no-untyped-def]
    stack = f.ecs_service(env)
    f.secret_readable(stack)
    nat_gateway_deleted(stack.aws, stack.vpc_id)
    for arn in stack.running:
        f.api_logs(
            stack,
            arn,
            [
                f"{f.log_time(300)} INFO  shop.api: starting shop-api 1.4.2 (env=prod, workers=4)",
                f"{f.log_time(300)} INFO  shop.api.db: connected to the database (pool 10)",
                f"{f.log_time(300)} INFO  shop.api: listening on 0.0.0.0:8080",
            ],
            minutes_ago=300,
        )
        f.api_logs(
            stack,
            arn,
            [
                f"{f.log_time(4)} INFO  shop.api: POST /v1/checkout order=118460",
                f"{f.log_time(4, 30)} {TIMEOUT}",
                f"{f.log_time(4, 30)} ERROR shop.api.mail: order confirmation for 118455 not "
                "sent: ConnectTimeout: Connection to api.sendgrid.com timed out. (connect "
                "timeout=10)",
                f"{f.log_time(3)} INFO  shop.api: GET /health 200",
            ],
            minutes_ago=4,
        )


SCENARIO = Scenario(
    symptom=(
        "prod checkout fails at the payment step since late this morning. api tasks are up "
        "and healthy, nothing deployed, stripe's status page is green. the api log just keeps "
        "saying\n"
        f"{TIMEOUT}"
    ),
    style="vague",
    kind="ecs",
    expected=(
        "shop-prod's NAT gateway was deleted: the private subnet's default route points at it "
        "(blackhole), so the api's tasks cannot reach anything outside the VPC (the payment "
        "provider's API times out)"
    ),
    accept=(
        ("ecs-nat-egress", "nat-gateway-missing-or-failed"),
        ("ecs-nat-egress", "route-blackhole"),
    ),
    make=make,
)
