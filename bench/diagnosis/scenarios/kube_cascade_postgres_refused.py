"""The orders database (target orders-db) is down: nothing listens on its port any more.
payment-worker, whose DATABASE_URL names that address, connects at start, gets "Connection
refused", exits, and crash-loops. The alert names a payment-worker pod; the database is the
cause."""

from bench.diagnosis import faults_kube as f
from bench.diagnosis.scenario import Scenario

RS = "6b8f5d7c9"


def crash(host: str, port: int) -> str:
    return f"""\
2026-12-07 14:02:31,775 INFO payment_worker: starting payment-worker 4.2.3 (queue=payments)
2026-12-07 14:02:31,779 INFO payment_worker.db: connecting to the orders database
Traceback (most recent call last):
  File "/app/payment_worker/__main__.py", line 5, in <module>
    run()
  File "/app/payment_worker/main.py", line 22, in run
    with psycopg.connect(settings.database_url, password=settings.database_password) as conn:
         ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/usr/local/lib/python3.12/site-packages/psycopg/connection.py", line 119, in connect
    raise last_ex.with_traceback(None)
psycopg.OperationalError: connection failed: connection to server at "{host}", port {port} \
failed: Connection refused
\tIs the server running on that host and accepting TCP/IP connections?"""


def make(env):  # type: ignore[no-untyped-def]
    env.dead_address("orders-db", "postgres", "postgresql")
    host, port = env.values["orders-db_address"].rsplit(":", 1)
    app = "payment-worker"
    container = f.app_container(
        app,
        "4.2.3",
        extra_env=[
            f.plain("QUEUE", "payments"),
            f.plain("DATABASE_URL", f"postgresql://payments@{host}:{port}/shop"),
        ],
        probe_path=None,
    )
    pods = []
    for node, suffix, restarts in ((0, "d5kzq", 9), (2, "x8fnp", 8)):
        name = f"{app}-{RS}-{suffix}"
        pods.append(
            f.app_pod(
                app,
                RS,
                suffix,
                container,
                [f.crash_looping(container, name, restarts=restarts, reason="Error", exit_code=1)],
                node=node,
                age_seconds=350_000,
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
                    1500,
                ),
                f.condition(
                    "Progressing",
                    "True",
                    "NewReplicaSetAvailable",
                    f'ReplicaSet "{app}-{RS}" has successfully progressed.',
                    350_000,
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
                count=57,
                seconds_ago=25,
            ),
        )
        f.add_log(env, name, crash(host, int(port)), previous=True)


SCENARIO = Scenario(
    symptom=(
        "[FIRING:2] KubePodCrashLooping shop-prod-eks (app payment-worker-6b8f5d7c9-d5kzq shop "
        "warning)\n"
        "Pod shop/payment-worker-6b8f5d7c9-d5kzq (app) is in waiting state (reason: "
        '"CrashLoopBackOff").'
    ),
    style="alert",
    kind="postgres",
    cascade=True,
    expected=(
        "the orders database (orders-db) is down and refuses connections: payment-worker cannot "
        "connect at start (psycopg Connection refused) and crash-loops"
    ),
    accept=(
        ("db-cannot-connect", "server-down"),
        ("db-cannot-connect", "database-container-stopped"),
        ("k8s-application-wont-start", "database-unreachable"),
        ("env-health", "database-down"),
        ("app-server-errors", "database-unavailable"),
        ("app-error-codes", "e001-database-connection-failed"),
        ("compose-services-wont-start", "infrastructure-postgres-down"),
        ("host-full-system-recovery", "database-down"),
        ("app-cannot-log-in", "database-unavailable"),
    ),
    about="orders-db",
    make=make,
)
