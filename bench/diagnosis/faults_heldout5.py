"""Faults the fifth set of held-out scenarios (`scenarios/heldout5_*`) needs and the other
helpers do not make, each undone after its scenario: a private subnet whose every address is
held by another team's network interfaces, CloudWatch alarms notifying the on-call topic (one of
them with its actions disabled), a database security group that admits an old group and not the
api's, a CRM API that checks the scopes of the token it is given, a queue consumer that the CPU
limit of its pods slows down, a row that breaks a migration's unique index, and session keys
that expire as they were written to.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bench.diagnosis.world import CLUSTER, ScenarioEnv


def until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Wait for a state (polling), or fail naming it."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not reached in {timeout:.0f} s: {what}")
        time.sleep(0.1)


# -- ECS: subnet addresses ------------------------------------------------------------------------


def free_addresses(aws: Any, subnet_id: str) -> int:
    subnet = aws.client("ec2").describe_subnets(SubnetIds=[subnet_id])["Subnets"][0]
    return int(subnet["AvailableIpAddressCount"])


def subnet_filled(aws: Any, subnet_id: str, *, description: str, group: str) -> int:
    """Network interfaces created in `subnet_id` (as a job's workers each get one) until no
    address is left in it; checked through describe-subnets. Returns how many were made."""
    ec2 = aws.client("ec2")
    made = 0
    while (free := free_addresses(aws, subnet_id)) > 0:
        for _ in range(free):
            ec2.create_network_interface(
                SubnetId=subnet_id, Description=description, Groups=[group]
            )
            made += 1
    if free_addresses(aws, subnet_id) != 0:
        raise AssertionError(f"{subnet_id} still has free addresses")
    return made


def failed_for_addresses(
    stack: Any, count: int, *, reason: str, minutes_apart: float, task_definition: str = ""
) -> list[str]:
    """`count` tasks of the service that ECS tried to start and stopped before they ran: no
    network interface could be made for them, so they hold no address (moto gave each one an
    interface at run_task; it goes, with the task's attachment)."""
    from bench.diagnosis import faults_aws_compose as f

    ec2 = stack.aws.client("ec2")
    arns = [f.new_task(stack, task_definition or None) for _ in range(count)]
    now = datetime.now(UTC)
    for index, arn in enumerate(arns):
        stack.aws.stop_task(CLUSTER, arn, stop_code="TaskFailedToStart", reason=reason)
        task = stack.aws._task(CLUSTER, arn)
        task.stopped_at = now - timedelta(minutes=index * minutes_apart)
        for attachment in task.attachments:
            for detail in attachment.get("details", []):
                if detail["name"] == "networkInterfaceId":
                    ec2.delete_network_interface(NetworkInterfaceId=detail["value"])
        task.attachments = []
        for container in task.containers:
            container.last_status = "STOPPED"
            container.exit_code = None
        if arn in stack.running:
            stack.running.remove(arn)
    described = stack.ecs.describe_tasks(cluster=CLUSTER, tasks=arns)["tasks"]
    if any(t["lastStatus"] != "STOPPED" or t.get("stoppedReason") != reason for t in described):
        raise AssertionError("the tasks are not stopped for their addresses")
    return arns


# -- CloudWatch alarms ----------------------------------------------------------------------------


def oncall_topic(aws: Any) -> str:
    """The baseline's on-call topic (its pager subscription confirmed)."""
    for topic in aws.client("sns").list_topics()["Topics"]:
        if topic["TopicArn"].endswith(":shop-oncall"):
            return str(topic["TopicArn"])
    raise LookupError("no shop-oncall topic in the baseline")


def oncall_alarm(
    aws: Any,
    name: str,
    *,
    namespace: str,
    metric: str,
    dimensions: dict[str, str],
    comparison: str,
    threshold: float,
    statistic: str = "Average",
    periods: int = 3,
) -> None:
    """A metric alarm notifying the on-call topic when it goes to ALARM and back (state OK)."""
    topic = oncall_topic(aws)
    cloudwatch = aws.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        Namespace=namespace,
        MetricName=metric,
        Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
        Statistic=statistic,
        Period=60,
        EvaluationPeriods=periods,
        DatapointsToAlarm=periods,
        Threshold=threshold,
        ComparisonOperator=comparison,
        AlarmActions=[topic],
        OKActions=[topic],
        ActionsEnabled=True,
        TreatMissingData="notBreaching",
    )
    cloudwatch.set_alarm_state(
        AlarmName=name, StateValue="OK", StateReason="Threshold Crossed: no datapoints breaching"
    )


def alarm_state(aws: Any, name: str, state: str, reason: str) -> None:
    aws.client("cloudwatch").set_alarm_state(AlarmName=name, StateValue=state, StateReason=reason)


def described_alarm(aws: Any, name: str) -> dict[str, Any]:
    alarms = aws.client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"]
    if not alarms:
        raise LookupError(f"no alarm {name}")
    return dict(alarms[0])


def metric_points(
    aws: Any,
    namespace: str,
    metric: str,
    dimensions: dict[str, str],
    values: Sequence[float],
    *,
    ending_minutes_ago: float,
    unit: str = "Count",
) -> None:
    """`values`, one a minute, the last `ending_minutes_ago` minutes ago."""
    end = datetime.now(UTC) - timedelta(minutes=ending_minutes_ago)
    data = [
        {
            "MetricName": metric,
            "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
            "Timestamp": end - timedelta(minutes=len(values) - 1 - index),
            "Value": value,
            "Unit": unit,
        }
        for index, value in enumerate(values)
    ]
    cloudwatch = aws.client("cloudwatch")
    for start in range(0, len(data), 20):
        cloudwatch.put_metric_data(Namespace=namespace, MetricData=data[start : start + 20])


# -- EC2 security groups and Aurora ---------------------------------------------------------------


def security_group(aws: Any, vpc_id: str, name: str, *, admits: str = "", port: int = 0) -> str:
    """A security group of the VPC; with `admits`, a TCP `port` rule from that group."""
    ec2 = aws.client("ec2")
    group = str(
        ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc_id)["GroupId"]
    )
    if admits:
        ec2.authorize_security_group_ingress(
            GroupId=group,
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": port,
                    "ToPort": port,
                    "UserIdGroupPairs": [{"GroupId": admits, "Description": "app tasks"}],
                }
            ],
        )
    return group


