"""The new `loyalty` service (a deployment of namespace shop) went live this morning. It keeps
its data in its own database, `loyalty`, on the shop's PostgreSQL server (orders-db). Creating
that database was a step of the platform team's Terraform change, which was approved but never
applied: the server is up and the shop's database works, but there is no database `loyalty` on
it. Each loyalty pod connects at start, is refused (FATAL: database "loyalty" does not exist),
exits 1 and crash-loops; the storefront's points widget is empty. The operator pastes the
pod's previous log and asks."""

from datetime import UTC, datetime, timedelta

from bench.diagnosis import faults_kube as f
from bench.diagnosis.faults_heldout3 import connect_error
from bench.diagnosis.scenario import Scenario
from tests.servers.kube_objects import healthy_app

APP = "loyalty"
RS = "84c6f9d7b"


def last_run(refused: str) -> list[str]:
    at = (datetime.now(UTC) - timedelta(seconds=52)).strftime("%Y-%m-%d %H:%M:%S")
    return [
        f"{at},301 INFO loyalty: starting loyalty 1.0.0 (env=prod)",
        f"{at},322 INFO loyalty.db: connecting to the database",
        "Traceback (most recent call last):",
        '  File "/app/loyalty/__main__.py", line 9, in <module>',
        "    asyncio.run(main())",
        '  File "/app/loyalty/app.py", line 31, in main',
        "    pool = await open_pool(settings.database_url)",
        '  File "/usr/local/lib/python3.12/site-packages/psycopg/connection_async.py", '
        "line 142, in connect",
        "    raise last_ex.with_traceback(None)",
        *refused.splitlines(),
    ]


def make(env):  # type: ignore[no-untyped-def]
    server = env.world.postgres()
    refused = connect_error(server, "loyalty")
    if 'database "loyalty" does not exist' not in refused:
        raise AssertionError(refused)
    container = f.app_container(
        APP,
        "1.0.0",
        extra_env=[
            f.plain("DATABASE_URL", f"postgresql://{server.user}@{server.address}/loyalty"),
            f.plain("REDIS_URL", "redis://cache.shop.svc:6379/3"),
        ],
    )
    kept = ("Secret", "ConfigMap", "Service")
    env.kube_put(*(obj for obj in healthy_app(f.NS, APP, replicas=2) if obj["kind"] in kept))
    pods = []
    for node, suffix, restarts in ((0, "h2v6r", 23), (2, "x7b4p", 22)):
        name = f"{APP}-{RS}-{suffix}"
        pods.append(
            f.app_pod(
                APP,
                RS,
                suffix,
                container,
                [f.crash_looping(container, name, restarts=restarts, reason="Error", exit_code=1)],
                node=node,
                age_seconds=6200,
            )
        )
    env.kube_put(
        f.app_deployment(
            APP,
            container,
            replicas=2,
            ready=0,
            status={"unavailableReplicas": 2, "updatedReplicas": 2, "replicas": 2},
            conditions=[
                f.condition(
                    "Available",
                    "False",
                    "MinimumReplicasUnavailable",
                    "Deployment does not have minimum availability.",
                    6200,
                ),
                f.condition(
                    "Progressing",
                    "False",
                    "ProgressDeadlineExceeded",
                    f'ReplicaSet "{APP}-{RS}" has timed out progressing.',
                    5600,
                ),
            ],
            generation=1,
        ),
        *pods,
    )
    f.service_endpoints(env, APP, [], f.ips_of(*pods))
    for pod in pods:
        name = pod["metadata"]["name"]
        f.put_events(
            env,
            f.pod_event(
                name,
                "BackOff",
                f"Back-off restarting failed container app in pod {name}_shop(uid-{name})",
                count=410,
                seconds_ago=30,
            ),
        )
        f.add_log(env, name, "\n".join(last_run(refused)), previous=True)
    env.values["loyalty_log"] = "\n".join(last_run(refused)[-4:])


SCENARIO = Scenario(
    symptom=(
        "the new loyalty service we launched this morning never came up, both pods are in "
        "CrashLoopBackOff. end of the previous container's log:\n"
        "$ kubectl logs -n shop deploy/loyalty --previous | tail -4\n"
        "{loyalty_log}\n"
        "what's missing?"
    ),
    style="question",
    kind="postgres",
    cascade=True,
    expected=(
        "orders-db has no database `loyalty` (its creation was never applied): the server is "
        "up and refuses loyalty's connection to that database, so loyalty exits at start and "
        "crash-loops"
    ),
    accept=(
        ("db-cannot-connect", "database-not-initialised"),
        ("db-missing-relation", "wrong-database"),
    ),
    about="orders-db",
    make=make,
)
