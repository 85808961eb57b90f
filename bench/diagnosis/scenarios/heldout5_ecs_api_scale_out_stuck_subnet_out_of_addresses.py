"""shop-prod-api runs in one private subnet, 10.0.1.0/24, which the data team's new nightly
export (an AWS Glue job with 240 workers, pointed at "the shop's private subnet" because its
source is the shop's database) now shares: each Glue worker holds a network interface, and
while the job runs, which this week is well into the morning, they hold every address the
subnet had left. At 09:00 the service was scaled from 2 to 6 tasks for the sale. Every new
Fargate task needs an address of its own in that subnet: ECS creates them and each one stops
before it starts (the ENI cannot be created: no free address), again and again. The two tasks
that already had addresses keep serving, slowly, under the sale's traffic. Nothing was deployed;
the image, the secrets and the role are fine. The operator asks."""

from bench.diagnosis import faults_aws_compose as f
from bench.diagnosis.faults_heldout5 import failed_for_addresses, free_addresses, subnet_filled
from bench.diagnosis.scenario import Scenario

NO_ADDRESS = (
    "InsufficientFreeAddressesInSubnet: The specified subnet does not have enough free "
    "addresses to satisfy the request."
)
GLUE = "Attached to Glue using role: arn:aws:iam::123456789012:role/glue-nightly-orders-export"


def make(env):  # type: ignore[no-untyped-def]
    stack = f.ecs_service(env)
    f.secret_readable(stack)
    subnet = stack.network["awsvpcConfiguration"]["subnets"][0]
    # The tasks ECS tried since 09:00, four at a time, newest first.
    failed = failed_for_addresses(stack, 12, reason=NO_ADDRESS, minutes_apart=2)
    glue_group = stack.aws.client("ec2").create_security_group(
        GroupName="glue-nightly-orders-export", Description="glue workers", VpcId=stack.vpc_id
    )["GroupId"]
    made = subnet_filled(stack.aws, subnet, description=GLUE, group=glue_group)
    if made < 200 or free_addresses(stack.aws, subnet) != 0:
        raise AssertionError(f"{subnet}: {made} interfaces made, not full")
    f.counts(stack, desired=6, running=2)
    f.service_metrics(
        stack,
        cpu=[41, 44, 47, 63, 78, 84, 88, 91, 90, 92, 93, 91, 92, 94, 93],
        memory=[55, 55, 56, 58, 60, 61, 62, 62, 63, 63, 63, 64, 64, 64, 64],
    )
    for arn in stack.running:
        f.api_logs(
            stack,
            arn,
            [
                f"{f.log_time(2)} INFO  shop.api.access: GET /v1/products?sale=winter 200 2310ms",
                f"{f.log_time(1)} INFO  shop.api.access: POST /v1/cart 201 1875ms",
            ],
            minutes_ago=2,
        )
    s = f.ECS_SERVICE
    messages = []
    for start in range(0, len(failed), 4):
        batch = " ".join(f"(task {f.task_id(arn)})" for arn in failed[start : start + 4])
        messages.append(f"(service {s}) has started 4 tasks: {batch}.")
    f.events(stack, *messages)


SCENARIO = Scenario(
    symptom=(
        "we scaled the prod api from 2 to 6 tasks at 9 for the sale and it's still on 2. "
        "the console shows new tasks appearing and then they're just gone a minute later, "
        "no logs from them at all. nothing was deployed today. what's blocking it?"
    ),
    style="question",
    kind="ecs",
    expected=(
        "the service's only subnet has no free address left (another team's Glue job holds "
        "every one with its network interfaces), so ECS cannot give a new task its ENI and "
        "each one stops before it starts"
    ),
    accept=(("ecs-tasks-failing-to-start", "subnet-ips-exhausted"),),
    about="shop-prod-api",
    make=make,
)
