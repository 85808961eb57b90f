"""What Kubernetes objects say, read as the API server writes them, and what triage makes of it:
a pod's health and its one-line reason (the STATUS column of `kubectl get pods`), a workload's
from its replicas and its pods, the secrets and configmaps a pod reads, quantities.

From the Kubernetes documentation:
- A pod's phase is Pending, Running, Succeeded, Failed or Unknown; a pod being deleted carries a
  `deletionTimestamp` and `kubectl` shows it as Terminating whatever its phase.
- A container waits in ContainerCreating or PodInitializing while it starts (normal), in
  CrashLoopBackOff between restarts, in ImagePullBackOff/ErrImagePull when its image cannot be
  pulled, in CreateContainerConfigError when a secret or configmap it reads is missing.
- `lastState.terminated` is how its previous run ended (OOMKilled 137, Error 1, Completed 0).
- A pod the scheduler cannot place has the condition PodScheduled=False, reason Unschedulable.
- A Deployment whose rollout stalls gets Progressing=False, reason ProgressDeadlineExceeded.
- The API omits zero counts (`readyReplicas` of a deployment with none ready).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from providers.contract import Health
from providers.kubernetes_state import (
    ContainerProblem,
    age_seconds,
    condition,
    container_problems,
    crash_looping,
    is_ready,
    labels_of,
    last_termination,
    name_of,
    namespace_of,
    optional_env,
    parse_time,
    pod_status,
    quantity,
    ready_counts,
    references,
    restarts,
    selector_string,
    selects,
    unschedulable,
    workload_counts,
    workload_status,
    worst,
)
from tests.servers import kube_objects as k

POD = "payment-worker-5d9c7b8f4-xk2lp"


def crash_loop(
    reason: str = "Error", code: int = 1, restarts: int = 7, name: str = "app"
) -> dict[str, Any]:
    """A container the kubelet is backing off from restarting, after a run that ended so."""
    return k.waiting(
        name,
        "CrashLoopBackOff",
        f"back-off 5m0s restarting failed container={name} pod={POD}",
        restarts=restarts,
        last=k.terminated(reason, code),
    )


def with_init(pod: dict[str, Any], *statuses: dict[str, Any]) -> dict[str, Any]:
    pod["status"]["initContainerStatuses"] = list(statuses)
    return pod


# -- metadata, times, conditions -----------------------------------------------------------------


def test_metadata_is_read_and_missing_metadata_reads_empty() -> None:
    pod = k.pod(POD, "shop", labels={"app": "payment-worker", "tier": "backend"})
    assert (name_of(pod), namespace_of(pod)) == (POD, "shop")
    assert labels_of(pod) == {"app": "payment-worker", "tier": "backend"}
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1", "labels": None}}
    assert (name_of(node), namespace_of(node), labels_of(node)) == ("node-1", "", {})
    assert (name_of({}), namespace_of({}), labels_of({})) == ("", "", {})


def test_labels_are_a_copy_the_caller_may_change() -> None:
    pod = k.pod(POD, "shop", labels={"app": "payment-worker"})
    labels_of(pod)["app"] = "changed"
    assert labels_of(pod) == {"app": "payment-worker"}


def test_api_times_are_utc() -> None:
    assert parse_time("2024-05-01T10:00:00Z") == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert parse_time("2024-05-01T12:00:00+02:00") == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert parse_time(None) is None
    assert parse_time("") is None
    assert parse_time("yesterday") is None


def test_age_is_counted_from_the_time_the_api_wrote() -> None:
    assert 120 <= age_seconds(k.ts(120)) < 180  # the API writes whole seconds
    assert age_seconds(None) == 0.0
    assert age_seconds("not a time") == 0.0


def test_a_condition_is_found_by_its_type() -> None:
    pod = k.unschedulable_pod(POD, "shop", "0/3 nodes are available: 3 Insufficient cpu.")
    scheduled = condition(pod, "PodScheduled")
    assert scheduled is not None
    assert (scheduled["status"], scheduled["reason"]) == ("False", "Unschedulable")
    assert condition(pod, "Ready") is None
    assert condition({"status": {"conditions": None}}, "Ready") is None
    assert condition({}, "Ready") is None


def test_ready_follows_the_ready_condition() -> None:
    assert is_ready(k.pod(POD, "shop"))
    assert not is_ready(k.pod(POD, "shop", statuses=[k.running(ready=False)]))
    assert not is_ready(k.unschedulable_pod(POD, "shop", "no nodes"))  # no Ready condition yet


def test_unschedulable_is_the_scheduled_condition_when_false() -> None:
    pending = k.unschedulable_pod(POD, "shop", "0/3 nodes are available: 3 Insufficient cpu.")
    blocked = unschedulable(pending)
    assert blocked is not None
    assert blocked["message"] == "0/3 nodes are available: 3 Insufficient cpu."
    assert unschedulable(k.pod(POD, "shop")) is None


# -- selectors -----------------------------------------------------------------------------------


def test_a_selector_reads_as_kubectl_writes_it() -> None:
    selector = {
        "matchLabels": {"tier": "backend", "app": "payment-worker"},
        "matchExpressions": [
            {"key": "track", "operator": "In", "values": ["stable", "canary"]},
            {"key": "env", "operator": "NotIn", "values": ["dev"]},
            {"key": "owner", "operator": "Exists"},
            {"key": "legacy", "operator": "DoesNotExist"},
        ],
    }
    assert selector_string(selector) == (
        "app=payment-worker,tier=backend,track in (stable,canary),env notin (dev),owner,!legacy"
    )
    assert selector_string({"matchLabels": {"app": "web"}}) == "app=web"
    assert selector_string({"matchExpressions": [{"key": "a", "operator": "Exists"}]}) == "a"
    assert selector_string(None) == ""
    assert selector_string({}) == ""


def test_a_workload_selects_the_pods_carrying_all_its_labels() -> None:
    selector = {"matchLabels": {"app": "payment-worker", "tier": "backend"}}
    assert selects(selector, {"app": "payment-worker", "tier": "backend", "pod-hash": "5d9c"})
    assert not selects(selector, {"app": "payment-worker"})
    assert not selects(selector, {"app": "checkout", "tier": "backend"})
    assert not selects({"matchLabels": {}}, {"app": "payment-worker"})  # selects nothing
    assert not selects(None, {"app": "payment-worker"})


# -- containers in trouble -----------------------------------------------------------------------


def test_a_crash_loop_is_a_problem_with_how_its_last_run_ended() -> None:
    pod = k.pod(POD, "shop", statuses=[crash_loop("OOMKilled", 137, restarts=4)])
    (problem,) = container_problems(pod)
    assert problem == ContainerProblem(
        pod=POD,
        namespace="shop",
        container="app",
        reason="CrashLoopBackOff",
        message=f"back-off 5m0s restarting failed container=app pod={POD}",
        restart_count=4,
        last_termination_reason="OOMKilled",
        exit_code=137,
    )
    assert problem.describe() == (
        f"pod/{POD} container app: CrashLoopBackOff (last: OOMKilled, exit code 137): "
        f"back-off 5m0s restarting failed container=app pod={POD}; 4 restarts"
    )
    assert problem.as_fact() == {
        "pod": POD,
        "namespace": "shop",
        "container": "app",
        "reason": "CrashLoopBackOff",
        "message": f"back-off 5m0s restarting failed container=app pod={POD}",
        "restart_count": 4,
        "last_termination_reason": "OOMKilled",
        "exit_code": 137,
    }


def test_an_image_that_cannot_be_pulled_is_a_problem_said_with_the_kubelets_message() -> None:
    message = 'Back-off pulling image "registry.example/app:9.9"'
    pulling = k.waiting("app", "ImagePullBackOff", f"  {message}\n")
    (problem,) = container_problems(k.pod(POD, "shop", phase="Pending", statuses=[pulling]))
    assert (problem.reason, problem.message, problem.exit_code) == (
        "ImagePullBackOff",
        message,
        None,
    )
    assert problem.describe() == f"pod/{POD} container app: ImagePullBackOff: {message}"


@pytest.mark.parametrize("reason", ["ContainerCreating", "PodInitializing"])
def test_a_container_starting_is_no_problem(reason: str) -> None:
    pod = k.pod(POD, "shop", phase="Pending", statuses=[k.waiting("app", reason)])
    assert container_problems(pod) == []


def test_a_waiting_container_that_gives_no_reason_is_said_to_wait() -> None:
    status = k.waiting("app", "")
    del status["state"]["waiting"]["reason"]
    status["state"]["waiting"]["message"] = "pulling"
    (problem,) = container_problems(k.pod(POD, "shop", phase="Pending", statuses=[status]))
    assert (problem.reason, problem.message) == ("Waiting", "pulling")


def test_a_container_that_ended_in_failure_is_a_problem_and_one_that_completed_is_not() -> None:
    """A pod that does not restart its containers (restartPolicy Never or OnFailure that gave
    up) keeps the last state as its current one."""
    failed = k.running("migrate", ready=False)
    failed["state"] = k.terminated("Error", 2, message='relation "orders" does not exist ')
    (problem,) = container_problems(
        k.pod("migrate-x2x9q", "shop", phase="Failed", statuses=[failed])
    )
    assert problem.describe() == (
        "pod/migrate-x2x9q container migrate: Error (last: Error, exit code 2): "
        'relation "orders" does not exist'
    )
    unnamed = k.running("migrate", ready=False)
    unnamed["state"] = k.terminated("", 137)
    del unnamed["state"]["terminated"]["reason"]  # the API omits what the runtime did not say
    (killed,) = container_problems(k.pod("migrate-x2x9q", "shop", statuses=[unnamed]))
    assert (killed.reason, killed.message, killed.last_termination_reason, killed.exit_code) == (
        "Error",
        "",
        "",
        137,
    )
    oom = k.running("migrate", ready=False)
    oom["state"] = k.terminated("OOMKilled", 137)
    pod = k.pod("migrate-x2x9q", "shop", phase="Failed", statuses=[k.running("proxy"), oom])
    assert pod_status(pod) == (
        Health.FAILING,
        "OOMKilled (last: OOMKilled, exit code 137), 1/2 ready",
    )
    done = k.running("migrate", ready=False)
    done["state"] = k.terminated("Completed", 0)
    assert container_problems(k.pod("migrate-x2x9q", "shop", statuses=[done])) == []


def test_an_init_container_in_a_crash_loop_is_a_problem_but_its_failed_run_is_not() -> None:
    """An init container that failed is run again: the pod's fault shows as its back-off."""
    looping = crash_loop(name="wait-for-db", restarts=3)
    (problem,) = container_problems(with_init(k.pod(POD, "shop", phase="Pending"), looping))
    assert (problem.container, problem.init, problem.reason) == (
        "wait-for-db",
        True,
        "CrashLoopBackOff",
    )
    ended = k.running("wait-for-db", ready=False)
    ended["state"] = k.terminated("Error", 1)
    assert container_problems(with_init(k.pod(POD, "shop", phase="Pending"), ended)) == []


