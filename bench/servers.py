"""The private servers the benchmarks watch, started on first use and all stopped at the end.

They are the test suite's (`tests/servers/`): real redis-server, PostgreSQL, RabbitMQ and
dockerd on free loopback ports; moto's server and the fake Kubernetes API run as processes of
their own, so their work does not share the harness's interpreter.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.servers.process import free_port, port_open, stop_process

AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
}
PG_PASSWORD_ENV = "BENCH_PG_PASSWORD"
MQ_PASSWORD_ENV = "BENCH_MQ_PASSWORD"
IDLE_CONTAINER = "bench-idle-web"


class Servers:
    """Lazily started private servers; `close()` stops every one that was started."""

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()
        self._cache: dict[str, Any] = {}
        self.workdir = Path(tempfile.mkdtemp(prefix="triage-bench-"))
        self.env: dict[str, str] = dict(AWS_ENV)  # what triage needs to resolve secrets

    def close(self) -> None:
        self._stack.close()
        subprocess.run(["rm", "-rf", str(self.workdir)], check=False)

    def _once(self, name: str, make: Any) -> Any:
        if name not in self._cache:
            self._cache[name] = make()
        return self._cache[name]

    # -- the six providers of the cold start ----------------------------------------------------

    def redis(self) -> Any:
        from tests.servers.redis import start_redis

        def make() -> Any:
            directory = self.workdir / "redis"
            directory.mkdir()
            return self._stack.enter_context(start_redis(directory))

        return self._once("redis", make)

    def postgres(self) -> Any:
        from tests.servers.postgres import start_postgres

        def make() -> Any:
            server = self._stack.enter_context(start_postgres())
            self.env[PG_PASSWORD_ENV] = server.password
            return server

        return self._once("postgres", make)

    def rabbitmq(self) -> Any:
        from tests.servers.rabbitmq import start_rabbitmq

        def make() -> Any:
            server = self._stack.enter_context(start_rabbitmq())
            self.env[MQ_PASSWORD_ENV] = server.password
            return server

        return self._once("rabbitmq", make)

    def http(self) -> Any:
        from tests.servers.http import serve_http

        return self._once("http", lambda: self._stack.enter_context(serve_http()))

    def docker(self) -> Any:
        from tests.servers.docker_engine import start_docker_engine

        def make() -> Any:
            engine = self._stack.enter_context(start_docker_engine())
            labels = {
                "com.docker.compose.project": "shop",
                "com.docker.compose.service": "web",
                "com.docker.compose.container-number": "1",
            }
            engine.run(["sh", "-c", "echo ready; sleep 86400"], name=IDLE_CONTAINER, labels=labels)
            return engine

        return self._once("docker", make)

    def moto(self) -> str:
        """The endpoint of a moto server process, with one small ECS cluster."""

        def make() -> str:
            endpoint = self.moto_process()
            populate_ecs(endpoint, clusters=1, services=3)
            return endpoint

        return str(self._once("moto", make))

    def moto_process(self) -> str:
        port = free_port()
        log = (self.workdir / f"moto-{port}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "MOTO_EC2_LOAD_DEFAULT_AMIS": "false"},
        )
        self._stack.callback(stop_process, process)
        self._stack.callback(log.close)
        _wait_port(port, process, "moto server")
        return f"http://127.0.0.1:{port}"

    def kube(self, pods: int, namespaces: int) -> Path:
        """A kubeconfig for a fake Kubernetes API process holding `pods` pods."""
        kubeconfig = self.workdir / "kubeconfig"
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.fake_kube", str(kubeconfig), str(pods), str(namespaces)],
            stdout=subprocess.PIPE,
            stdin=subprocess.PIPE,
        )
        self._stack.callback(stop_process, process)
        assert process.stdout is not None
        if process.stdout.readline().strip() != b"ready":
            raise RuntimeError("the fake Kubernetes API did not start")
        return kubeconfig

    def six_targets(self) -> list[dict[str, Any]]:
        """Redis, PostgreSQL, RabbitMQ, HTTP, compose and ECS, as an inventory lists them."""
        redis, postgres, rabbitmq = self.redis(), self.postgres(), self.rabbitmq()
        http, engine, moto = self.http(), self.docker(), self.moto()
        return [
            {"kind": "redis", "name": "bench-cache", "url": redis.url},
            {
                "kind": "postgres",
                "name": "bench-orders-db",
                "url": postgres.dsn_without_password,
                "password": {"env": PG_PASSWORD_ENV},
            },
            {
                "kind": "rabbitmq",
                "name": "bench-broker",
                "url": f"amqp://{rabbitmq.user}@{rabbitmq.address}/%2F",
                "password": {"env": MQ_PASSWORD_ENV},
                "options": {"management_url": rabbitmq.management_url},
            },
            {"kind": "http", "name": "bench-api", "url": http.url("/health")},
            {"kind": "compose", "name": "bench-docker", "url": engine.base_url},
            ecs_target("bench-aws", moto),
        ]


def ecs_target(name: str, endpoint: str) -> dict[str, Any]:
    return {
        "kind": "ecs",
        "name": name,
        "options": {"region": "us-east-1", "endpoint_url": endpoint, "max_attempts": 1},
    }


def _wait_port(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if port_open("127.0.0.1", port):
            return
        if process.poll() is not None:
            break
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port}")


def populate_ecs(endpoint: str, *, clusters: int, services: int) -> None:
    """`services` Fargate services spread over `clusters` clusters, one task definition."""
    import boto3

    session = boto3.session.Session(**_aws_keys())
    ecs = session.client("ecs", region_name="us-east-1", endpoint_url=endpoint)
    ec2 = session.client("ec2", region_name="us-east-1", endpoint_url=endpoint)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    definition = ecs.register_task_definition(
        family="bench-api",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[{"name": "api", "image": "bench/api:1.0", "essential": True}],
    )["taskDefinition"]["taskDefinitionArn"]
    names = [f"bench-cluster-{n}" for n in range(clusters)]
    for cluster in names:
        ecs.create_cluster(clusterName=cluster)
    network = {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": []}}
    for index in range(services):
        ecs.create_service(
            cluster=names[index % clusters],
            serviceName=f"bench-svc-{index:03d}",
            taskDefinition=definition,
            desiredCount=1,
            launchType="FARGATE",
            networkConfiguration=network,
        )


def _aws_keys() -> dict[str, str]:
    return {
        "aws_access_key_id": AWS_ENV["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": AWS_ENV["AWS_SECRET_ACCESS_KEY"],
    }
