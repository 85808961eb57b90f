"""The platform team re-created the node group this morning with a `dedicated=platform:NoSchedule`
taint on every node (meant for a new system node group only). Pods already running stay; new
ones cannot be placed. checkout-api's autoscaler asked for 4 replicas at lunch: the two new pods
stay Pending (untolerated taint), the two old ones carry the load at high CPU. The operator
pastes `kubectl get pods` and asks."""

from bench.diagnosis import faults_kube as f
from bench.diagnosis.scenario import Scenario

UNSCHEDULABLE = (
    "0/3 nodes are available: 3 node(s) had untolerated taint {dedicated: platform}. "
    "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
)


def make(env):  # type: ignore[no-untyped-def]
    app = "checkout-api"
    container = f.baseline_container(env, app)  # the running ReplicaSet's template
    waiting = [
        f.app_pod(
            app,
            f.BASELINE_HASH,
            suffix,
            container,
            [],
            phase="Pending",
            node=None,
            age_seconds=2280,
            conditions=[
                f.pod_condition(
                    "PodScheduled",
                    "False",
                    2280,
                    reason="Unschedulable",
                    message=UNSCHEDULABLE,
                    lastProbeTime=None,
                )
            ],
        )
        for suffix in ("t6wqm", "z9kfd")
    ]
    env.kube_put(
        f.app_deployment(
            app,
            container,
            replicas=4,
            ready=2,
            status={"replicas": 4, "updatedReplicas": 4, "unavailableReplicas": 2},
            conditions=[
                f.condition(
                    "Available",
                    "True",
                    "MinimumReplicasAvailable",
                    "Deployment has minimum availability.",
                    400_000,
                ),
                f.condition(
                    "Progressing",
                    "True",
                    "NewReplicaSetAvailable",
                    f'ReplicaSet "{app}-{f.BASELINE_HASH}" has successfully progressed.',
                    400_000,
                ),
            ],
        ),
        *waiting,
    )
    for name in f.baseline_pods(app):
        f.metrics(env, name, "431m", "162Mi")
    f.autoscaler(env, app, current=4, minimum=2, maximum=6, cpu_now=86, average_value="431m")
    for pod in waiting:
        name = pod["metadata"]["name"]
        f.put_events(
            env,
            f.pod_event(
                name,
                "FailedScheduling",
                UNSCHEDULABLE,
                count=31,
                seconds_ago=50,
                component="default-scheduler",
            ),
            f.pod_event(
                name,
                "NotTriggerScaleUp",
                "pod didn't trigger scale-up: 1 node(s) had untolerated taint "
                "{dedicated: platform}",
                warning=False,
                count=190,
                seconds_ago=12,
                component="cluster-autoscaler",
            ),
        )


SCENARIO = Scenario(
    symptom=(
        "checkout-api scaled up at lunch but half the pods never started, they've been sitting "
        "there for 40 min. what's blocking them?\n"
        "$ kubectl get pods -n shop -l app=checkout-api\n"
        "NAME                            READY   STATUS    RESTARTS   AGE\n"
        "checkout-api-5d9c7b8f4-aaaaa0   1/1     Running   0          4d15h\n"
        "checkout-api-5d9c7b8f4-bbbbb1   1/1     Running   0          4d15h\n"
        "checkout-api-5d9c7b8f4-t6wqm    0/1     Pending   0          38m\n"
        "checkout-api-5d9c7b8f4-z9kfd    0/1     Pending   0          38m"
    ),
    style="paste",
    kind="kubernetes",
    expected=(
        "checkout-api's two new pods cannot be scheduled: every node carries the taint "
        "dedicated=platform:NoSchedule, which the pods do not tolerate (FailedScheduling: 3 "
        "node(s) had untolerated taint)"
    ),
    accept=(("k8s-pods-pending", "untolerated-taint"),),
    about="checkout-api",
    make=make,
)