def test_a_problem_is_said_with_what_is_known_of_it() -> None:
    bare = ContainerProblem(POD, "shop", "app", "CreateContainerConfigError", "", 0)
    assert bare.describe() == f"pod/{POD} container app: CreateContainerConfigError"
    unknown_end = ContainerProblem(POD, "shop", "app", "CrashLoopBackOff", "", 2, exit_code=0)
    assert unknown_end.describe() == (
        f"pod/{POD} container app: CrashLoopBackOff (last: terminated, exit code 0); 2 restarts"
    )


def test_restarts_count_every_container_init_ones_too() -> None:
    pod = k.pod(POD, "shop", statuses=[k.running(restarts=2), k.running("sidecar", restarts=1)])
    assert restarts(with_init(pod, crash_loop(name="wait-for-db", restarts=4))) == 7
    assert restarts(k.unschedulable_pod(POD, "shop", "no nodes")) == 0


def test_the_last_termination_is_the_most_recent_of_all_containers() -> None:
    older = k.running("app", restarts=1, last=k.terminated("Error", 1, seconds_ago=600))
    newer = k.running("sidecar", restarts=1, last=k.terminated("OOMKilled", 137, seconds_ago=30))
    assert last_termination(k.pod(POD, "shop", statuses=[older, newer])) == ("OOMKilled", 137)
    assert last_termination(k.pod(POD, "shop", statuses=[newer, older])) == ("OOMKilled", 137)
    assert last_termination(k.pod(POD, "shop")) == ("", None)


