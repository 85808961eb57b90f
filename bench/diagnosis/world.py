"""The environment every diagnosis scenario runs in: a small shop, live, with noise.

Servers are started once (the test suite's private servers: redis-server, PostgreSQL, RabbitMQ,
dockerd, moto and the fake Kubernetes API, on free loopback ports) and hold a healthy baseline:

- `cache` (Redis) with a few session keys; `orders-db` (PostgreSQL, database `shop`);
  `broker` (RabbitMQ: queues `orders` and `emails`, each with a live consumer);
  `storefront` (an HTTP health endpoint); `docker` (a Docker engine: compose project `shop`
  with `web` and `worker` running); `k8s` (namespace `shop`: deployments `checkout-api`,
  `payment-worker`, `catalog`); `aws` (ECS cluster `shop-prod`, service `shop-prod-api`).
- Two problems that have nothing to do with any scenario, as a real environment has: the
  compose service `reports-cron` of project `backoffice` exited with an error, and the
  deployment `nightly-export` of namespace `batch` is crash-looping.

A scenario gets a `ScenarioEnv`: the inventory's targets (the baseline's, which it may replace,
for a server of its own it can break), values for its symptom (addresses, ports), and a stack of
undo steps, run after it so that the next scenario finds the baseline again.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

from tests.servers.process import free_port

AWS_KEYS = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
}
PG_PASSWORD = "BENCH_ORDERS_DB_PASSWORD"
MQ_PASSWORD = "BENCH_BROKER_PASSWORD"
SHOP_APPS = ("checkout-api", "payment-worker", "catalog")
KUBE_NS = "shop"
COMPOSE_PROJECT = "shop"
CLUSTER = "shop-prod"
ECS_SERVICE = "shop-prod-api"


def compose_labels(project: str, service: str, number: int = 1) -> dict[str, str]:
    return {
        "com.docker.compose.project": project,
        "com.docker.compose.service": service,
        "com.docker.compose.container-number": str(number),
        "com.docker.compose.oneoff": "False",
    }


class Consumer:
    """A live AMQP consumer on one queue, in a thread, acknowledging what it gets."""

    def __init__(self, server: Any, queue: str) -> None:
        self.connection = server.connect()
        self.channel = self.connection.channel()
        self.channel.basic_consume(queue, lambda ch, m, p, b: None, auto_ack=True)
        self.thread = threading.Thread(target=self.channel.start_consuming, daemon=True)
        self.thread.start()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.connection.add_callback_threadsafe(self.channel.stop_consuming)
            self.thread.join(timeout=5)
            self.connection.close()


class World:
    """Servers started on first use and their healthy baseline; `close()` stops them all."""

    def __init__(self, workdir: Path | None = None) -> None:
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="triage-diagnosis-"))
        self._stack = contextlib.ExitStack()
        self._made: dict[str, Any] = {}
        self.consumers: dict[str, Consumer] = {}
        self._set_here = [name for name in AWS_KEYS if name not in os.environ]
        for name in self._set_here:  # the in-process moto clients need keys
            os.environ[name] = AWS_KEYS[name]

    def close(self) -> None:
        for consumer in self.consumers.values():
            consumer.close()
        self._stack.close()
        shutil.rmtree(self.workdir, ignore_errors=True)
        for name in self._set_here:  # this process's environment as it was
            os.environ.pop(name, None)

    def _once(self, name: str, make: Callable[[], Any]) -> Any:
        if name not in self._made:
            self._made[name] = make()
        return self._made[name]

    # -- servers -------------------------------------------------------------------------------

    def redis(self) -> Any:
        def make() -> Any:
            server = self.new_redis("cache")
            client = server.client()
            for index in range(20):
                client.set(f"session:{index}", "x" * 200, ex=3600)
            return server

        return self._once("redis", make)

    def new_redis(self, name: str) -> Any:
        """A redis-server of its own (a scenario may fill it, stop it, lock it down)."""
        from tests.servers.redis import start_redis

        folder = Path(tempfile.mkdtemp(prefix=f"redis-{name}-", dir=self.workdir))
        return self._stack.enter_context(start_redis(folder))

    def _pg_template(self) -> Any:
        def make() -> Any:
            from tests.servers.postgres import PostgresTemplate

            template = PostgresTemplate.create()  # initdb once; each server copies it
            self._stack.callback(template.remove)
            return template

        return self._once("pg-template", make)

    def postgres(self) -> Any:
        def make() -> Any:
            server = self.new_postgres()
            server.execute("CREATE DATABASE shop")
            with server.connect(dbname="shop") as conn:
                conn.execute(
                    "CREATE TABLE customers (id serial PRIMARY KEY, email text NOT NULL);"
                    "CREATE TABLE orders (id serial PRIMARY KEY, customer_id int REFERENCES "
                    "customers, total numeric NOT NULL, created_at timestamptz DEFAULT now());"
                    "INSERT INTO customers (email) SELECT 'c' || n || '@shop.test' "
                    "FROM generate_series(1, 50) n;"
                    "INSERT INTO orders (customer_id, total) SELECT 1 + n % 50, n "
                    "FROM generate_series(1, 500) n;"
                )
            return server

        return self._once("postgres", make)

    def new_postgres(self, max_connections: int = 20, **settings: str) -> Any:
        """A PostgreSQL of its own (removed at the end), `settings` in its configuration."""
        from tests.servers.postgres import start_postgres

        return self._stack.enter_context(
            start_postgres(self._pg_template(), max_connections=max_connections, settings=settings)
        )

    def rabbitmq(self) -> Any:
        def make() -> Any:
            from tests.servers.rabbitmq import start_rabbitmq

            server = self._stack.enter_context(start_rabbitmq())
            for queue in ("orders", "emails"):
                server.declare_queue(queue)
                self.consumers[queue] = Consumer(server, queue)
            return server

        return self._once("rabbitmq", make)

    def http(self) -> Any:
        def make() -> Any:
            from tests.servers.http import Route, serve_http

            routes = {"/health": Route(200, '{"status": "ok"}')}
            return self._stack.enter_context(serve_http(routes))

        return self._once("http", make)

    def docker(self) -> Any:
        def make() -> Any:
            from tests.servers.docker_engine import start_docker_engine

            engine = self._stack.enter_context(start_docker_engine())
            for service in ("web", "worker"):
                engine.run(
                    ["sh", "-c", f"echo '{service} started'; sleep 86400"],
                    name=f"{COMPOSE_PROJECT}-{service}-1",
                    labels=compose_labels(COMPOSE_PROJECT, service),
                    network_mode="host",
                )
            # Noise: a nightly job of another project failed hours ago, and stays exited.
            engine.run(
                ["sh", "-c", "echo 'upload of report-2026-12-06.csv failed: timeout'; exit 1"],
                name="backoffice-reports-cron-1",
                labels=compose_labels("backoffice", "reports-cron"),
                network_mode="host",
            )
            return engine

        return self._once("docker", make)

    def kube(self) -> Any:
        def make() -> Any:
            from tests.servers.kube_api import FakeKubeApi

            kube = self._stack.enter_context(FakeKubeApi())
            self.kube_baseline(kube)
            kube.write_kubeconfig(self.workdir / "kubeconfig", context="shop-prod-eks")
            return kube

        return self._once("kube", make)

    def kube_baseline(self, kube: Any) -> None:
        from tests.servers.kube_objects import healthy_app, namespace
        from tests.servers.kube_workloads import deployment, pod, terminated, waiting

        for app in SHOP_APPS:
            kube.put(*healthy_app(KUBE_NS, app, replicas=2))
        # Noise: a batch job's deployment crash-looping in another namespace.
        labels = {"app": "nightly-export"}
        kube.put(
            namespace("batch"),
            deployment("nightly-export", "batch", replicas=1, ready=0, labels=labels),
            pod(
                "nightly-export-6f7d9c-x2x9q",
                "batch",
                labels=labels,
                statuses=[
                    waiting(
                        "app",
                        "CrashLoopBackOff",
                        "back-off 5m0s restarting failed container",
                        restarts=41,
                        last=terminated("Error", 2),
                    )
                ],
                owner=("ReplicaSet", "nightly-export-6f7d9c"),
            ),
        )
        kube.add_log("batch", "nightly-export-6f7d9c-x2x9q", "export: bucket not configured")

    def aws(self) -> Any:
        def make() -> Any:
            from tests.servers.moto_server import MotoAws, MotoServer

            server = MotoServer()
            self._stack.callback(server.stop)
            self._made["moto-server"] = server
            aws = MotoAws(server.endpoint, {})
            server.reset()
            self.aws_baseline(aws)
            return aws

        return self._once("aws", make)

    def aws_baseline(self, aws: Any) -> None:
        import json

        from tests.servers.moto_server import SECRET_ARN

        stack = aws.ecs_stack(cluster=CLUSTER, service=ECS_SERVICE, desired=2, running=2)
        # Its private subnet reaches the internet through a NAT gateway, as Fargate tasks in
        # private subnets must (to pull images, to read secrets).
        ec2 = aws.client("ec2")
        public = ec2.create_subnet(VpcId=stack.vpc_id, CidrBlock="10.0.0.0/24")["Subnet"]
        allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
        nat = ec2.create_nat_gateway(SubnetId=public["SubnetId"], AllocationId=allocation)
        routes = ec2.create_route_table(VpcId=stack.vpc_id)["RouteTable"]["RouteTableId"]
        ec2.create_route(
            RouteTableId=routes,
            DestinationCidrBlock="0.0.0.0/0",
            NatGatewayId=nat["NatGateway"]["NatGatewayId"],
        )
        ec2.associate_route_table(RouteTableId=routes, SubnetId=stack.subnet_id)
        # What a running service has: the secret its tasks read, a role allowed to read it.
        aws.client("secretsmanager").create_secret(
            Name="shop/prod/db", SecretString='{"url": "postgresql://shop@db.internal/shop"}'
        )
        aws.backend("secretsmanager").secrets["shop/prod/db"].arn = SECRET_ARN
        aws.role(
            f"{ECS_SERVICE}-execution",
            [
                {
                    "Effect": "Allow",
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": SECRET_ARN,
                }
            ],
        )
        iam = aws.client("iam")
        iam.put_role_policy(  # under the name scenarios take away
            RoleName=f"{ECS_SERVICE}-execution",
            PolicyName="read-db-secret",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": "secretsmanager:GetSecretValue",
                            "Resource": SECRET_ARN,
                        }
                    ],
                }
            ),
        )
        # The on-call topic alarms notify, with a confirmed subscriber (a queue).
        topic = aws.client("sns").create_topic(Name="shop-oncall")["TopicArn"]
        queue = aws.client("sqs").create_queue(QueueName="shop-oncall-pager")["QueueUrl"]
        queue_arn = aws.client("sqs").get_queue_attributes(
            QueueUrl=queue, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        aws.client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        aws.set_service(
            CLUSTER,
            ECS_SERVICE,
            rollout="COMPLETED",
            events=[f"(service {ECS_SERVICE}) has reached a steady state."],
        )
        # As ECS counts a steady cluster (moto keeps its counters at zero).
        cluster = aws.backend("ecs").clusters[CLUSTER]
        cluster.running_tasks_count, cluster.pending_tasks_count = 2, 0
        cluster.active_services_count = 1

    def reset_aws(self) -> None:
        """Moto back to the baseline (after a scenario that changed AWS)."""
        if "aws" in self._made:
            self._made["moto-server"].reset()
            self.aws_baseline(self._made["aws"])

    # -- the inventory -------------------------------------------------------------------------

    def baseline_targets(self) -> dict[str, dict[str, Any]]:
        """Every target of the environment, healthy, as an inventory lists them."""
        redis, postgres, mq = self.redis(), self.postgres(), self.rabbitmq()
        http, engine, kube, aws = self.http(), self.docker(), self.kube(), self.aws()
        del kube
        return {
            "cache": {"kind": "redis", "name": "cache", "url": redis.url},
            "orders-db": {
                "kind": "postgres",
                "name": "orders-db",
                "url": postgres.dsn_without_password.rsplit("/", 1)[0] + "/shop",
                "password": {"env": PG_PASSWORD},
            },
            "broker": {
                "kind": "rabbitmq",
                "name": "broker",
                "url": f"amqp://{mq.user}@{mq.address}/%2F",
                "password": {"env": MQ_PASSWORD},
                "options": {"management_url": mq.management_url},
            },
            "storefront": {"kind": "http", "name": "storefront", "url": http.url("/health")},
            "docker": {"kind": "compose", "name": "docker", "url": engine.base_url},
            "k8s": {
                "kind": "kubernetes",
                "name": "k8s",
                "options": {"kubeconfig": str(self.workdir / "kubeconfig")},
            },
            "aws": {
                "kind": "ecs",
                "name": "aws",
                "options": {"region": "us-east-1", "endpoint_url": aws.endpoint, "max_attempts": 1},
            },
        }

    def shell(self) -> dict[str, str]:
        """The environment triage runs with: its own home, dummy AWS keys, the passwords the
        inventory names; nothing of this machine's (no DOCKER_HOST, KUBECONFIG, REDIS_URL)."""
        home = self.workdir / "home"
        home.mkdir(exist_ok=True)
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_STATE_HOME": str(home / ".state"),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "LANG": "C.UTF-8",
            "NO_COLOR": "1",
            **AWS_KEYS,
            PG_PASSWORD: self.postgres().password,
            MQ_PASSWORD: self.rabbitmq().password,
        }


