"""catalog 3.8.2 loads a product index that grew past its 256Mi memory limit: each container is
OOMKilled (exit code 137) while loading it and restarted, one pod back up for now, the other in
CrashLoopBackOff. The operator asks about one pod by its full name."""

from bench.diagnosis import faults_kube as f
from bench.diagnosis.scenario import Scenario

RS = "7b9d5c6f48"
STARTING = """\
INFO  catalog.app: starting catalog 3.8.2 (workers=4, limits: cpu=500m memory=256Mi)
INFO  catalog.search: loading product index s3://shop-catalog-index/products-2026-12-07.parquet
INFO  catalog.search: 400000 / 1204112 products loaded
INFO  catalog.search: 800000 / 1204112 products loaded
INFO  catalog.search: 1200000 / 1204112 products loaded"""


def make(env):  # type: ignore[no-untyped-def]
    app = "catalog"
    container = f.app_container(app, "3.8.2")
    back_up = f.app_pod(
        app,
        RS,
        "x2kqp",
        container,
        [f.up(container, restarts=7, last=f.ended("OOMKilled", 137, ago=250), since=245)],
        node=1,
        age_seconds=14_400,
    )
    looping = f.app_pod(
        app,
        RS,
        "m4hzt",
        container,
        [
            f.crash_looping(
                container, f"{app}-{RS}-m4hzt", restarts=8, reason="OOMKilled", exit_code=137
            )
        ],
        node=2,
        age_seconds=14_400,
    )
    env.kube_put(
        f.app_deployment(
            app,
            container,
            replicas=2,
            ready=1,
            status={"unavailableReplicas": 1},
            conditions=[
                f.condition(
                    "Available",
                    "False",
                    "MinimumReplicasUnavailable",
                    "Deployment does not have minimum availability.",
                    45,
                ),
                f.condition(
                    "Progressing",
                    "True",
                    "NewReplicaSetAvailable",
                    f'ReplicaSet "{app}-{RS}" has successfully progressed.',
                    14_000,
                ),
            ],
        )
    )
    f.replace_pods(env, app, back_up, looping)
    f.metrics(env, back_up["metadata"]["name"], "410m", "243Mi")
    f.service_endpoints(env, app, f.ips_of(back_up), f.ips_of(looping))
    for pod, count in ((back_up, 19), (looping, 31)):
        name = pod["metadata"]["name"]
        f.put_events(
            env,
            f.pod_event(
                name,
                "BackOff",
                f"Back-off restarting failed container app in pod {name}_shop(uid-{name})",
                count=count,
                seconds_ago=30,
            ),
            f.pod_event(
                name,
                "Pulled",
                f'Container image "{container["image"]}" already present on machine',
                warning=False,
                count=count - 11,
                seconds_ago=240,
            ),
        )
        f.add_log(env, name, STARTING, previous=True)
    f.add_log(env, back_up["metadata"]["name"], "\n".join(STARTING.splitlines()[:4]))


SCENARIO = Scenario(
    symptom=(
        "why does catalog-7b9d5c6f48-x2kqp keep restarting? it's at 7 restarts since this morning"
    ),
    style="question",
    kind="kubernetes",
    expected=(
        "catalog's container needs more memory than its 256Mi limit: it is OOMKilled (exit code "
        "137) and restarted again and again"
    ),
    accept=(("k8s-container-oomkilled", "oom-killed"),),
    about="catalog",
    make=make,
)
