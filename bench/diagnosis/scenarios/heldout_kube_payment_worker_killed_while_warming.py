"""payment-worker 4.3.0 loads its fraud rules (about 400,000 of them, a minute's work) before it
opens its health port; its liveness probe still starts checking after 10 s and gives up after
three failures. The kubelet kills each container (SIGTERM) half-way through the load, restarts
it, and kills it again: the pods never get to consume. The app raises nothing; the operator sees
only restarts and a SIGTERM at the end of each run."""

from bench.diagnosis import faults_kube as f
from bench.diagnosis.scenario import Scenario

RS = "58d7c6b9f4"


def run_log(progress: int) -> str:
    return f"""\
2026-12-09 11:02:14,310 INFO payment_worker: starting payment-worker 4.3.0 (queue=payments)
2026-12-09 11:02:14,402 INFO payment_worker.fraud: loading fraud rules from \
s3://shop-risk/rules-2026-12-09.json.gz
2026-12-09 11:02:29,911 INFO payment_worker.fraud: 100000 / 412380 rules compiled
2026-12-09 11:02:45,207 INFO payment_worker.fraud: {progress} / 412380 rules compiled
2026-12-09 11:02:48,533 INFO payment_worker: received SIGTERM, shutting down"""


def make(env):  # type: ignore[no-untyped-def]
    app = "payment-worker"
    container = f.app_container(
        app, "4.3.0", extra_env=[f.plain("QUEUE", "payments")], probe_path=None
    )
    container["ports"] = [{"name": "health", "containerPort": 8081, "protocol": "TCP"}]
    container["livenessProbe"] = {
        "httpGet": {"path": "/healthz", "port": 8081, "scheme": "HTTP"},
        "initialDelaySeconds": 10,
        "timeoutSeconds": 1,
        "periodSeconds": 10,
        "successThreshold": 1,
        "failureThreshold": 3,
    }
    pods = []
    for node, suffix, restarts in ((0, "k2vnx", 11), (1, "r7pqs", 10)):
        name = f"{app}-{RS}-{suffix}"
        made = f.app_pod(
            app,
            RS,
            suffix,
            container,
            [f.crash_looping(container, name, restarts=restarts, reason="Error", exit_code=143)],
            node=node,
            age_seconds=2400,
        )
        pods.append(made)
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
                    2300,
                ),
                f.condition(
                    "Progressing",
                    "False",
                    "ProgressDeadlineExceeded",
                    f'ReplicaSet "{app}-{RS}" has timed out progressing.',
                    1700,
                ),
            ],
            generation=12,
        )
    )
    f.replace_pods(env, app, *pods)
    f.service_endpoints(env, app, [], f.ips_of(*pods))
    for pod, progress in zip(pods, (300000, 295000), strict=True):
        name = pod["metadata"]["name"]
        ip = pod["status"].get("podIP", "10.1.1.50")
        refused = (
            f'Liveness probe failed: Get "http://{ip}:8081/healthz": dial tcp {ip}:8081: '
            "connect: connection refused"
        )
        f.put_events(
            env,
            f.pod_event(name, "Unhealthy", refused, count=33, seconds_ago=70),
            f.pod_event(
                name,
                "Killing",
                "Container app failed liveness probe, will be restarted",
                warning=False,
                count=11,
                seconds_ago=70,
            ),
            f.pod_event(
                name,
                "BackOff",
                f"Back-off restarting failed container app in pod {name}_shop(uid-{name})",
                count=48,
                seconds_ago=20,
            ),
        )
        f.add_log(env, name, run_log(progress), previous=True)


SCENARIO = Scenario(
    symptom=(
        "payment-worker 4.3.0 keeps restarting every minute or so, no error in the logs, it just "
        "gets a SIGTERM halfway through startup. anyone know what's sending it?"
    ),
    style="question",
    kind="kubernetes",
    expected=(
        "payment-worker's liveness probe (GET :8081/healthz after 10 s, 3 failures) fails while "
        "the worker is still loading its fraud rules, so the kubelet kills and restarts it before "
        "it ever finishes starting"
    ),
    accept=(("k8s-application-wont-start", "health-checks-failing"),),
    about="payment-worker",
    make=make,
)
