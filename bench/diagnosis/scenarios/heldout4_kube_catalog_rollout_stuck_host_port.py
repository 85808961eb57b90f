"""catalog 3.8.0 exposes Prometheus metrics on port 9100. Its developer copied the port block
from the monitoring team's node-exporter manifest, `hostPort: 9100` included. node-exporter is a
DaemonSet (namespace monitoring) holding host port 9100 on every node, so the scheduler finds no
node where the new catalog pod's host port is free: the rollout's first new pod stays Pending
(FailedScheduling: didn't have free ports for the requested pod ports), the two old pods keep
serving, and after ten minutes the deployment exceeds its progress deadline. The operator pastes
what `kubectl rollout status` says."""

from bench.diagnosis import faults_kube as f
from bench.diagnosis.faults_heldout4 import host_port_daemonset
from bench.diagnosis.scenario import Scenario

APP = "catalog"
OLD, NEW = "7c4d9b6f8", "84f6b7d9c"
UNSCHEDULABLE = (
    "0/3 nodes are available: 3 node(s) didn't have free ports for the requested pod ports. "
    "preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod."
)


def make(env):  # type: ignore[no-untyped-def]
    host_port_daemonset(env, "node-exporter", "monitoring", 9100, f.NODES)
    old_container = f.app_container(APP, "3.7.4")
    new_container = f.app_container(APP, "3.8.0")
    new_container["ports"] = [
        {"name": "http", "containerPort": 8000, "protocol": "TCP"},
        {"name": "metrics", "containerPort": 9100, "hostPort": 9100, "protocol": "TCP"},
    ]
    old = [
        f.app_pod(
            APP,
            OLD,
            suffix,
            old_container,
            [f.up(old_container, since=610_000)],
            node=node,
            age_seconds=610_000,
        )
        for node, suffix in ((0, "q2v8n"), (2, "l6j3f"))
    ]
    new = f.app_pod(
        APP,
        NEW,
        "x9c5r",
        new_container,
        [],
        node=None,
        phase="Pending",
        age_seconds=3720,
        conditions=[
            f.pod_condition(
                "PodScheduled",
                "False",
                3720,
                reason="Unschedulable",
                message=UNSCHEDULABLE,
                lastProbeTime=None,
            )
        ],
    )
    env.kube_put(
        f.app_deployment(
            APP,
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
                    610_000,
                ),
                f.condition(
                    "Progressing",
                    "False",
                    "ProgressDeadlineExceeded",
                    f'ReplicaSet "{APP}-{NEW}" has timed out progressing.',
                    3120,
                ),
            ],
            generation=14,
        )
    )
    f.replace_pods(env, APP, *old, new)
    for pod in old:
        f.metrics(env, pod["metadata"]["name"], "95m", "148Mi")
    f.service_endpoints(env, APP, f.ips_of(*old))
    name = new["metadata"]["name"]
    f.put_events(
        env,
        f.pod_event(
            name,
            "FailedScheduling",
            UNSCHEDULABLE,
            count=17,
            seconds_ago=44,
            component="default-scheduler",
        ),
    )
    found = env.world.kube().get("Pod", f.NS, name)
    if found is None or found["status"]["phase"] != "Pending":
        raise AssertionError(f"{name} is not pending")


SCENARIO = Scenario(
    symptom=(
        "the catalog 3.8.0 deploy from an hour ago never finished, the pipeline timed out "
        "on this:\n"
        "$ kubectl rollout status deploy/catalog -n shop\n"
        'Waiting for deployment "catalog" rollout to finish: 1 out of 2 new replicas have been '
        "updated...\n"
        'error: deployment "catalog" exceeded its progress deadline\n'
        "the old pods are still serving. what's it stuck on?"
    ),
    style="paste",
    kind="kubernetes",
    expected=(
        "catalog 3.8.0's new pod cannot be scheduled: it asks for hostPort 9100, which "
        "node-exporter (a DaemonSet) already holds on every node (FailedScheduling: didn't have "
        "free ports for the requested pod ports)"
    ),
    accept=(("k8s-pods-pending", "host-port-taken"),),
    about="catalog",
    make=make,
)