def test_ready_counts_read_the_statuses_or_else_the_spec() -> None:
    pod = k.pod(POD, "shop", statuses=[k.running(), k.running("sidecar", ready=False)])
    assert ready_counts(pod) == (1, 2)
    pending = k.unschedulable_pod(POD, "shop", "no nodes")
    assert ready_counts(pending) == (0, 1)


# -- a pod's status ------------------------------------------------------------------------------


def test_a_running_ready_pod_is_ok() -> None:
    assert pod_status(k.pod(POD, "shop")) == (Health.OK, "Running, 1/1 ready")
    restarted = k.pod(POD, "shop", statuses=[k.running(restarts=2), k.running("sidecar")])
    assert pod_status(restarted) == (Health.OK, "Running, 2/2 ready, 2 restarts")


def test_a_crash_loop_says_how_its_last_run_ended() -> None:
    pod = k.pod(POD, "shop", statuses=[crash_loop("Error", 1, restarts=7)])
    assert pod_status(pod) == (
        Health.FAILING,
        "CrashLoopBackOff (last: Error, exit code 1), 0/1 ready, 7 restarts",
    )
    oom = k.pod(POD, "shop", statuses=[crash_loop("OOMKilled", 137, restarts=3), k.running("s")])
    assert pod_status(oom) == (
        Health.FAILING,
        "CrashLoopBackOff (last: OOMKilled, exit code 137), 1/2 ready, 3 restarts",
    )