def admits(aws: Any, group: str, source: str, port: int) -> bool:
    """Whether `group`'s ingress rules let `source` in on TCP `port` (as EC2 evaluates them)."""
    described = aws.client("ec2").describe_security_groups(GroupIds=[group])["SecurityGroups"][0]
    for rule in described.get("IpPermissions", []):
        covers = rule.get("IpProtocol") == "-1" or (
            rule.get("FromPort", 0) <= port <= rule.get("ToPort", 65535)
        )
        sources = [pair["GroupId"] for pair in rule.get("UserIdGroupPairs", [])]
        if covers and source in sources:
            return True
    return False


def aurora_writer(aws: Any, name: str, *, security_group: str, subnets: list[str]) -> str:
    """An available Aurora PostgreSQL cluster with one writer, in `security_group`; its
    endpoint."""
    rds = aws.client("rds")
    rds.create_db_subnet_group(
        DBSubnetGroupName=f"{name}-subnets",
        DBSubnetGroupDescription=name,
        SubnetIds=subnets,
    )
    cluster = rds.create_db_cluster(
        DBClusterIdentifier=name,
        Engine="aurora-postgresql",
        EngineVersion="15.4",
        MasterUsername="shop",
        MasterUserPassword="never-used-by-the-bench",
        DatabaseName="shop",
        Port=5432,
        DBSubnetGroupName=f"{name}-subnets",
        VpcSecurityGroupIds=[security_group],
    )["DBCluster"]
    rds.create_db_instance(
        DBInstanceIdentifier=f"{name}-writer",
        DBClusterIdentifier=name,
        Engine="aurora-postgresql",
        DBInstanceClass="db.r6g.large",
    )
    described = rds.describe_db_clusters(DBClusterIdentifier=name)["DBClusters"][0]
    if described["Status"] != "available":
        raise AssertionError(f"{name} is {described['Status']}")
    groups = [g["VpcSecurityGroupId"] for g in described.get("VpcSecurityGroups", [])]
    if groups != [security_group]:
        raise AssertionError(f"{name} is in {groups}")
    return str(cluster["Endpoint"])


