"""Yesterday's network refactor (terraform) gave each ECS service a security group of its own:
shop-prod-api's tasks moved from the shared `shop-prod-app` group to `shop-prod-api-sg`, and so
did the ops host the team runs its tools from, which sits with the api. The Aurora cluster
`shop-prod-db` lives in another module, owned by the data team: its security group still admits
PostgreSQL from `shop-prod-app` only, a group nothing is in any more. The cluster is up and
healthy; the api's tasks run and pass their load balancer health check (which does not touch the
database), but every connection they open to the writer is silently dropped and times out, so
every request that needs the database fails after five seconds. The operator pastes the api's
log."""

from bench.diagnosis import faults_aws_compose as f
from bench.diagnosis.faults_heldout5 import admits, aurora_writer, connect_timeout, security_group
from bench.diagnosis.faults_stores import unreachable_port
from bench.diagnosis.scenario import Scenario

DB = "shop-prod-db"


def error_lines(endpoint: str, error: str, minutes_ago: float, order: int) -> list[str]:
    return [
        f"{f.log_time(minutes_ago)} ERROR [shop.db] no connection to {endpoint}:5432 within "
        f"5.0s for GET /v1/orders/{order}",
        "Traceback (most recent call last):",
        '  File "/app/shop/db.py", line 27, in connect',
        "    return psycopg.connect(settings.DATABASE_URL, connect_timeout=5)",
        '  File "/usr/local/lib/python3.12/site-packages/psycopg/connection.py", line 119, '
        "in connect",
        "    raise last_ex.with_traceback(None)",
        error,
        f"{f.log_time(minutes_ago, 5)} INFO  shop.api.access: GET /v1/orders/{order} 500 5004ms",
    ]


def make(env):  # type: ignore[no-untyped-def]
    stack = f.ecs_service(env)
    f.secret_readable(stack)
    f.load_balancer(stack)  # both tasks healthy targets: the health check skips the database
    aws = stack.aws
    ec2 = aws.client("ec2")
    shared = security_group(aws, stack.vpc_id, "shop-prod-app")
    db_group = security_group(aws, stack.vpc_id, "shop-prod-db", admits=shared, port=5432)
    api_group = stack.security_group  # the api's own group, where its tasks now are
    ec2.create_tags(Resources=[api_group], Tags=[{"Key": "Name", "Value": "shop-prod-api-sg"}])
    if admits(aws, db_group, api_group, 5432) or not admits(aws, db_group, shared, 5432):
        raise AssertionError("the database group's rules are not the old ones")
    data = [
        ec2.create_subnet(VpcId=stack.vpc_id, CidrBlock=cidr, AvailabilityZone=zone)["Subnet"][
            "SubnetId"
        ]
        for cidr, zone in (("10.0.3.0/24", "us-east-1a"), ("10.0.4.0/24", "us-east-1b"))
    ]
    endpoint = aurora_writer(aws, DB, security_group=db_group, subnets=data)
    # The inventory reaches the writer from the ops host, in the api's group: dropped too.
    port = unreachable_port(env)
    env.targets[DB] = {
        "kind": "postgres",
        "name": DB,
        "url": f"postgresql://shop@127.0.0.1:{port}/shop",
    }
    error = connect_timeout(port)
    if "timeout" not in error:
        raise AssertionError(f"the writer answered: {error}")
    for index, arn in enumerate(stack.running):
        f.api_logs(
            stack,
            arn,
            error_lines(endpoint, error, 1 + index, 88412 + index),
            minutes_ago=1 + index,
        )
    env.values["log"] = "\n".join(error_lines(endpoint, error, 1, 88412))


SCENARIO = Scenario(
    symptom=(
        "since this morning every order call on the prod api fails after exactly 5 seconds. "
        "the tasks are up and healthy in the target group. from the api's CloudWatch log:\n"
        "{log}"
    ),
    style="paste",
    kind="postgres",
    cascade=True,
    expected=(
        "the Aurora cluster shop-prod-db is up, but its security group admits PostgreSQL only "
        "from the old shared group shop-prod-app; the api's tasks are now in shop-prod-api-sg, "
        "so their connections to the writer are dropped and time out"
    ),
    accept=(
        ("db-cannot-connect", "security-group-missing-ingress"),
        ("db-cannot-connect", "connect-timeout"),
    ),
    about=DB,
    make=make,
)