def test_a_missing_secret_is_said_with_the_kubelets_message() -> None:
    config = k.waiting("app", "CreateContainerConfigError", 'secret "db-credentials" not found')
    pod = k.pod(POD, "shop", phase="Pending", statuses=[config])
    assert pod_status(pod) == (
        Health.FAILING,
        'CreateContainerConfigError: secret "db-credentials" not found, 0/1 ready',
    )
    pulling = k.waiting("app", "ErrImagePull")
    assert pod_status(k.pod(POD, "shop", phase="Pending", statuses=[pulling])) == (
        Health.FAILING,
        "ErrImagePull, 0/1 ready",
    )


def test_a_pod_being_deleted_is_terminating_whatever_its_containers_do() -> None:
    pod = k.pod(POD, "shop", statuses=[crash_loop()])
    pod["metadata"]["deletionTimestamp"] = k.ts(5)
    assert pod_status(pod) == (Health.DEGRADED, "Terminating")


def test_a_pod_no_node_can_take_is_failing_with_the_schedulers_message() -> None:
    message = "0/3 nodes are available: 3 Insufficient cpu."
    assert pod_status(k.unschedulable_pod(POD, "shop", message)) == (
        Health.FAILING,
        f"Pending, Unschedulable: {message}",
    )
    bare = k.unschedulable_pod(POD, "shop", message)
    scheduled = bare["status"]["conditions"][0]
    del scheduled["reason"], scheduled["message"]
    assert pod_status(bare) == (Health.FAILING, "Pending, Unschedulable:")


def test_a_pod_starting_is_pending_not_failing() -> None:
    creating = k.pod(POD, "shop", phase="Pending", statuses=[k.waiting("app", "ContainerCreating")])
    assert pod_status(creating) == (Health.DEGRADED, "Pending, 0/1 ready")