def connect_timeout(port: int, *, seconds: int = 2) -> str:
    """What psycopg says when a connect to `port` gets no answer within `seconds`."""
    import psycopg

    try:
        psycopg.connect(
            host="127.0.0.1", port=port, user="shop", dbname="shop", connect_timeout=seconds
        ).close()
    except psycopg.OperationalError as error:
        return f"psycopg.OperationalError: {error}".strip()
    raise AssertionError(f"port {port} answered")


# -- HTTP: a CRM API that checks its token's scopes -----------------------------------------------


class CrmApi:
    """HubSpot's CRM API as a client meets it: every call needs a private app token; a token
    whose app lacks the contacts scopes gets 403 MISSING_SCOPES on every contacts call, with
    HubSpot's error body. `scopes`: token -> the scopes its app has."""

    def __init__(self, scopes: dict[str, set[str]]) -> None:
        self.scopes = scopes
        self.seen: list[tuple[str, str, int]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                status, body = api.answer(self.command, self.path, self.headers)
                api.seen.append((self.command, self.path, status))
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json;charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, method: str, path: str, headers: Any) -> tuple[int, dict[str, Any]]:
        correlation = "4f1d3c2e-8a7b-4c61-9e05-2b7d6f0a9c41"
        auth = str(headers.get("Authorization") or "")
        token = auth.removeprefix("Bearer ").strip()
        if token not in self.scopes:
            return 401, {
                "status": "error",
                "message": "Authentication credentials not found. This API supports OAuth 2.0 "
                "authentication and you can find more details at "
                "https://developers.hubspot.com/docs/methods/auth/oauth-overview",
                "correlationId": correlation,
                "category": "INVALID_AUTHENTICATION",
            }
        needed = "crm.objects.contacts.write" if method != "GET" else "crm.objects.contacts.read"
        if path.startswith("/crm/v3/objects/contacts") and needed not in self.scopes[token]:
            return 403, {
                "status": "error",
                "message": "This app hasn't been granted all required scopes to make this call. "
                "Read more about required scopes here: https://developers.hubspot.com/scopes.",
                "correlationId": correlation,
                "errors": [
                    {
                        "message": "One or more of the following scopes are required.",
                        "context": {"requiredGranularScopes": [needed]},
                    }
                ],
                "links": {"scopes": "https://developers.hubspot.com/scopes"},
                "category": "MISSING_SCOPES",
            }
        if method == "GET":
            return 200, {"results": [], "paging": {}}
        return 200, {"status": "COMPLETE", "results": []}


def crm_api(env: ScenarioEnv, scopes: dict[str, set[str]]) -> CrmApi:
    api = CrmApi(scopes)
    env.later(api.close)
    return api


# -- RabbitMQ and Kubernetes: a consumer held back by its CPU limit -------------------------------


