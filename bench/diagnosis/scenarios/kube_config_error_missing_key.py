"""Someone recreated the secret catalog-secrets from an .env file: its key is now DB_PASSWORD,
while catalog's pods read db-password. The pods already running keep the value they started
with; the 3.9.0 rollout's first new pod cannot be created (CreateContainerConfigError), so the
rollout never finishes. The operator only knows the deploy timed out."""

from bench.diagnosis import faults_kube as f
from bench.diagnosis.scenario import Scenario
from tests.servers.kube_objects import secret

OLD, NEW = "54b8c9d7f6", "6c5d8b7f9"
MISSING_KEY = "couldn't find key db-password in Secret shop/catalog-secrets"


def make(env):  # type: ignore[no-untyped-def]
    app = "catalog"
    env.kube_put(secret(f"{app}-secrets", f.NS, {"DB_PASSWORD": "hunter2-supersecret"}))
    old_container = f.app_container(app, "3.8.2")
    new_container = f.app_container(app, "3.9.0")
    old = [
        f.app_pod(
            app,
            OLD,
            suffix,
            old_container,
            [f.up(old_container, since=520_000)],
            node=node,
            age_seconds=520_000,
        )
        for node, suffix in ((1, "c8rwm"), (2, "h5tpz"))
    ]
    new = f.app_pod(
        app,
        NEW,
        "vj4ts",
        new_container,
        [f.stuck(new_container, "CreateContainerConfigError", MISSING_KEY)],
        node=0,
        phase="Pending",
        age_seconds=1150,
    )
    env.kube_put(
        f.app_deployment(
            app,
            new_container,
            replicas=2,
            ready=2,
            status={"replicas": 3, "updatedReplicas": 1, "unavailableReplicas": 1},
            conditions=[
                f.condition(
                    "Available",
                    "True",
                    "MinimumReplicasAvailable",
                    "Deployment has minimum availability.",
                    520_000,
                ),
                f.condition(
                    "Progressing",
                    "False",
                    "ProgressDeadlineExceeded",
                    f'ReplicaSet "{app}-{NEW}" has timed out progressing.',
                    550,
                ),
            ],
        )
    )
    f.replace_pods(env, app, *old, new)
    for pod in old:
        f.metrics(env, pod["metadata"]["name"], "95m", "131Mi")
    f.service_endpoints(env, app, f.ips_of(*old))
    name = new["metadata"]["name"]
    f.put_events(
        env,
        f.pod_event(
            name,
            "Pulled",
            f'Container image "{new_container["image"]}" already present on machine',
            warning=False,
            count=68,
            seconds_ago=12,
        ),
        f.pod_event(name, "Failed", f"Error: {MISSING_KEY}", count=68, seconds_ago=12),
    )


SCENARIO = Scenario(
    symptom=(
        "the catalog deploy that went out at 10:05 never finished: the pipeline timed out "
        "waiting for the rollout and the old version is still the one serving"
    ),
    style="vague",
    kind="kubernetes",
    expected=(
        "the new catalog pods cannot start: the secret catalog-secrets no longer has the key "
        "db-password their environment reads (CreateContainerConfigError)"
    ),
    accept=(("k8s-application-wont-start", "missing-environment"),),
    about="catalog",
    make=make,
)
