"""catalog was scaled from 2 to 4 replicas for a sale (the HPA's minimum raised to 4); the two new
pods stay Pending: no node has 500m of CPU left for their requests, and the node group is at its
maximum size. The alert only says the replicas do not match."""

from bench.diagnosis import faults_kube as f
from bench.diagnosis.scenario import Scenario

UNSCHEDULABLE = (
    "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: "
    "3 No preemption victims found for incoming pod."
)


def make(env):  # type: ignore[no-untyped-def]
    app = "catalog"
    container = f.baseline_container(env, app)  # same ReplicaSet as the running pods
    waiting = [
        f.app_pod(
            app,
            f.BASELINE_HASH,
            suffix,
            container,
            [],
            phase="Pending",
            node=None,
            age_seconds=1260,
            conditions=[
                f.pod_condition(
                    "PodScheduled",
                    "False",
                    1260,
                    reason="Unschedulable",
                    message=UNSCHEDULABLE,
                    lastProbeTime=None,
                )
            ],
        )
        for suffix in ("k8xvz", "q2wnd")
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
                    "False",
                    "MinimumReplicasUnavailable",
                    "Deployment does not have minimum availability.",
                    1260,
                ),
                f.condition(
                    "Progressing",
                    "False",
                    "ProgressDeadlineExceeded",
                    f'ReplicaSet "{app}-{f.BASELINE_HASH}" has timed out progressing.',
                    660,
                ),
            ],
        ),
        *waiting,
    )
    hpa = f.autoscaler(env, app, current=4, minimum=4, maximum=8, cpu_now=31, average_value="155m")
    hpa["status"]["conditions"].append(
        {
            "type": "ScalingLimited",
            "status": "True",
            "reason": "TooFewReplicas",
            "message": "the desired replica count is less than the minimum replica count",
            "lastTransitionTime": f.ts(1260),
        }
    )
    env.kube_put(hpa)
    for pod in waiting:
        name = pod["metadata"]["name"]
        f.put_events(
            env,
            f.pod_event(
                name,
                "FailedScheduling",
                UNSCHEDULABLE,
                count=23,
                seconds_ago=40,
                component="default-scheduler",
            ),
            f.pod_event(
                name,
                "NotTriggerScaleUp",
                "pod didn't trigger scale-up: 1 max node group size reached",
                warning=False,
                count=120,
                seconds_ago=15,
                component="cluster-autoscaler",
            ),
        )


SCENARIO = Scenario(
    symptom=(
        "[FIRING:1] KubeDeploymentReplicasMismatch shop-prod-eks (catalog shop warning)\n"
        "Deployment shop/catalog has not matched the expected number of replicas for longer "
        "than 15 minutes."
    ),
    style="alert",
    kind="kubernetes",
    expected=(
        "catalog's two new pods cannot be scheduled: no node has enough free CPU for their "
        "requests (FailedScheduling: 0/3 nodes are available: 3 Insufficient cpu)"
    ),
    accept=(("k8s-pods-pending", "insufficient-resources"),),
    about="catalog",
    make=make,
)
