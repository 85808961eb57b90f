"""Healthy twin: a catalog rollout (3.9.1) has just started. Its first new pod was scheduled a few
seconds ago and is pulling its image (ContainerCreating); the two old pods serve. Nothing is
wrong: the operator who just deployed is impatient."""

from bench.diagnosis import faults_kube as f
from bench.diagnosis.scenario import Scenario

OLD, NEW = "5f8d6c7b9", "6b7c9d8f5"


def make(env):  # type: ignore[no-untyped-def]
    app = "catalog"
    old_container = f.app_container(app, "3.9.0")
    new_container = f.app_container(app, "3.9.1")
    old = [
        f.app_pod(
            app,
            OLD,
            suffix,
            old_container,
            [f.up(old_container, since=180_000)],
            node=node,
            age_seconds=180_000,
        )
        for node, suffix in ((0, "h7kqd"), (1, "zt9wm"))
    ]
    new = f.app_pod(
        app,
        NEW,
        "p4n2x",
        new_container,
        [f.stuck(new_container, "ContainerCreating")],
        node=2,
        phase="Pending",
        age_seconds=6,
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
                    180_000,
                ),
                f.condition(
                    "Progressing",
                    "True",
                    "ReplicaSetUpdated",
                    f'ReplicaSet "{app}-{NEW}" is progressing.',
                    6,
                ),
            ],
            generation=9,
        )
    )
    f.replace_pods(env, app, *old, new)
    for pod in old:
        f.metrics(env, pod["metadata"]["name"], "110m", "139Mi")
    f.service_endpoints(env, app, f.ips_of(*old))
    name = new["metadata"]["name"]
    f.put_events(
        env,
        f.pod_event(
            name,
            "Scheduled",
            f"Successfully assigned shop/{name} to {f.NODES[2]}",
            warning=False,
            seconds_ago=6,
            component="default-scheduler",
        ),
        f.pod_event(
            name,
            "Pulling",
            f'Pulling image "{new_container["image"]}"',
            warning=False,
            seconds_ago=5,
        ),
    )


SCENARIO = Scenario(
    symptom=(
        "just shipped catalog 3.9.1 and one pod is stuck, is this broken?\n"
        "$ kubectl get pods -n shop -l app=catalog\n"
        "NAME                      READY   STATUS              RESTARTS   AGE\n"
        "catalog-5f8d6c7b9-h7kqd   1/1     Running             0          2d2h\n"
        "catalog-5f8d6c7b9-zt9wm   1/1     Running             0          2d2h\n"
        "catalog-6b7c9d8f5-p4n2x   0/1     ContainerCreating   0          6s"
    ),
    style="paste",
    kind="kubernetes",
    expected=(
        "nothing: catalog's rollout has just started, its new pod is pulling its image "
        "(ContainerCreating for 6 s) while the old pods serve"
    ),
    about="catalog",
    make=make,
)
