"""catalog 3.9.0's pods run but answer their readiness probe with 503 (the app reports itself not
ready: its product index is not loaded), so neither pod is ready and the Service has no ready
endpoint. Nothing catalog depends on is down. The alert names one pod."""

from bench.diagnosis import faults_kube as f
from bench.diagnosis.scenario import Scenario

RS = "8f6d7c5b9"
PROBE = "Readiness probe failed: HTTP probe failed with statuscode: 503"


def log(pod_ip: str) -> str:
    return "\n".join(
        [
            "INFO     catalog.app: starting catalog 3.9.0 (workers=4)",
            "INFO     catalog.search: loading product index /data/index/products.idx",
            "WARNING  catalog.search: product index not loaded: /data/index/products.idx: "
            "checksum mismatch (expected 9f41c2e0, got 00000000), not serving until it is",
            *[
                f"INFO     uvicorn.access: {pod_ip.rsplit('.', 1)[0]}.1:{51_622 + i} - "
                '"GET /health/ready HTTP/1.1" 503'
                for i in range(4)
            ],
        ]
    )


def make(env):  # type: ignore[no-untyped-def]
    app = "catalog"
    container = f.app_container(app, "3.9.0")
    pods = [
        f.app_pod(
            app,
            RS,
            suffix,
            container,
            [f.up(container, ready=False, since=1700)],
            node=node,
            age_seconds=1710,
        )
        for node, suffix in ((0, "t4rzv"), (2, "9xkwd"))
    ]
    env.kube_put(
        f.app_deployment(
            app,
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
                    1700,
                ),
                f.condition(
                    "Progressing",
                    "False",
                    "ProgressDeadlineExceeded",
                    f'ReplicaSet "{app}-{RS}" has timed out progressing.',
                    1100,
                ),
            ],
        )
    )
    f.replace_pods(env, app, *pods)
    f.service_endpoints(env, app, [], f.ips_of(*pods))
    for pod in pods:
        name = pod["metadata"]["name"]
        f.metrics(env, name, "60m", "188Mi")
        f.put_events(env, f.pod_event(name, "Unhealthy", PROBE, count=168, seconds_ago=6))
        f.add_log(env, name, log(pod["status"]["podIP"]))


SCENARIO = Scenario(
    symptom=(
        "[FIRING:1] KubePodNotReady shop-prod-eks (catalog-8f6d7c5b9-t4rzv shop warning)\n"
        "Pod shop/catalog-8f6d7c5b9-t4rzv has been in a non-ready state for longer than 15 "
        "minutes."
    ),
    style="alert",
    kind="kubernetes",
    expected=(
        "catalog's pods run but fail their readiness probe (GET /health/ready answers 503, the "
        "app does not consider itself ready), so no catalog pod is ready"
    ),
    accept=(("k8s-application-wont-start", "health-checks-failing"),),
    about="catalog",
    make=make,
)