def test_a_pod_that_ran_to_its_end_completed() -> None:
    done = k.running("report", ready=False)
    done["state"] = k.terminated("Completed", 0)
    pod = k.pod("nightly-export-28999-x2x9q", "shop", phase="Succeeded", statuses=[done])
    assert pod_status(pod) == (Health.OK, "Completed")


def test_a_failed_pod_says_why_the_kubelet_failed_it() -> None:
    evicted = k.pod(POD, "shop", phase="Failed", statuses=[])
    evicted["status"]["reason"] = "Evicted"
    evicted["status"]["message"] = "The node was low on resource: memory."
    assert pod_status(evicted) == (Health.FAILING, "Failed: Evicted")
    unexplained = k.pod(POD, "shop", phase="Failed", statuses=[])
    assert pod_status(unexplained) == (Health.FAILING, "Failed: Error")


def test_a_running_pod_failing_its_readiness_probe_is_degraded() -> None:
    pod = k.pod(POD, "shop", statuses=[k.running(ready=False, restarts=3)])
    assert pod_status(pod) == (Health.DEGRADED, "Running, not ready (0/1 ready), 3 restarts")


def test_a_pod_whose_node_stopped_reporting_is_unknown() -> None:
    lost = k.pod(POD, "shop", phase="Unknown")
    lost["status"]["conditions"] = []
    assert pod_status(lost) == (Health.UNKNOWN, "Unknown, 1/1 ready")
    no_status = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": POD}, "spec": {}}
    assert pod_status(no_status) == (Health.UNKNOWN, "Unknown, 0/0 ready")


# -- workloads -----------------------------------------------------------------------------------


def test_replica_counts_of_each_kind_of_workload() -> None:
    assert workload_counts(k.deployment("api", "shop", replicas=3, ready=2)) == (3, 2)
    assert workload_counts(k.deployment("api", "shop", replicas=3, ready=0)) == (3, 0)
    assert workload_counts(k.statefulset("orders-db", "shop", replicas=3, ready=1)) == (3, 1)
    assert workload_counts(k.daemonset("node-exporter", "shop", desired=4, ready=3)) == (4, 3)
    defaulted = k.deployment("api", "shop", replicas=1)
    del defaulted["spec"]["replicas"]  # the API's default is 1
    assert workload_counts(defaulted) == (1, 1)
    fresh = k.daemonset("node-exporter", "shop")
    fresh["status"] = {}  # created, not yet seen by its controller
    assert workload_counts(fresh) == (0, 0)
    status_only = k.daemonset("node-exporter", "shop", desired=2, ready=1)
    del status_only["kind"]
    assert workload_counts(status_only) == (2, 1)


def test_a_workload_is_ok_when_all_its_replicas_are_ready() -> None:
    deployment = k.deployment("api", "shop", replicas=2)
    assert workload_status(deployment, [k.pod(POD, "shop")]) == (Health.OK, "2/2 ready")


def test_a_workload_with_no_ready_replica_fails_with_its_first_pods_trouble() -> None:
    deployment = k.deployment("api", "shop", replicas=2, ready=0)
    pods = [
        k.pod("api-1", "shop", phase="Pending", statuses=[k.waiting("app", "ContainerCreating")]),
        k.pod("api-2", "shop", statuses=[crash_loop()]),
        k.pod("api-3", "shop", statuses=[crash_loop("OOMKilled", 137, restarts=2)]),
    ]
    assert workload_status(deployment, pods) == (
        Health.FAILING,
        "0/2 ready; CrashLoopBackOff (last: Error, exit code 1), 0/1 ready, 7 restarts",
    )


def test_a_workload_short_of_replicas_or_with_a_failing_pod_is_degraded() -> None:
    short = k.deployment("api", "shop", replicas=3, ready=2)
    assert workload_status(short, [k.pod("api-1", "shop")]) == (Health.DEGRADED, "2/3 ready")
    full = k.statefulset("orders-db", "shop", replicas=2)
    statuses = [(Health.OK, "Running"), (Health.FAILING, "Error, 0/1 ready")]
    assert workload_status(full, statuses=statuses) == (
        Health.DEGRADED,
        "2/2 ready; Error, 0/1 ready",
    )


