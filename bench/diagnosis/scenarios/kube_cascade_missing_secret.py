"""The secret payment-worker-stripe was deleted in a clean-up of old secrets. payment-worker reads
STRIPE_API_KEY from it through an optional reference, so when this morning's node rotation
rescheduled its pods they started without the key and crash at import (KeyError), again and
again. The missing secret is the cause; the operator asks about the worker."""

from bench.diagnosis import faults_kube as f
from bench.diagnosis.scenario import Scenario

RS = "6b8f5d7c9"
CRASH = """\
2026-12-07 09:41:12,018 INFO payment_worker: starting payment-worker 4.2.3
Traceback (most recent call last):
  File "/app/payment_worker/__main__.py", line 3, in <module>
    from payment_worker.main import run
  File "/app/payment_worker/main.py", line 9, in <module>
    from payment_worker.settings import settings
  File "/app/payment_worker/settings.py", line 31, in <module>
    stripe_api_key=os.environ["STRIPE_API_KEY"],
                   ~~~~~~~~~~^^^^^^^^^^^^^^^^^^
  File "<frozen os>", line 714, in __getitem__
KeyError: 'STRIPE_API_KEY'"""


def make(env):  # type: ignore[no-untyped-def]
    app = "payment-worker"
    container = f.app_container(
        app,
        "4.2.3",
        extra_env=[
            f.plain("QUEUE", "payments"),
            f.from_secret("STRIPE_API_KEY", "payment-worker-stripe", "api-key", optional=True),
        ],
        probe_path=None,
    )
    pods = []
    for node, suffix, restarts in ((1, "g7vxq", 13), (2, "s4nbw", 12)):
        name = f"{app}-{RS}-{suffix}"
        pods.append(
            f.app_pod(
                app,
                RS,
                suffix,
                container,
                [f.crash_looping(container, name, restarts=restarts, reason="Error", exit_code=1)],
                node=node,
                age_seconds=3100,
            )
        )
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
                    3100,
                ),
                f.condition(
                    "Progressing",
                    "True",
                    "NewReplicaSetAvailable",
                    f'ReplicaSet "{app}-{RS}" has successfully progressed.',
                    400_000,
                ),
            ],
        )
    )
    f.replace_pods(env, app, *pods)
    f.service_endpoints(env, app, [], f.ips_of(*pods))
    for pod in pods:
        name = pod["metadata"]["name"]
        f.put_events(
            env,
            f.pod_event(
                name,
                "BackOff",
                f"Back-off restarting failed container app in pod {name}_shop(uid-{name})",
                count=140,
                seconds_ago=15,
            ),
        )
        f.add_log(env, name, CRASH, previous=True)


SCENARIO = Scenario(
    symptom=(
        "what's wrong with payment-worker? none of its pods has stayed up since this morning's "
        "node rotation"
    ),
    style="question",
    kind="kubernetes",
    cascade=True,
    expected=(
        "the secret payment-worker-stripe does not exist: payment-worker reads STRIPE_API_KEY from "
        "it through an optional reference, so its pods start without the key and crash "
        "(KeyError: 'STRIPE_API_KEY')"
    ),
    accept=(("k8s-application-wont-start", "missing-environment"),),
    about="payment-worker",
    make=make,
)
