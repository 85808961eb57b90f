"""Healthy twin: promo-mailer, the worker that sends a marketing campaign's e-mails, was scaled to
0 on purpose when the campaign ended. It has no pods, and nothing is wrong with it."""

from bench.diagnosis import faults_kube as f
from bench.diagnosis.scenario import Scenario


def make(env):  # type: ignore[no-untyped-def]
    app = "promo-mailer"
    container = f.app_container(
        app, "1.4.0", extra_env=[f.plain("CAMPAIGN", "black-friday-2026")], probe_path=None
    )
    mailer = f.app_deployment(
        app,
        container,
        replicas=0,
        ready=0,
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
                "NewReplicaSetAvailable",
                f'ReplicaSet "{app}-7f9b6d4c8" has successfully progressed.',
                900_000,
            ),
        ],
        generation=4,
    )
    mailer["metadata"]["annotations"] = {"deployment.kubernetes.io/revision": "3"}
    mailer["metadata"]["creationTimestamp"] = f.ts(2_600_000)
    env.kube_put(mailer)


SCENARIO = Scenario(
    symptom="promo-mailer has zero pods in shop, did something kill it?",
    style="question",
    kind="kubernetes",
    expected="nothing: promo-mailer is scaled to 0 on purpose (0/0 replicas), nothing failing",
    about="promo-mailer",
    make=make,
)