def throttled_consumer(
    env: ScenarioEnv,
    queue: str,
    *,
    connection_names: tuple[str, ...],
    backlog: int,
    per_message: float,
    publish_every: float,
) -> None:
    """`queue` with `backlog` messages waiting, a consumer connection for each of the worker's
    pods, named as the pod names it (prefetch 10, each message acked `per_message` seconds after
    it came), and a publisher adding one every `publish_every` seconds: connected, busy, falling
    behind. They stop and the queue is deleted after the scenario. Returns once the broker
    counts every consumer and the queue has grown."""
    broker = env.world.rabbitmq()
    broker.declare_queue(queue)
    broker.publish(queue, backlog, body=b'{"payment_id": 118400, "amount": "42.90"}')
    stop = threading.Event()
    errors: list[BaseException] = []

    def consume(connection_name: str) -> None:
        try:
            import pika

            parameters = broker.connection_parameters()
            parameters.client_properties = {"connection_name": connection_name}
            connection = pika.BlockingConnection(parameters)
            channel = connection.channel()
            channel.basic_qos(prefetch_count=10)

            def handle(ch: Any, method: Any, properties: Any, body: bytes) -> None:
                del properties, body
                if stop.is_set():  # the scenario is over: give it back, stop consuming
                    ch.basic_nack(method.delivery_tag, requeue=True)
                    ch.stop_consuming()
                    return
                connection.sleep(per_message)
                ch.basic_ack(method.delivery_tag)

            channel.basic_consume(queue, handle)
            while not stop.is_set():
                connection.process_data_events(time_limit=0.1)
            with contextlib.suppress(Exception):
                connection.close()
        except BaseException as error:  # seen by make(), which waits for the consumer
            errors.append(error)

    def produce() -> None:
        try:
            connection = broker.connect()
            channel = connection.channel()
            number = 118_400
            while not stop.is_set():
                number += 1
                channel.basic_publish(
                    exchange="",
                    routing_key=queue,
                    body=json.dumps({"payment_id": number, "amount": "42.90"}).encode(),
                )
                connection.sleep(publish_every)
            with contextlib.suppress(Exception):
                connection.close()
        except BaseException as error:
            errors.append(error)

    threads = [
        *(threading.Thread(target=consume, args=(name,), daemon=True) for name in connection_names),
        threading.Thread(target=produce, daemon=True),
    ]

    def end() -> None:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
        with contextlib.suppress(Exception):
            broker.delete_queue(queue)

    env.later(end)
    for thread in threads:
        thread.start()
    wanted = len(connection_names)

    def attached_and_growing() -> bool:
        if errors:
            raise AssertionError(f"consumer or publisher failed: {errors[0]!r}")
        state = broker.management_queue(queue)
        consumers = int(state.get("consumers") or 0)
        return consumers == wanted and int(state.get("messages") or 0) > backlog + 50

    until(attached_and_growing, 30, f"{queue} consumed by {wanted} and growing")


# -- PostgreSQL: a row that breaks a migration ----------------------------------------------------


def duplicate_row(env: ScenarioEnv, server: Any, email: str) -> None:
    """A second customer with `email` in the shop database (the signup race a unique index
    would have stopped), deleted after the scenario."""
    with server.connect(dbname="shop") as conn:
        conn.execute("INSERT INTO customers (email) VALUES (%s)", (email,))

    def remove() -> None:
        with server.connect(dbname="shop") as conn:
            conn.execute(
                "DELETE FROM customers WHERE id = (SELECT max(id) FROM customers WHERE email = %s)"
                " AND (SELECT count(*) FROM customers WHERE email = %s) > 1",
                (email, email),
            )

    env.later(remove)


def migration_error(server: Any, sql: str) -> str:
    """What a migration running `sql` on the shop database gets from psycopg, as a traceback's
    last line and PostgreSQL's DETAIL say it; nothing is left changed."""
    import psycopg

    with psycopg.connect(
        server.dsn_with_password(server.password, dbname="shop"), connect_timeout=5
    ) as conn:
        try:
            with conn.transaction():
                conn.execute(sql)
        except psycopg.Error as error:
            return f"{type(error).__module__}.{type(error).__name__}: {error}"
    raise AssertionError(f"{sql!r} succeeded")


# -- Redis: sessions that expire ------------------------------------------------------------------


def sessions_expired(server: Any, *, kept: int, expired: int, ttl: int) -> dict[str, int]:
    """`expired` sessions written with a short expiry and gone by expiry (not evicted: no
    memory limit is near), `kept` sessions alive for `ttl` seconds. Returns INFO's counts."""
    client = server.client()
    with client.pipeline(transaction=False) as pipe:
        for index in range(expired):
            pipe.set(f"session:{900_000 + index:x}", "s" * 180, px=300 + index % 900)
        pipe.execute()
    with client.pipeline(transaction=False) as pipe:
        for index in range(kept):
            pipe.set(f"session:{100_000 + index:x}", "s" * 180, ex=ttl - index % 600)
        pipe.execute()

    def all_expired() -> bool:
        return int(client.dbsize()) == kept

    until(all_expired, 30, f"{expired} sessions expired")
    stats = client.info("stats")
    counts = {
        "keys": int(client.dbsize()),
        "expired_keys": int(stats["expired_keys"]),
        "evicted_keys": int(stats["evicted_keys"]),
    }
    if counts["expired_keys"] < expired or counts["evicted_keys"]:
        raise AssertionError(f"sessions went otherwise than by expiry: {counts}")
    if any(client.ttl(f"session:{100_000 + index:x}") <= 0 for index in range(0, kept, 50)):
        raise AssertionError("a kept session has no expiry")
    client.close()
    return counts
