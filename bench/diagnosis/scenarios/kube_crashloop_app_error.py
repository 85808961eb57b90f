"""checkout-api 2.15.0 crashes at startup: its pricing rules loader passes a field the class no
longer takes (TypeError), uvicorn exits, the kubelet restarts it in a loop. The rollout's first new
pod crash-loops, the old pods keep serving; nothing checkout-api depends on is down."""

from bench.diagnosis import faults_kube as f
from bench.diagnosis.scenario import Scenario

OLD, NEW = "7d9b4c6f5", "84c6d9f7b5"
CRASH = """\
INFO:     Started server process [1]
INFO:     Waiting for application startup.
ERROR:    Traceback (most recent call last):
  File "/usr/local/lib/python3.12/site-packages/starlette/routing.py", line 693, in lifespan
    async with self.lifespan_context(app) as maybe_state:
  File "/usr/local/lib/python3.12/contextlib.py", line 210, in __aenter__
    return await anext(self.gen)
  File "/app/checkout/main.py", line 41, in lifespan
    app.state.pricing = PricingRules.from_file(settings.pricing_rules_path)
  File "/app/checkout/pricing.py", line 64, in from_file
    return cls(**document["rules"])
TypeError: PricingRules.__init__() got an unexpected keyword argument 'currency_code'

ERROR:    Application startup failed. Exiting."""


def make(env):  # type: ignore[no-untyped-def]
    app = "checkout-api"
    old_container = f.app_container(app, "2.14.0")
    new_container = f.app_container(app, "2.15.0")
    old = [
        f.app_pod(
            app,
            OLD,
            suffix,
            old_container,
            [f.up(old_container, since=260_000)],
            node=node,
            age_seconds=260_000,
        )
        for node, suffix in ((0, "bq7rx"), (1, "lz4nc"))
    ]
    name = f"{app}-{NEW}-r9xkt"
    new = f.app_pod(
        app,
        NEW,
        "r9xkt",
        new_container,
        [f.crash_looping(new_container, name, restarts=6, reason="Error", exit_code=3)],
        node=2,
        age_seconds=400,
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
                    260_000,
                ),
                f.condition(
                    "Progressing",
                    "True",
                    "ReplicaSetUpdated",
                    f'ReplicaSet "{app}-{NEW}" is progressing.',
                    400,
                ),
            ],
        )
    )
    f.replace_pods(env, app, *old, new)
    for pod in old:
        f.metrics(env, pod["metadata"]["name"], "150m", "120Mi")
    f.service_endpoints(env, app, f.ips_of(*old), f.ips_of(new))
    f.put_events(
        env,
        f.pod_event(
            name,
            "BackOff",
            f"Back-off restarting failed container app in pod {name}_shop(uid-{name})",
            count=24,
            seconds_ago=20,
        ),
    )
    f.add_log(env, name, CRASH, previous=True)
    f.add_log(env, name, "\n".join(CRASH.splitlines()[:2]))


SCENARIO = Scenario(
    symptom=(
        "[FIRING:1] KubePodCrashLooping shop-prod-eks (app checkout-api-84c6d9f7b5-r9xkt shop "
        "warning)\n"
        "Pod shop/checkout-api-84c6d9f7b5-r9xkt (app) is in waiting state (reason: "
        '"CrashLoopBackOff").'
    ),
    style="alert",
    kind="kubernetes",
    expected=(
        "checkout-api 2.15.0 crashes at startup on an application error (TypeError loading its "
        "pricing rules) and the kubelet restarts it in a loop"
    ),
    accept=(("k8s-application-wont-start", "crash-on-start"),),
    about="checkout-api",
    make=make,
)