def test_statuses_worked_out_already_are_used_instead_of_the_pods() -> None:
    deployment = k.deployment("api", "shop", replicas=1)
    crashing = [k.pod("api-1", "shop", statuses=[crash_loop()])]
    assert workload_status(deployment, crashing, statuses=[]) == (Health.OK, "1/1 ready")


def test_a_stalled_rollout_says_progress_deadline_exceeded() -> None:
    conditions = [
        {
            "type": "Available",
            "status": "True",
            "reason": "MinimumReplicasAvailable",
            "message": "Deployment has minimum availability.",
            "lastUpdateTime": k.ts(900),
            "lastTransitionTime": k.ts(900),
        },
        {
            "type": "Progressing",
            "status": "False",
            "reason": "ProgressDeadlineExceeded",
            "message": 'ReplicaSet "api-7c9f" has timed out progressing.',
            "lastUpdateTime": k.ts(60),
            "lastTransitionTime": k.ts(60),
        },
    ]
    deployment = k.deployment("api", "shop", replicas=3, ready=2, conditions=conditions)
    pods = [k.pod("api-7c9f-x2x9q", "shop", statuses=[crash_loop()])]
    assert workload_status(deployment, pods) == (
        Health.DEGRADED,
        "2/3 ready, ProgressDeadlineExceeded; "
        "CrashLoopBackOff (last: Error, exit code 1), 0/1 ready, 7 restarts",
    )


def test_a_workload_scaled_to_zero_is_ok() -> None:
    assert workload_status(k.daemonset("gpu-agent", "shop", desired=0)) == (
        Health.OK,
        "scaled to 0",
    )


def test_the_worst_health_wins() -> None:
    assert worst([Health.OK, Health.DEGRADED, Health.UNKNOWN]) is Health.DEGRADED
    assert worst([Health.OK, Health.UNKNOWN]) is Health.UNKNOWN
    assert worst([Health.DEGRADED, Health.FAILING, Health.OK]) is Health.FAILING
    assert worst([Health.OK]) is Health.OK
    assert worst([]) is Health.OK


# -- secrets and configmaps ----------------------------------------------------------------------


def secret_key(variable: str, secret: str, key: str, **extra: Any) -> dict[str, Any]:
    return {"name": variable, "valueFrom": {"secretKeyRef": {"name": secret, "key": key, **extra}}}


def configmap_key(variable: str, configmap: str, key: str, **extra: Any) -> dict[str, Any]:
    ref = {"name": configmap, "key": key, **extra}
    return {"name": variable, "valueFrom": {"configMapKeyRef": ref}}


def test_optional_keys_name_the_variables_they_would_fill() -> None:
    env = [
        secret_key("SENTRY_DSN", "sentry", "dsn", optional=True),
        secret_key("SENTRY_ENV", "sentry", "env", optional=True),
        configmap_key("FEATURES", "flags", "features", optional=True),
        secret_key("DB_PASSWORD", "db-credentials", "password"),
        secret_key("NAMELESS", "", "x", optional=True),
        {"name": "LOG_LEVEL", "value": "info"},
    ]
    pod = k.pod(POD, "shop", containers=[k.container_spec(env=env)])
    assert optional_env(pod) == {
        ("secret", "sentry"): ["SENTRY_DSN", "SENTRY_ENV"],
        ("configmap", "flags"): ["FEATURES"],
    }
    assert optional_env(k.pod(POD, "shop")) == {}


