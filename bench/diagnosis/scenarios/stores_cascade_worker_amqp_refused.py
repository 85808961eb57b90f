"""The broker is down; the compose worker that consumes orders fails to connect at start and
its restart policy brings it back, again and again. The operator pastes its compose logs."""

import shlex

from bench.diagnosis.faults_stores import dead_broker
from bench.diagnosis.scenario import Scenario

STAMP = "2026-12-07 14:10:02,{ms:03d}"
PIKA = "pika.adapters.utils.connection_workflow"
FAILED = (
    "AMQPConnectionWorkflowFailed: 1 exceptions in all; last exception - "
    "AMQPConnectorSocketConnectError: ConnectionRefusedError(111, 'Connection refused'); "
    "first exception - None"
)


def worker_log(port: object) -> list[str]:
    """What pika 1.3 logs, then the worker's traceback, when nothing listens on `port` (a
    number, or the symptom's placeholder)."""
    return [
        f"{STAMP.format(ms=7)} INFO {PIKA}: Pika version 1.3.2 connecting to ('127.0.0.1', {port})",
        f"{STAMP.format(ms=7)} ERROR pika.adapters.utils.io_services_utils: Socket failed to "
        "connect: <socket.socket fd=6, family=2, type=1, proto=6, laddr=('127.0.0.1', 48996)>; "
        "error=111 (Connection refused)",
        f"{STAMP.format(ms=8)} ERROR {PIKA}: TCP Connection attempt failed: "
        "ConnectionRefusedError(111, 'Connection refused'); dest=(<AddressFamily.AF_INET: 2>, "
        f"<SocketKind.SOCK_STREAM: 1>, 6, '', ('127.0.0.1', {port}))",
        f"{STAMP.format(ms=8)} ERROR {PIKA}: AMQPConnector - reporting failure: "
        "AMQPConnectorSocketConnectError: ConnectionRefusedError(111, 'Connection refused')",
        f"{STAMP.format(ms=8)} ERROR {PIKA}: AMQP connection workflow failed: {FAILED}.",
        f"{STAMP.format(ms=8)} ERROR pika.adapters.blocking_connection: Connection workflow "
        f"failed: {FAILED}",
        "Traceback (most recent call last):",
        '  File "/app/worker.py", line 23, in <module>',
        '    connection = pika.BlockingConnection(pika.URLParameters(os.environ["AMQP_URL"]))',
        '  File "/usr/local/lib/python3.12/site-packages/pika/adapters/blocking_connection.py", '
        "line 360, in __init__",
        "    self._impl = self._create_connection(parameters, _impl_class)",
        '  File "/usr/local/lib/python3.12/site-packages/pika/adapters/blocking_connection.py", '
        "line 451, in _create_connection",
        "    raise self._reap_last_connection_workflow_error(error)",
        "pika.exceptions.AMQPConnectionError",
    ]


def make(env):  # type: ignore[no-untyped-def]
    dead_broker(env)
    port = env.values["broker_port"]
    mq = env.world.rabbitmq()
    script = "; ".join(f"echo {shlex.quote(line)}" for line in worker_log(port)) + "; exit 1"
    env.container(
        "worker",
        script,
        env={
            "AMQP_URL": f"amqp://{mq.user}:{mq.password}@127.0.0.1:{port}/%2F",
            "QUEUE": "orders",
        },
        restart=True,
    )


SCENARIO = Scenario(
    symptom=(
        "$ docker compose logs --tail 20 worker\n"
        + "\n".join(f"worker-1  | {line}" for line in worker_log("{broker_port}"))
        + "\nworker-1 exited with code 1"
    ),
    style="paste",
    kind="rabbitmq",
    cascade=True,
    expected=(
        "the broker (RabbitMQ) is down: nothing listens on its AMQP port, so the worker "
        "cannot connect and crash-loops"
    ),
    accept=(
        ("mq-connection-refused", "broker-down"),
        ("compose-services-wont-start", "infrastructure-rabbitmq-down"),
        ("env-health", "broker-down"),
    ),
    about="broker",
    make=make,
)
