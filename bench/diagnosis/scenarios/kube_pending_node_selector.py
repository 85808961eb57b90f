"""payment-worker 4.3.0 asks for nodes labelled workload-class=payments (a node group that was
never created): its first new pod stays Pending, the rollout stalls, the old pods keep running.
The operator pastes `kubectl get pods`."""

from bench.diagnosis import faults_kube as f
from bench.diagnosis.scenario import Scenario

UNSCHEDULABLE = (
    "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. preemption: "
    "0/3 nodes are available: 3 Preemption is not helpful for scheduling."
)
OLD, NEW = "7c5f8d9b6", "6d4b9c8f7"


def make(env):  # type: ignore[no-untyped-def]
    app = "payment-worker"
    old_container = f.app_container(app, "4.2.3", probe_path=None)
    new_container = f.app_container(app, "4.3.0", probe_path=None)
    template = {"nodeSelector": {"workload-class": "payments"}}
    old = [
        f.app_pod(
            app,
            OLD,
            suffix,
            old_container,
            [f.up(old_container, since=188_000)],
            node=node,
            age_seconds=188_000,
        )
        for node, suffix in ((0, "h2kfx"), (2, "tq8mz"))
    ]
    new = f.app_pod(
        app,
        NEW,
        "w5ztl",
        new_container,
        [],
        phase="Pending",
        node=None,
        age_seconds=1330,
        conditions=[
            f.pod_condition(
                "PodScheduled",
                "False",
                1330,
                reason="Unschedulable",
                message=UNSCHEDULABLE,
                lastProbeTime=None,
            )
        ],
    )
    new["spec"].update(template)
    deployment = f.app_deployment(
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
                188_000,
            ),
            f.condition(
                "Progressing",
                "False",
                "ProgressDeadlineExceeded",
                f'ReplicaSet "{app}-{NEW}" has timed out progressing.',
                730,
            ),
        ],
    )
    deployment["spec"]["template"]["spec"].update(template)
    env.kube_put(deployment)
    f.replace_pods(env, app, *old, new)
    for pod in old:
        f.metrics(env, pod["metadata"]["name"], "85m", "142Mi")
    f.service_endpoints(env, app, f.ips_of(*old))
    f.put_events(
        env,
        f.pod_event(
            new["metadata"]["name"],
            "FailedScheduling",
            UNSCHEDULABLE,
            count=19,
            seconds_ago=70,
            component="default-scheduler",
        ),
    )


SCENARIO = Scenario(
    symptom=(
        "payment-worker 4.3.0 deploy has been stuck for 20 min, the pipeline is waiting on the "
        "rollout:\n"
        "$ kubectl get pods -n shop -l app=payment-worker\n"
        "NAME                             READY   STATUS    RESTARTS   AGE\n"
        "payment-worker-6d4b9c8f7-w5ztl   0/1     Pending   0          22m\n"
        "payment-worker-7c5f8d9b6-h2kfx   1/1     Running   0          2d4h\n"
        "payment-worker-7c5f8d9b6-tq8mz   1/1     Running   0          2d4h"
    ),
    style="paste",
    kind="kubernetes",
    expected=(
        "the new payment-worker pod cannot be scheduled: its nodeSelector workload-class=payments "
        "matches no node (0/3 nodes are available: 3 node(s) didn't match Pod's node "
        "affinity/selector)"
    ),
    accept=(("k8s-pods-pending", "node-selector-mismatch"),),
    about="payment-worker",
    make=make,
)
