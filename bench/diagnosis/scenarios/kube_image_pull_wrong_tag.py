"""checkout-api was rolled out as 2.14.1, a tag CI never pushed (the release built 2.14.0-1): the
new pod cannot pull its image and backs off, the rollout stalls, the old pods keep serving. The
operator pastes `kubectl describe pod` of the new pod."""

from bench.diagnosis import faults_kube as f
from bench.diagnosis.scenario import Scenario

OLD, NEW = "5f7c8d6b9", "6f8b7d9c5"
IMAGE = "registry.example/shop/checkout-api:2.14.1"
NOT_FOUND = (
    f'rpc error: code = NotFound desc = failed to pull and unpack image "{IMAGE}": failed to '
    f'resolve reference "{IMAGE}": {IMAGE}: not found'
)


def make(env):  # type: ignore[no-untyped-def]
    app = "checkout-api"
    old_container = f.app_container(app, "2.13.4")
    new_container = f.app_container(app, "2.14.1")
    old = [
        f.app_pod(
            app,
            OLD,
            suffix,
            old_container,
            [f.up(old_container, since=432_000)],
            node=node,
            age_seconds=432_000,
        )
        for node, suffix in ((0, "bq7rx"), (1, "lz4nc"))
    ]
    new = f.app_pod(
        app,
        NEW,
        "n7wqp",
        new_container,
        [f.stuck(new_container, "ImagePullBackOff", f'Back-off pulling image "{IMAGE}"')],
        node=2,
        phase="Pending",
        age_seconds=850,
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
                    432_000,
                ),
                f.condition(
                    "Progressing",
                    "False",
                    "ProgressDeadlineExceeded",
                    f'ReplicaSet "{app}-{NEW}" has timed out progressing.',
                    250,
                ),
            ],
        )
    )
    f.replace_pods(env, app, *old, new)
    for pod in old:
        f.metrics(env, pod["metadata"]["name"], "140m", "118Mi")
    f.service_endpoints(env, app, f.ips_of(*old), f.ips_of(new))
    name = new["metadata"]["name"]
    f.put_events(
        env,
        f.pod_event(
            name, "Pulling", f'Pulling image "{IMAGE}"', warning=False, count=4, seconds_ago=700
        ),
        f.pod_event(
            name, "Failed", f'Failed to pull image "{IMAGE}": {NOT_FOUND}', count=4, seconds_ago=700
        ),
        f.pod_event(name, "Failed", "Error: ErrImagePull", count=4, seconds_ago=700),
        f.pod_event(
            name,
            "BackOff",
            f'Back-off pulling image "{IMAGE}"',
            warning=False,
            count=42,
            seconds_ago=25,
        ),
        f.pod_event(name, "Failed", "Error: ImagePullBackOff", count=42, seconds_ago=25),
    )


SCENARIO = Scenario(
    symptom=(
        "2.14.1 rollout of checkout-api isn't progressing, new pod never starts:\n"
        "$ kubectl describe pod checkout-api-6f8b7d9c5-n7wqp -n shop\n"
        "Name:             checkout-api-6f8b7d9c5-n7wqp\n"
        "Namespace:        shop\n"
        "Node:             ip-10-0-3-17.ec2.internal/10.0.3.22\n"
        "Labels:           app=checkout-api\n"
        "                  pod-template-hash=6f8b7d9c5\n"
        "Status:           Pending\n"
        "Controlled By:    ReplicaSet/checkout-api-6f8b7d9c5\n"
        "Containers:\n"
        "  app:\n"
        f"    Image:          {IMAGE}\n"
        "    Port:           8000/TCP\n"
        "    State:          Waiting\n"
        "      Reason:       ImagePullBackOff\n"
        "    Ready:          False\n"
        "    Restart Count:  0\n"
        "Events:\n"
        "  Type     Reason     Age                  From               Message\n"
        "  ----     ------     ----                 ----               -------\n"
        "  Normal   Scheduled  14m                  default-scheduler  Successfully assigned "
        "shop/checkout-api-6f8b7d9c5-n7wqp to ip-10-0-3-17.ec2.internal\n"
        f'  Normal   Pulling    12m (x4 over 14m)    kubelet            Pulling image "{IMAGE}"\n'
        "  Warning  Failed     12m (x4 over 14m)    kubelet            "
        f'Failed to pull image "{IMAGE}": {NOT_FOUND}\n'
        "  Warning  Failed     12m (x4 over 14m)    kubelet            Error: ErrImagePull\n"
        "  Normal   BackOff    25s (x42 over 14m)   kubelet            "
        f'Back-off pulling image "{IMAGE}"\n'
        "  Warning  Failed     25s (x42 over 14m)   kubelet            Error: ImagePullBackOff"
    ),
    style="paste",
    kind="kubernetes",
    expected=(
        "checkout-api's new image tag 2.14.1 does not exist in the registry: the new pod cannot "
        "pull it (ErrImagePull / ImagePullBackOff, not found)"
    ),
    accept=(("k8s-application-wont-start", "image-pull"),),
    about="checkout-api",
    make=make,
)