def test_a_pod_is_crash_looping_when_backing_off_or_after_a_failed_run() -> None:
    assert crash_looping(k.pod(POD, "shop", statuses=[k.running("side"), crash_loop()]))
    errored = k.running(restarts=1, last=k.terminated("Error", 1))
    assert crash_looping(k.pod(POD, "shop", statuses=[errored]))
    # A server that exits 0 under restartPolicy Always is backed off like any other.
    clean_exit = k.waiting("app", "CrashLoopBackOff", restarts=4, last=k.terminated("Completed", 0))
    assert crash_looping(k.pod(POD, "shop", statuses=[clean_exit]))
    completed = k.running(restarts=1, last=k.terminated("Completed", 0))
    assert not crash_looping(k.pod(POD, "shop", statuses=[completed]))
    never_restarted = k.running(last=k.terminated("Error", 1))
    assert not crash_looping(k.pod(POD, "shop", statuses=[never_restarted]))
    pulling = k.waiting("app", "ImagePullBackOff")
    assert not crash_looping(k.pod(POD, "shop", statuses=[pulling]))
    assert not crash_looping(k.unschedulable_pod(POD, "shop", "no nodes"))


def pod_reading_everything() -> dict[str, Any]:
    volumes = [
        {"name": "tls", "secret": {"secretName": "api-tls", "defaultMode": 420}},
        {"name": "conf", "configMap": {"name": "api-config"}},
        {"name": "extra", "configMap": {"name": "api-extra", "optional": True}},
        {
            "name": "bundle",
            "projected": {
                "sources": [
                    {"secret": {"name": "bundle-secret"}},
                    {"configMap": {"name": "bundle-config"}},
                    {"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}},
                ]
            },
        },
        {"name": "data", "emptyDir": {}},
    ]
    init = k.container_spec("migrate", env_from=[{"secretRef": {"name": "db-credentials"}}])
    app = k.container_spec(
        env_from=[
            {"configMapRef": {"name": "api-env"}},
            {"secretRef": {"name": "api-tls"}},  # named already, as a volume
        ],
        env=[
            secret_key("DB_PASSWORD", "db-credentials", "password"),
            configmap_key("LOG_LEVEL", "api-config", "log-level"),
            secret_key("SENTRY_DSN", "sentry", "dsn", optional=True),
            {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        ],
    )
    pod = k.pod(POD, "shop", containers=[app], volumes=volumes)
    pod["spec"]["initContainers"] = [init]
    pod["spec"]["imagePullSecrets"] = [{"name": "registry-login"}]
    return pod


def test_references_are_every_secret_and_configmap_the_pod_needs_once_each() -> None:
    assert references(pod_reading_everything()) == [
        ("secret", "api-tls", None),
        ("configmap", "api-config", None),
        ("secret", "bundle-secret", None),
        ("configmap", "bundle-config", None),
        ("secret", "db-credentials", None),
        ("configmap", "api-env", None),
        ("secret", "db-credentials", "password"),
        ("configmap", "api-config", "log-level"),
        ("secret", "registry-login", None),
    ]


def test_optional_references_are_the_ones_it_reads_only_if_they_exist() -> None:
    assert references(pod_reading_everything(), optional=True) == [
        ("configmap", "api-extra", None),
        ("secret", "sentry", "dsn"),
    ]
    assert references(k.pod(POD, "shop")) == []


# -- quantities ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("250m", 0.25),
        ("1", 1.0),
        ("1.5", 1.5),
        (" 2 ", 2.0),
        ("2e3", 2000.0),
        ("1E-3", 0.001),
        ("-1", -1.0),
        ("+3", 3.0),
        ("100n", 100e-9),
        ("500u", 500e-6),
        ("1k", 1e3),
        ("1K", 1e3),
        ("128M", 128e6),
        ("2G", 2e9),
        ("3T", 3e12),
        ("4P", 4e15),
        ("5E", 5e18),
        ("1Ki", 1024.0),
        ("128Mi", 128 * 2**20),
        ("2Gi", 2 * 2**30),
        ("3Ti", 3 * 2**40),
        ("4Pi", 4 * 2**50),
        ("5Ei", 5 * 2**60),
        (2, 2.0),
        (0.5, 0.5),
        (None, 0.0),
        ("", 0.0),
    ],
)
def test_quantities_in_base_units(text: str | int | float | None, value: float) -> None:
    assert quantity(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["128MB", "lots", "1 Gi", "Mi"])
def test_what_is_not_a_quantity_is_refused_with_the_text(text: str) -> None:
    with pytest.raises(ValueError, match="not a quantity"):
        quantity(text)
