"""The shop's images live in a private registry, pulled with the robot account whose token is in
the pull secret `registry-robot`. Robot tokens expire after 30 days and the one in the secret
expired yesterday; nobody noticed, because nodes that already had the images never pulled
again. This morning the node group was rotated (new AMI): the drained payment-worker pods were
rescheduled on fresh nodes, which must pull the image, and the registry answers 401
Unauthorized. Both pods sit in ImagePullBackOff, payment-worker has no ready replica, and
payments pile up. The image and its tag exist; the credentials are what is wrong. The alert
is all the operator has."""

from bench.diagnosis import faults_kube as f
from bench.diagnosis.scenario import Scenario
from tests.servers.kube_objects import secret

APP = "payment-worker"
RS = "5d9c7b8f4"
IMAGE = "registry.example/shop/payment-worker:4.2.7"
UNAUTHORIZED = (
    f'rpc error: code = Unknown desc = failed to pull and unpack image "{IMAGE}": failed to '
    f'resolve reference "{IMAGE}": failed to authorize: failed to fetch oauth token: '
    "unexpected status from GET request to https://registry.example/service/token?"
    "scope=repository%3Ashop%2Fpayment-worker%3Apull&service=harbor-registry: 401 Unauthorized"
)


def make(env):  # type: ignore[no-untyped-def]
    container = f.app_container(APP, "4.2.7", probe_path=None)
    pull_secret = secret(
        "registry-robot",
        f.NS,
        {".dockerconfigjson": '{"auths": {"registry.example": {"auth": "cm9ib3Q6ZXhwaXJlZA=="}}}'},
    )
    pull_secret["type"] = "kubernetes.io/dockerconfigjson"
    pods = []
    for node, suffix in ((1, "q8w2z"), (2, "t5m9k")):
        made = f.app_pod(
            APP,
            RS,
            suffix,
            container,
            [f.stuck(container, "ImagePullBackOff", f'Back-off pulling image "{IMAGE}"')],
            node=node,
            phase="Pending",
            age_seconds=2100,
        )
        made["spec"]["imagePullSecrets"] = [{"name": "registry-robot"}]
        pods.append(made)
    deployment = f.app_deployment(
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
                2050,
            ),
            f.condition(
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                f'ReplicaSet "{APP}-{RS}" has successfully progressed.',
                1_200_000,
            ),
        ],
    )
    deployment["spec"]["template"]["spec"]["imagePullSecrets"] = [{"name": "registry-robot"}]
    env.kube_put(pull_secret, deployment)
    f.replace_pods(env, APP, *pods)
    f.service_endpoints(env, APP, [], f.ips_of(*pods))
    for pod in pods:
        name = pod["metadata"]["name"]
        f.put_events(
            env,
            f.pod_event(
                name,
                "Pulling",
                f'Pulling image "{IMAGE}"',
                warning=False,
                count=9,
                seconds_ago=310,
            ),
            f.pod_event(name, "Failed", f'Failed to pull image "{IMAGE}": {UNAUTHORIZED}', count=9),
            f.pod_event(name, "Failed", "Error: ErrImagePull", count=9, seconds_ago=310),
            f.pod_event(
                name,
                "BackOff",
                f'Back-off pulling image "{IMAGE}"',
                warning=False,
                count=131,
                seconds_ago=12,
            ),
            f.pod_event(name, "Failed", "Error: ImagePullBackOff", count=131, seconds_ago=12),
        )


SCENARIO = Scenario(
    symptom=(
        "[FIRING:1] KubeDeploymentReplicasMismatch shop/payment-worker (severity=critical)\n"
        "Deployment shop/payment-worker has not matched the expected number of replicas for "
        "longer than 15 minutes. (0/2 available)"
    ),
    style="alert",
    kind="kubernetes",
    expected=(
        "payment-worker's pods, rescheduled on new nodes, cannot pull their image: the registry "
        "refuses the pull secret's expired robot token (401 Unauthorized), so both stay in "
        "ImagePullBackOff"
    ),
    accept=(("k8s-application-wont-start", "image-pull"),),
    about="payment-worker",
    make=make,
)
