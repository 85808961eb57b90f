"""The log search checks against real backends: the private Docker engine (busybox containers),
the fake Kubernetes API (pod logs shaped as the API serves them) and the moto server
(CloudWatch Logs). Each reads a bounded window, matches case-insensitively, redacts secrets."""

from __future__ import annotations

import json
import time
from pathlib import Path

import docker
import pytest

from providers.contract import CheckCall, CheckResult, CheckStatus
from providers.kubernetes_provider import KubernetesProvider
from providers.log_search import since_seconds
from tests.integration.aws_checks import ecs_provider, run
from tests.integration.compose_helpers import provider_on, run_service, until
from tests.servers import kube_objects as k
from tests.servers.docker_engine import DockerEngine
from tests.servers.kube_api import FakeKubeApi, kube_target
from tests.servers.moto_server import CLUSTER, LOG_GROUP, SERVICE, MotoAws

pytestmark = pytest.mark.integration
_ = ecs_provider  # the fixture, bound here where pytest looks for it
SECRET = "hunter2-very-secret"


def _plain(result: CheckResult) -> str:
    return json.dumps(result.to_dict(), default=str)


def test_durations_are_read_as_an_operator_writes_them() -> None:
    assert [since_seconds(v) for v in ("30s", "15m", "1h", "2d", "90", "", None)] == [
        30, 900, 3600, 172800, 90, None, None,
    ]  # fmt: skip
    with pytest.raises(ValueError, match="not a duration"):
        since_seconds("soon")


async def test_compose_log_search_reads_recent_lines_of_every_container(
    docker_engine: DockerEngine, docker_client: docker.DockerClient
) -> None:
    script = (
        "echo booting; echo 'ERROR db refused' >&2; echo 'password=" + SECRET + " Exception x';"
        # stdout and stderr are two pipes: a pause keeps the stderr line out of the last three
        " sleep 1; for i in 1 2 3 4 5; do echo ok $i; done; sleep 300"
    )
    first = run_service(docker_engine, "shop", "api", script)
    run_service(docker_engine, "shop", "api", "echo all fine; sleep 300", number=2)
    provider = provider_on(docker_engine)
    service = {"project": "shop", "service": "api"}
    try:
        await until(lambda: b"ok 5" in first.logs(), what="the first container's lines are written")
        found = await provider.run_check(CheckCall("compose.log_search", service))
        custom = await provider.run_check(
            CheckCall("compose.log_search", {**service, "pattern": "^ok [45]$"})
        )
        window = await provider.run_check(
            CheckCall("compose.log_search", {**service, "lines": 3, "since": "10m"})
        )
        bad = await provider.run_check(
            CheckCall("compose.log_search", {**service, "pattern": "(unclosed"})
        )
        missing = await provider.run_check(
            CheckCall("compose.log_search", {"project": "shop", "service": "nope"})
        )
    finally:
        await provider.close()

    assert found.status is CheckStatus.WARN, found.summary
    assert found.facts["count"] == 2 and found.facts["scanned"] == 9
    assert sorted(found.evidence) == [  # stdout and stderr: two pipes, no order between them
        "shop-api-1: ERROR db refused",
        "shop-api-1: password=*** Exception x",
    ]
    assert found.facts["by_source"] == {"shop-api-1": 2}
    assert SECRET not in _plain(found)
    assert custom.facts["count"] == 2 and custom.status is CheckStatus.WARN
    # the last 3 lines of each container: ok 3..5 and the second container's one line
    assert window.status is CheckStatus.PASS and window.facts["scanned"] == 4
    assert "since 10m ago" in window.summary
    assert bad.status is CheckStatus.ERROR and "not a regular expression" in bad.summary
    assert missing.status is CheckStatus.FAIL and missing.summary == "no containers for shop/nope"