class ScenarioEnv:
    """One scenario's environment: the inventory it runs against, and how to undo its fault."""

    def __init__(self, world: World, folder: Path) -> None:
        self.world = world
        self.folder = folder
        self.targets = world.baseline_targets()
        self.values: dict[str, Any] = {}
        self.shell: dict[str, str] = {}
        self._undo = contextlib.ExitStack()

    # -- undo ----------------------------------------------------------------------------------

    def later(self, undo: Callable[..., Any], *args: Any) -> None:
        """Run `undo(*args)` after the scenario (last registered, first run)."""
        self._undo.callback(undo, *args)

    def close(self) -> None:
        self._undo.close()

    # -- the inventory -------------------------------------------------------------------------

    def inventory(self) -> Path:
        path = self.folder / "triage.yaml"
        document = {
            "default_environment": "shop-prod",
            "settings": {"check_timeout": 3},
            "environments": {"shop-prod": {"targets": list(self.targets.values())}},
        }
        path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        return path

    def environment(self) -> dict[str, str]:
        return {**self.world.shell(), **self.shell}

    # -- servers of the scenario's own ---------------------------------------------------------

    def own_redis(self, name: str = "cache") -> Any:
        """Target `name` becomes a Redis of this scenario's own (stopped after it)."""
        server = self.world.new_redis(name)
        self.later(server.stop)
        self.targets[name] = {"kind": "redis", "name": name, "url": server.url}
        self.values[f"{name}_address"] = server.address
        self.values[f"{name}_port"] = server.port
        return server

    def dead_address(self, name: str, kind: str, scheme: str) -> str:
        """Target `name` points at a port where nothing listens any more (a server down)."""
        port = free_port()
        url = f"{scheme}://127.0.0.1:{port}/" + ("0" if kind == "redis" else "")
        self.targets[name] = {**self.targets.get(name, {}), "kind": kind, "name": name, "url": url}
        self.targets[name].pop("password", None)
        if kind == "rabbitmq":  # its management API went down with it
            self.targets[name]["options"] = {"management_url": f"http://127.0.0.1:{free_port()}"}
        self.values[f"{name}_address"] = f"127.0.0.1:{port}"
        self.values[f"{name}_port"] = port
        return url

    def own_postgres(self, name: str = "orders-db", max_connections: int = 20) -> Any:
        server = self.world.new_postgres(max_connections)
        self.later(server.stop)
        variable = f"BENCH_{name.upper().replace('-', '_')}_OWN_PASSWORD"
        self.shell[variable] = server.password
        self.targets[name] = {
            "kind": "postgres",
            "name": name,
            "url": server.dsn_without_password,
            "password": {"env": variable},
        }
        self.values[f"{name}_address"] = server.address
        return server

    # -- compose -------------------------------------------------------------------------------

    def container(
        self,
        service: str,
        script: str,
        *,
        project: str = COMPOSE_PROJECT,
        number: int = 1,
        env: dict[str, str] | None = None,
        restart: bool = False,
        **options: Any,
    ) -> Any:
        """A compose-labelled container on the host's network running `script` (busybox sh),
        removed after the scenario."""
        engine = self.world.docker()
        name = f"{project}-{service}-{number}"
        with contextlib.suppress(Exception):  # a baseline container of that name steps aside
            old = engine.client().containers.get(name)
            old.remove(force=True)
            self.later(self._restore_baseline, project, service, number)
        if restart:
            options["restart_policy"] = {"Name": "always"}
        container = engine.run(
            ["sh", "-c", script],
            name=name,
            labels=compose_labels(project, service, number),
            environment=env or {},
            network_mode="host",
            **options,
        )
        self.later(self._remove_container, name)
        return container

    def _remove_container(self, name: str) -> None:
        with contextlib.suppress(Exception):
            self.world.docker().client().containers.get(name).remove(force=True)

    def _restore_baseline(self, project: str, service: str, number: int) -> None:
        engine = self.world.docker()
        self._remove_container(f"{project}-{service}-{number}")
        engine.run(
            ["sh", "-c", f"echo '{service} started'; sleep 86400"],
            name=f"{project}-{service}-{number}",
            labels=compose_labels(project, service, number),
            network_mode="host",
        )

    # -- kubernetes ----------------------------------------------------------------------------

    def kube_put(self, *objs: dict[str, Any]) -> None:
        """Objects put in the fake API; after the scenario, the baseline's come back."""
        kube = self.world.kube()
        for obj in objs:
            api = obj["apiVersion"]
            meta = obj["metadata"]
            old = kube.get(obj["kind"], meta.get("namespace", ""), meta["name"], api)
            if old is None:
                self.later(kube.remove, obj["kind"], meta.get("namespace", ""), meta["name"], api)
            else:
                self.later(kube.put, old)
        kube.put(*objs)

    def kube_remove(self, kind: str, namespace: str, name: str, api_version: str = "v1") -> None:
        kube = self.world.kube()
        old = kube.remove(kind, namespace, name, api_version)
        if old is not None:
            self.later(kube.put, old)

    # -- aws -----------------------------------------------------------------------------------

    def aws(self) -> Any:
        """Moto, put back to the baseline after the scenario."""
        self.later(self.world.reset_aws)
        return self.world.aws()


@contextlib.contextmanager
def scenario_env(world: World) -> Iterator[ScenarioEnv]:
    folder = Path(tempfile.mkdtemp(prefix="scenario-", dir=world.workdir))
    env = ScenarioEnv(world, folder)
    try:
        yield env
    finally:
        env.close()
        shutil.rmtree(folder, ignore_errors=True)


def run_triage(
    env: ScenarioEnv, *args: str, timeout: float = 60
) -> tuple[subprocess.CompletedProcess[str], float]:
    """`triage ARGS --config INVENTORY` as an operator runs it; its result and seconds."""
    command = [sys.executable, "-m", "tui.cli", *args, "--config", str(env.inventory())]
    started = time.monotonic()
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=env.environment(),
        cwd=env.folder,
        timeout=timeout,
        check=False,
    )
    return done, time.monotonic() - started
