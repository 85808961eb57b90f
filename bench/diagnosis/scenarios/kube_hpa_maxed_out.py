"""Traffic doubled: checkout-api's autoscaler went to its maximum of 6 replicas and every pod
still runs at about 95% of its CPU limit (the HPA's target is 70%)."""

from bench.diagnosis import faults_kube as f
from bench.diagnosis.scenario import Scenario

CPU = ("478m", "491m", "466m", "483m", "495m", "472m")


def make(env):  # type: ignore[no-untyped-def]
    app = "checkout-api"
    container = f.baseline_container(env, app)  # same ReplicaSet as the baseline pods
    added = [
        f.app_pod(
            app,
            f.BASELINE_HASH,
            suffix,
            container,
            [f.up(container, since=age)],
            node=node,
            age_seconds=age,
        )
        for node, suffix, age in (
            (0, "r7d2k", 2700),
            (1, "wq9fz", 2700),
            (2, "m6xbn", 1900),
            (0, "p8vtc", 1900),
        )
    ]
    env.kube_put(f.app_deployment(app, container, replicas=6, ready=6), *added)
    names = f.baseline_pods(app) + [pod["metadata"]["name"] for pod in added]
    for name, cpu in zip(names, CPU, strict=True):
        f.metrics(env, name, cpu, "171Mi")
    baseline_ips = [f"10.1.0.{i + 10}" for i in range(2)]
    f.service_endpoints(env, app, baseline_ips + f.ips_of(*added))
    f.autoscaler(env, app, current=6, minimum=2, maximum=6, cpu_now=96, average_value="481m")


SCENARIO = Scenario(
    symptom=(
        "[FIRING:1] KubeHpaMaxedOut shop-prod-eks (checkout-api shop warning)\n"
        "HPA shop/checkout-api has been running at max replicas for longer than 15 minutes."
    ),
    style="alert",
    kind="kubernetes",
    expected=(
        "checkout-api's autoscaler is at its maximum (6 of 6 replicas) while its pods run at ~96% "
        "CPU against a 70% target: the load needs more replicas than it may add"
    ),
    accept=(
        ("compose-high-cpu", "autoscaler-at-max"),
        ("app-slow-responses", "hpa-at-max"),
    ),
    about="checkout-api",
    make=make,
)
