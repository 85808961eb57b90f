"""catalog 3.10.0 keeps product images in a cache volume of its own: the release adds a
PersistentVolumeClaim `catalog-image-cache` with storageClassName `gp3-encrypted`, a class that
exists on the staging cluster and not on this one. The claim stays Pending (the provisioner
finds no such class), so the rollout's first new pod cannot be scheduled (unbound immediate
PersistentVolumeClaims); the two old pods keep serving and the rollout passes its progress
deadline. The operator who shipped it asks."""

from bench.diagnosis import faults_kube as f
from bench.diagnosis.scenario import Scenario

APP = "catalog"
NEW = "7d4b9c6f8"
CLAIM = "catalog-image-cache"
UNBOUND = (
    "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: "
    "0/3 nodes are available: 3 Preemption is not helpful for scheduling."
)
NO_CLASS = 'storageclass.storage.k8s.io "gp3-encrypted" not found'


def make(env):  # type: ignore[no-untyped-def]
    container = f.app_container(APP, "3.10.0")
    container["volumeMounts"] = [{"name": "image-cache", "mountPath": "/var/cache/catalog"}]
    volumes = [{"name": "image-cache", "persistentVolumeClaim": {"claimName": CLAIM}}]
    new = f.app_pod(
        APP,
        NEW,
        "m2v7k",
        container,
        [],
        phase="Pending",
        node=None,
        age_seconds=1860,
        conditions=[
            f.pod_condition(
                "PodScheduled",
                "False",
                1860,
                reason="Unschedulable",
                message=UNBOUND,
                lastProbeTime=None,
            )
        ],
    )
    new["spec"]["volumes"] = volumes
    rollout = f.app_deployment(
        APP,
        container,
        replicas=2,
        ready=2,
        status={"replicas": 3, "updatedReplicas": 1, "unavailableReplicas": 1},
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
                "False",
                "ProgressDeadlineExceeded",
                f'ReplicaSet "{APP}-{NEW}" has timed out progressing.',
                1260,
            ),
        ],
        generation=12,
    )
    rollout["spec"]["template"]["spec"]["volumes"] = volumes
    env.kube_put(rollout, new)  # the two old pods (the baseline's ReplicaSet) stay
    claim_event = f.pod_event(
        CLAIM,
        "ProvisioningFailed",
        NO_CLASS,
        count=124,
        seconds_ago=15,
        component="persistentvolume-controller",
    )
    claim_event["involvedObject"].update(kind="PersistentVolumeClaim", apiVersion="v1")
    name = new["metadata"]["name"]
    f.put_events(
        env,
        claim_event,
        f.pod_event(
            name,
            "FailedScheduling",
            UNBOUND,
            count=9,
            seconds_ago=95,
            component="default-scheduler",
        ),
    )


SCENARIO = Scenario(
    symptom=(
        "the catalog 3.10 rollout has been hanging for half an hour. rollout status ended with "
        "'exceeded its progress deadline' and the new pod never left Pending. what's holding "
        "it up?"
    ),
    style="question",
    kind="kubernetes",
    expected=(
        "catalog's new pod cannot be scheduled: its PersistentVolumeClaim catalog-image-cache "
        "is never bound (storage class gp3-encrypted does not exist on this cluster), so the "
        "scheduler reports unbound immediate PersistentVolumeClaims"
    ),
    accept=(("k8s-pods-pending", "unschedulable"),),
    about="catalog",
    make=make,
)