async def test_kubernetes_log_search_reads_each_selected_pod_with_tail_lines(
    kube_api: FakeKubeApi, kubeconfig: Path
) -> None:
    kube_api.put(
        k.namespace("prod"),
        k.pod("web-1", "prod", labels={"app": "web"}),
        k.pod("web-2", "prod", labels={"app": "web"}),
        k.pod("db-1", "prod", labels={"app": "db"}),
    )
    for line in ("started", "Traceback (most recent call last):", "token=" + SECRET + " error"):
        kube_api.add_log("prod", "web-1", line)
    for line in ("started", "ERROR old failure", "served 200", "served 200"):
        kube_api.add_log("prod", "web-2", line)
    kube_api.add_log("prod", "db-1", "FATAL database is starting up")
    kube_api.add_log("prod", "web-1", "panic: nil map", previous=True)
    provider = KubernetesProvider(kube_target(kubeconfig, 3.0))
    scope = {"namespace": "prod", "selector": "app=web"}
    try:
        found = await provider.run_check(CheckCall("k8s.log_search", scope))
        tail = await provider.run_check(CheckCall("k8s.log_search", {**scope, "lines": 2}))
        one = await provider.run_check(
            CheckCall("k8s.log_search", {"namespace": "prod", "pod": "db-1", "pattern": "fatal"})
        )
        previous = await provider.run_check(
            CheckCall("k8s.log_search", {**scope, "previous": True})
        )
        none = await provider.run_check(
            CheckCall("k8s.log_search", {"namespace": "prod", "selector": "app=gone"})
        )
    finally:
        await provider.close()

    assert found.status is CheckStatus.WARN and found.facts["count"] == 3
    assert found.facts["pods"] == 2 and found.facts["scanned"] == 7
    assert found.evidence == (
        "web-1: Traceback (most recent call last):",
        "web-1: token=*** error",
        "web-2: ERROR old failure",
    )
    assert SECRET not in _plain(found)
    assert tail.facts["count"] == 2 and tail.facts["scanned"] == 4  # tailLines=2 per pod
    assert one.evidence == ("FATAL database is starting up",)
    assert previous.evidence == ("web-1: panic: nil map",)  # web-2 never restarted
    assert previous.facts["no_previous_run"] == ["web-2"]
    assert none.status is CheckStatus.FAIL and none.summary == "no pods with app=gone in prod"


async def test_cloudwatch_log_search_reads_a_group_window_by_pages(
    aws: MotoAws, ecs_provider: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    import providers.ecs_log_checks as ecs_log_checks

    monkeypatch.setattr(ecs_log_checks, "PAGE_LIMIT", 2)  # several pages: nextToken followed
    aws.ecs_stack()
    old_ms = int((time.time() - 3 * 3600) * 1000)
    aws.put_logs(LOG_GROUP, "ecs/api/old", ["ERROR from three hours ago"], at_ms=old_ms)
    aws.put_logs(
        LOG_GROUP,
        "ecs/api/task-1",
        ["started", "ERROR connect ECONNREFUSED 10.0.0.5:5432", "ok", f"api_key={SECRET} error"],
    )
    aws.put_logs("/other/group", "s", ["error elsewhere"])
    provider = ecs_provider
    found = await run(provider, "cloudwatch.log_search", group=LOG_GROUP)  # type: ignore[arg-type]
    wide = await run(provider, "cloudwatch.log_search", group=LOG_GROUP, since="4h")  # type: ignore[arg-type]
    by_service = await run(
        provider,  # type: ignore[arg-type]
        "cloudwatch.log_search",
        cluster=CLUSTER,
        service=SERVICE,
        pattern="econnrefused",
    )
    neither = await run(provider, "cloudwatch.log_search")  # type: ignore[arg-type]

    assert found.status is CheckStatus.WARN, found.summary
    assert found.facts["count"] == 2 and found.facts["scanned"] == 4
    assert found.evidence == ("ERROR connect ECONNREFUSED 10.0.0.5:5432", "api_key=*** error")
    assert SECRET not in _plain(found)
    assert wide.facts["count"] == 3
    assert by_service.facts["group"] == LOG_GROUP and by_service.facts["count"] == 1
    assert neither.status is CheckStatus.ERROR and "give group" in neither.summary
