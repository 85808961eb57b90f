"""Friday's broker clean-up removed the virtual hosts that looked unused in the management UI, and
`catalog` went with them: its only queue, product-updates, was empty at the time. search-indexer
(a deployment of namespace shop) consumes product-updates on that vhost to keep the search index
in step with the catalog. RabbitMQ closed its connections when the vhost went; since then every
start of the indexer is refused at the vhost (NOT_ALLOWED - vhost catalog not found), it exits
and crash-loops. Search results go stale. The broker itself is fine and the shop's own vhost
works. The operator pastes the indexer's last run."""

from datetime import UTC, datetime, timedelta

from bench.diagnosis import faults_kube as f
from bench.diagnosis.faults_heldout2 import vhost_gone
from bench.diagnosis.scenario import Scenario
from tests.servers.kube_objects import healthy_app

APP = "search-indexer"
RS = "7f6d5c8b9"
CONNECTOR = "pika.adapters.utils.connection_workflow"


def last_run(port: object, refused: str) -> list[str]:
    at = (datetime.now(UTC) - timedelta(seconds=46)).strftime("%Y-%m-%d %H:%M:%S")
    return [
        f"{at},118 INFO search_indexer: starting search-indexer 2.4.1 "
        "(queue=product-updates, index=products-v7)",
        f"{at},204 INFO search_indexer.search: OpenSearch "
        "http://opensearch.search.svc:9200 is green",
        f"{at},219 INFO pika.adapters.utils.io_services_utils: Pika version "
        f"1.3.2 connecting to ('127.0.0.1', {port})",
        f"{at},231 ERROR {CONNECTOR}: AMQP connection workflow failed: "
        "AMQPConnectionWorkflowFailed: 1 exceptions in all; last exception - "
        f"{refused.split(': ', 1)[1]}.",
        "Traceback (most recent call last):",
        '  File "/app/search_indexer/__main__.py", line 4, in <module>',
        "    main()",
        '  File "/app/search_indexer/consumer.py", line 38, in main',
        "    connection = pika.BlockingConnection(pika.URLParameters(settings.amqp_url))",
        '  File "/usr/local/lib/python3.12/site-packages/pika/adapters/blocking_connection.py", '
        "line 478, in _create_connection",
        "    raise self._reap_last_connection_workflow_error(error)",
        refused,
    ]


def make(env):  # type: ignore[no-untyped-def]
    refused = vhost_gone(env, "catalog")
    broker = env.world.rabbitmq()
    container = f.app_container(
        APP,
        "2.4.1",
        extra_env=[
            f.plain("AMQP_URL", f"amqp://{broker.user}@127.0.0.1:{broker.port}/catalog"),
            f.plain("QUEUE", "product-updates"),
            f.plain("OPENSEARCH_URL", "http://opensearch.search.svc:9200"),
        ],
        probe_path=None,
    )
    # What the app has around it in the namespace: its secret, config map and service.
    kept = ("Secret", "ConfigMap", "Service")
    env.kube_put(*(obj for obj in healthy_app(f.NS, APP, replicas=1) if obj["kind"] in kept))
    pods = []
    for node, suffix, restarts in ((1, "w4q8n", 47), (2, "c9zpx", 46)):
        name = f"{APP}-{RS}-{suffix}"
        pods.append(
            f.app_pod(
                APP,
                RS,
                suffix,
                container,
                [f.crash_looping(container, name, restarts=restarts, reason="Error", exit_code=1)],
                node=node,
                age_seconds=1_900_000,
            )
        )
    env.kube_put(
        f.app_deployment(
            APP,
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
                    230_000,
                ),
                f.condition(
                    "Progressing",
                    "True",
                    "NewReplicaSetAvailable",
                    f'ReplicaSet "{APP}-{RS}" has successfully progressed.',
                    1_900_000,
                ),
            ],
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
                count=1180,
                seconds_ago=40,
            ),
        )
        f.add_log(env, name, "\n".join(last_run(broker.port, refused)), previous=True)


SCENARIO = Scenario(
    symptom=(
        "search results are stale since the weekend (new products don't show up) and the "
        "search-indexer pods keep restarting. last run:\n"
        "$ kubectl logs -n shop search-indexer-7f6d5c8b9-w4q8n --previous | tail -3\n"
        '  File "/usr/local/lib/python3.12/site-packages/pika/adapters/blocking_connection.py", '
        "line 478, in _create_connection\n"
        "    raise self._reap_last_connection_workflow_error(error)\n"
        "pika.exceptions.ProbableAccessDeniedError: ConnectionClosedByBroker: (530) "
        "'NOT_ALLOWED - vhost catalog not found'"
    ),
    style="paste",
    kind="rabbitmq",
    cascade=True,
    expected=(
        "the broker no longer has the virtual host `catalog` (deleted in Friday's clean-up): "
        "search-indexer's connection is refused at the vhost (NOT_ALLOWED - vhost catalog not "
        "found), so it exits at start and crash-loops (the broker's missing vhost is the root "
        "cause)"
    ),
    accept=(("mq-connection-refused", "vhost-missing"),),
    about="broker",
    make=make,
)
