"""payment-worker (a deployment of namespace shop) consumes the `payments` queue on the broker.
This morning's upgrade to chart 4.4.0 renamed the resource values (`resources.cpu` became
`resources.limits.cpu`); the release's values file still used the old key, so the chart's
default applied: a CPU limit of 100m, where the worker had 500m. The chart also moved the
autoscaler behind `autoscaling.enabled` (default false), so its HPA went with the upgrade. The
rollout completed; both new pods are Running and Ready and consume, but each runs pinned at its
100m limit (throttled) and handles a payment in about a quarter of a second, five times what
it took; together they take 8 a second where 20 arrive, and the queue grows by a dozen a second:
captures are minutes late.
The broker is healthy. The queue-depth alert pages."""

from datetime import UTC, datetime, timedelta

from bench.diagnosis import faults_kube as f
from bench.diagnosis.faults_heldout5 import throttled_consumer
from bench.diagnosis.scenario import Scenario

APP = "payment-worker"
RS = "6b8f9d7c5"
SUFFIXES = ("q4x7m", "t9k2w")
LIMITS = {"cpu": "100m", "memory": "512Mi"}


def log(seconds_ago: float, first: int) -> str:
    at = datetime.now(UTC) - timedelta(seconds=seconds_ago)
    lines = [
        f"{at:%Y-%m-%d %H:%M:%S},104 INFO payment_worker: starting payment-worker 4.4.0 "
        "(queue=payments, prefetch=10)",
        f"{at:%Y-%m-%d %H:%M:%S},733 INFO payment_worker.amqp: consuming 'payments'",
    ]
    for index in range(6):
        stamp = at + timedelta(seconds=seconds_ago - 3 + index * 0.27)
        lines.append(
            f"{stamp:%Y-%m-%d %H:%M:%S},{stamp.microsecond // 1000:03d} INFO "
            f"payment_worker.capture: payment {first + index} captured in "
            f"{0.24 + (index % 3) * 0.02:.2f}s (provider 0.04s)"
        )
    return "\n".join(lines)


def make(env):  # type: ignore[no-untyped-def]
    broker = env.world.rabbitmq()
    container = f.app_container(
        APP,
        "4.4.0",
        extra_env=[
            f.plain("AMQP_URL", f"amqp://{broker.user}@{broker.address}/%2F"),
            f.plain("PAYMENTS_QUEUE", "payments"),
            f.plain("PREFETCH", "10"),
        ],
        limits=LIMITS,
        probe_path="/health/ready",
    )
    pods = [
        f.app_pod(APP, RS, suffix, container, [f.up(container, since=9000)], node=node,
                  age_seconds=9000)
        for node, suffix in zip((0, 2), SUFFIXES, strict=True)
    ]  # fmt: skip
    env.kube_put(
        f.app_deployment(
            APP,
            container,
            replicas=2,
            ready=2,
            conditions=[
                f.condition(
                    "Available",
                    "True",
                    "MinimumReplicasAvailable",
                    "Deployment has minimum availability.",
                    8900,
                ),
                f.condition(
                    "Progressing",
                    "True",
                    "NewReplicaSetAvailable",
                    f'ReplicaSet "{APP}-{RS}" has successfully progressed.',
                    8900,
                ),
            ],
            generation=23,
        )
    )
    f.replace_pods(env, APP, *pods)
    env.kube_remove("HorizontalPodAutoscaler", f.NS, APP, "autoscaling/v2")
    for pod, cpu in zip(pods, ("100m", "99m"), strict=True):
        f.metrics(env, pod["metadata"]["name"], cpu, "141Mi")
    f.service_endpoints(env, APP, f.ips_of(*pods))
    for index, pod in enumerate(pods):
        f.add_log(env, pod["metadata"]["name"], log(9000, 431_020 + index * 7))
    throttled_consumer(
        env,
        "payments",
        connection_names=tuple(f"{APP}-{RS}-{suffix}" for suffix in SUFFIXES),
        backlog=2400,
        per_message=0.25,
        publish_every=0.05,
    )
    depth = int(broker.management_queue("payments")["messages"])
    env.values["depth"] = f"{depth:,}"


SCENARIO = Scenario(
    symptom=(
        "[FIRING:1] RabbitmqQueueDepthHigh shop-prod (payments critical)\n"
        "Queue payments on broker has {depth} messages and has been growing for 20m.\n"
        "Consumers: 2. Threshold: 1000."
    ),
    style="alert",
    kind="kubernetes",
    cascade=True,
    expected=(
        "payment-worker's pods run pinned at a 100m CPU limit (the chart 4.4.0 default, applied "
        "because the values file used the old key): throttled, they handle payments far slower "
        "than they arrive, so the payments queue grows"
    ),
    accept=(
        ("compose-high-cpu", "pods-cpu-saturated"),
        ("app-slow-responses", "pods-saturated"),
    ),
    about=APP,
    make=make,
)
