"""The broker (RabbitMQ, target `broker`) hangs: it still holds its ports but accepts no new
connection, on AMQP or on its management port (connects time out). payment-worker connects to
it at start, times out, exits, and the kubelet restarts it in a loop. The broker is the cause;
the operator pastes the worker's previous log."""

from bench.diagnosis import faults_kube as f
from bench.diagnosis.faults_heldout import hung_broker
from bench.diagnosis.scenario import Scenario

RS = "7c5f8d9b6"
CONNECTOR = "pika.adapters.utils.connection_workflow"


def crash(port: object) -> list[str]:
    timed_out = (
        "TimeoutError(\"TCP connection attempt timed out: '127.0.0.1'/(<AddressFamily.AF_INET: "
        f"2>, <SocketKind.SOCK_STREAM: 1>, 6, '', ('127.0.0.1', {port}))\")"
    )
    failed = (
        "AMQPConnectionWorkflowFailed: 1 exceptions in all; last exception - "
        f"AMQPConnectorSocketConnectError: {timed_out}; first exception - None"
    )
    return [
        "2026-12-09 16:41:03,118 INFO payment_worker: starting payment-worker 4.2.3 "
        "(queue=payments, prefetch=20)",
        f"2026-12-09 16:41:03,120 INFO {CONNECTOR}: Pika version 1.3.2 connecting to "
        f"('127.0.0.1', {port})",
        f"2026-12-09 16:41:13,131 ERROR {CONNECTOR}: AMQPConnector - reporting failure: "
        f"AMQPConnectorSocketConnectError: {timed_out}",
        f"2026-12-09 16:41:13,132 ERROR {CONNECTOR}: AMQP connection workflow failed: {failed}.",
        "2026-12-09 16:41:13,132 ERROR pika.adapters.blocking_connection: Connection workflow "
        f"failed: {failed}",
        "Traceback (most recent call last):",
        '  File "/app/payment_worker/__main__.py", line 5, in <module>',
        "    run()",
        '  File "/app/payment_worker/main.py", line 31, in run',
        "    connection = pika.BlockingConnection(pika.URLParameters(settings.amqp_url))",
        '  File "/usr/local/lib/python3.12/site-packages/pika/adapters/blocking_connection.py", '
        "line 451, in _create_connection",
        "    raise self._reap_last_connection_workflow_error(error)",
        "pika.exceptions.AMQPConnectionError",
    ]


def make(env):  # type: ignore[no-untyped-def]
    port = hung_broker(env)
    app = "payment-worker"
    user = env.world.rabbitmq().user
    container = f.app_container(
        app,
        "4.2.3",
        extra_env=[
            f.plain("QUEUE", "payments"),
            f.plain("AMQP_URL", f"amqp://{user}@127.0.0.1:{port}/%2F"),
        ],
        probe_path=None,
    )
    pods = []
    for node, suffix, restarts in ((0, "h2kfx", 7), (2, "tq8mz", 7)):
        name = f"{app}-{RS}-{suffix}"
        pods.append(
            f.app_pod(
                app,
                RS,
                suffix,
                container,
                [f.crash_looping(container, name, restarts=restarts, reason="Error", exit_code=1)],
                node=node,
                age_seconds=188_000,
            )
        )
    env.kube_put(
        f.app_deployment(
            app,
            container,
            replicas=2,
            ready=0,
            status={"unavailableReplicas": 2},
            conditions=[
                f.condition(
                    "Available",
                    "False",
                    "MinimumReplicasUnavailable",
                    "Deployment does not have minimum availability.",
                    1100,
                ),
                f.condition(
                    "Progressing",
                    "True",
                    "NewReplicaSetAvailable",
                    f'ReplicaSet "{app}-{RS}" has successfully progressed.',
                    188_000,
                ),
            ],
        )
    )
    f.replace_pods(env, app, *pods)
    f.service_endpoints(env, app, [], f.ips_of(*pods))
    for pod in pods:
        name = pod["metadata"]["name"]
        f.put_events(
            env,
            f.pod_event(
                name,
                "BackOff",
                f"Back-off restarting failed container app in pod {name}_shop(uid-{name})",
                count=36,
                seconds_ago=30,
            ),
        )
        f.add_log(env, name, "\n".join(crash(port)), previous=True)


SCENARIO = Scenario(
    symptom=(
        "payments aren't being processed, worker pods are in a restart loop. last run:\n"
        "$ kubectl logs -n shop payment-worker-7c5f8d9b6-h2kfx --previous\n"
        + "\n".join(crash("{broker_port}"))
    ),
    style="paste",
    kind="rabbitmq",
    cascade=True,
    expected=(
        "the broker (RabbitMQ) does not accept connections any more (connects time out on AMQP "
        "and on the management port): payment-worker cannot connect at start and crash-loops "
        "(the broker is the root cause)"
    ),
    accept=(
        ("mq-connection-refused", "broker-not-answering"),
        ("mq-connection-refused", "broker-down"),
        ("env-health", "broker-down"),
    ),
    about="broker",
    make=make,
)
