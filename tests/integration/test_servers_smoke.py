"""The private test servers are real: they answer, and the faults the tests inject happen."""

from __future__ import annotations

import socket
import time
import uuid

import docker
import docker.errors
import httpx
import pika
import pika.exceptions
import psycopg
import pytest

from tests.servers.docker_engine import DockerEngine
from tests.servers.fixtures import PostgresFactory
from tests.servers.postgres import PostgresServer
from tests.servers.process import port_open
from tests.servers.rabbitmq import RabbitMQServer

pytestmark = pytest.mark.integration


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# -- PostgreSQL ------------------------------------------------------------------------------


def test_postgres_answers_select_1(postgres_server: PostgresServer) -> None:
    with psycopg.connect(postgres_server.dsn, connect_timeout=5) as conn:
        assert conn.execute("select 1").fetchone() == (1,)
        assert conn.execute("select current_user").fetchone() == (postgres_server.user,)
    assert postgres_server.host == "127.0.0.1"
    assert postgres_server.port != 5432  # private, not the system cluster


def test_postgres_rejects_a_wrong_password(postgres_server: PostgresServer) -> None:
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(postgres_server.dsn_with_password("not-the-password"), connect_timeout=5)


def test_postgres_needs_a_password_over_tcp(postgres_server: PostgresServer) -> None:
    with pytest.raises(psycopg.OperationalError, match="no password supplied"):
        psycopg.connect(
            postgres_server.dsn_without_password, connect_timeout=5, passfile="/dev/null"
        )


def test_private_postgres_stopped_refuses_connections(
    postgres_factory: PostgresFactory,
) -> None:
    server = postgres_factory()
    assert server.execute("select 41 + 1") == [(42,)]

    server.stop()

    assert not port_open(server.host, server.port)
    with pytest.raises(psycopg.OperationalError, match="refused"):
        psycopg.connect(server.dsn, connect_timeout=5)

    server.start()
    assert server.execute("select 1") == [(1,)]


def test_private_postgres_runs_out_of_connections(postgres_factory: PostgresFactory) -> None:
    server = postgres_factory(max_connections=4)

    held = server.exhaust_connections()

    assert len(held) == 4
    with pytest.raises(psycopg.OperationalError, match="too many clients"):
        psycopg.connect(server.dsn, connect_timeout=5)
    server.release_connections()
    assert server.execute("select 1") == [(1,)]


def test_private_postgres_instances_are_separate(
    postgres_server: PostgresServer, postgres_factory: PostgresFactory
) -> None:
    server = postgres_factory()
    server.execute("create table only_here (id int)")
    assert server.port != postgres_server.port
    assert postgres_server.execute("select to_regclass('only_here')") == [(None,)]


# -- RabbitMQ --------------------------------------------------------------------------------


def test_rabbitmq_backlog_depth_over_amqp_and_management(
    rabbitmq_server: RabbitMQServer,
) -> None:
    queue = unique("backlog")

    rabbitmq_server.publish(queue, 10_000)

    with rabbitmq_server.connect() as connection:
        declared = connection.channel().queue_declare(queue=queue, passive=True)
    assert declared.method.message_count == 10_000
    assert rabbitmq_server.wait_for_management_depth(queue, 10_000) == 10_000
    overview = httpx.get(
        f"{rabbitmq_server.management_url}/api/overview",
        auth=(rabbitmq_server.user, rabbitmq_server.password),
        timeout=10,
    ).json()
    assert overview["node"] == rabbitmq_server.nodename
    rabbitmq_server.delete_queue(queue)


def test_rabbitmq_refuses_a_missing_vhost(rabbitmq_server: RabbitMQServer) -> None:
    vhost = unique("vhost")
    rabbitmq_server.create_vhost(vhost)
    rabbitmq_server.publish("jobs", 3, vhost=vhost)
    assert rabbitmq_server.queue_depth("jobs", vhost=vhost) == 3

    rabbitmq_server.delete_vhost(vhost)

    with pytest.raises(pika.exceptions.ProbableAccessDeniedError, match="not found"):
        rabbitmq_server.connect(vhost)
    response = rabbitmq_server.api("GET", f"/api/vhosts/{vhost}")
    assert response.status_code == 404


def test_rabbitmq_rejects_a_wrong_password(rabbitmq_server: RabbitMQServer) -> None:
    with pytest.raises(pika.exceptions.ProbableAuthenticationError):
        rabbitmq_server.connect(password="wrong")
    assert rabbitmq_server.amqp_port != 5672  # private, not the system node


def test_rabbitmqctl_reaches_the_private_node(rabbitmq_server: RabbitMQServer) -> None:
    vhost = unique("ctl")
    rabbitmq_server.create_vhost(vhost)
    listed = rabbitmq_server.rabbitmqctl("list_vhosts", "--quiet", "--no-table-headers")
    rabbitmq_server.delete_vhost(vhost)
    assert vhost in listed.stdout.split()


# -- Docker ----------------------------------------------------------------------------------


def test_docker_runs_a_container_and_reads_its_logs(
    docker_engine: DockerEngine, docker_client: docker.DockerClient
) -> None:
    line = unique("hello-from-container")
    container = docker_client.containers.run(docker_engine.image, ["echo", line], detach=True)

    result = container.wait(timeout=30)

    assert result["StatusCode"] == 0
    assert container.logs().decode().strip() == line


def test_docker_crash_looping_container_shows_exit_code_and_restarts(
    docker_engine: DockerEngine, docker_client: docker.DockerClient
) -> None:
    container = docker_client.containers.run(
        docker_engine.image,
        ["sh", "-c", "echo crashing; exit 3"],
        detach=True,
        restart_policy={"Name": "on-failure", "MaximumRetryCount": 2},
    )

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        container.reload()
        if container.status == "exited" and container.attrs["RestartCount"] == 2:
            break
        time.sleep(0.2)

    assert container.attrs["State"]["ExitCode"] == 3
    assert container.attrs["RestartCount"] == 2
    assert container.logs().decode().count("crashing") == 3


def test_docker_published_port_serves_and_a_taken_port_is_refused(
    docker_engine: DockerEngine, docker_client: docker.DockerClient
) -> None:
    web = docker_client.containers.run(
        docker_engine.image,
        ["httpd", "-f", "-p", "8080", "-h", "/etc"],
        detach=True,
        ports={"8080/tcp": ("127.0.0.1", None)},
    )
    web.reload()
    host_port = int(web.attrs["NetworkSettings"]["Ports"]["8080/tcp"][0]["HostPort"])
    deadline = time.monotonic() + 10
    body = ""
    while time.monotonic() < deadline and "root:x:0:0" not in body:
        try:
            body = httpx.get(f"http://127.0.0.1:{host_port}/passwd", timeout=2).text
        except httpx.HTTPError:
            time.sleep(0.1)
    assert "root:x:0:0" in body

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(docker.errors.APIError, match="address already in use"):
            docker_client.containers.run(
                docker_engine.image,
                ["sleep", "30"],
                detach=True,
                ports={"8080/tcp": ("127.0.0.1", port)},
            )
