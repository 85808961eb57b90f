"""The compose provider's discovery and checks on the private Docker engine, with real faults."""

from __future__ import annotations

import socket
import subprocess
import sys

import docker
import docker.errors
import pytest

from providers.contract import CheckCall, CheckStatus, Health
from tests.integration.compose_helpers import (
    HEALTH_INTERVAL_NS,
    provider_on,
    run_service,
    state,
    until,
)
from tests.servers.docker_engine import DockerEngine

pytestmark = pytest.mark.integration

API = {"project": "shop", "service": "api"}
LOGGER = "echo api up; while true; do echo tick; sleep 1; done"


def healthcheck(command: str) -> dict[str, object]:
    return {
        "test": ["CMD-SHELL", command],
        "interval": HEALTH_INTERVAL_NS,
        "timeout": 2_000_000_000,
        "retries": 1,
    }


async def test_discovery_groups_projects_services_and_standalone_containers(
    docker_engine: DockerEngine, docker_client: docker.DockerClient
) -> None:
    run_service(docker_engine, "shop", "api", LOGGER)
    run_service(docker_engine, "shop", "api", LOGGER, number=2)
    run_service(docker_engine, "shop", "worker", "echo crashing; exit 3")
    # compose v1 naming (project_service_1) and no container-number label
    run_service(docker_engine, "legacy", "web", "sleep 300", sep="_", number_label=False)
    docker_engine.run(["sleep", "300"], name="lonely")
    provider = provider_on(docker_engine)
    try:
        worker = docker_client.containers.get("shop-worker-1")
        await until(lambda: state(worker)["Status"] == "exited", what="worker exited")
        root = await provider.discover()
    finally:
        await provider.close()

    assert root.id == "compose:local"
    assert root.kind == "compose.engine"
    assert root.status.health is Health.FAILING
    assert "shop-worker-1: exited with code 3" in root.status.reason
    by_id = {node.id: node for node in root.walk()}
    assert [child.name for child in root.children] == ["legacy", "shop", "standalone"]
    shop = by_id["compose:local/shop"]
    assert shop.kind == "compose.project"
    assert [service.name for service in shop.children] == ["api", "worker"]
    api = by_id["compose:local/shop/api"]
    assert api.kind == "compose.service"
    assert api.status.health is Health.OK
    assert api.status.reason == "2/2 running"
    assert [c.id for c in api.children] == [
        "compose:local/shop/api/shop-api-1",
        "compose:local/shop/api/shop-api-2",
    ]
    assert {call.check for call in api.checks} >= {"compose.running", "compose.restart_loop"}
    assert dict(api.checks[0].params) == API
    worker_node = by_id["compose:local/shop/worker"]
    assert worker_node.status.health is Health.FAILING
    assert worker_node.status.reason == "0/1 running; shop-worker-1: exited with code 3"
    legacy = by_id["compose:local/legacy/web/legacy_web_1"]
    assert legacy.kind == "compose.container"
    assert legacy.status.reason == "running"
    lonely = by_id["compose:local/_standalone/lonely"]
    assert by_id["compose:local/_standalone"].name == "standalone"
    assert lonely.status.health is Health.OK
    assert dict(lonely.checks[0].params) == {"container": "lonely"}


async def test_healthy_service_passes_every_check_with_facts(
    docker_engine: DockerEngine, docker_client: docker.DockerClient
) -> None:
    container = run_service(
        docker_engine, "shop", "api", LOGGER,
        healthcheck=healthcheck("true"), environment={"DATABASE_URL": "postgres://db/shop"},
    )  # fmt: skip
    await until(lambda: state(container).get("Health", {}).get("Status") == "healthy")
    provider = provider_on(docker_engine, required_env={"api": ["DATABASE_URL"]})
    try:
        results = {
            name: await provider.run_check(CheckCall(f"compose.{name}", API))
            for name in (
                "running", "restart_loop", "health", "oom_killed", "exit_code", "resources",
                "required_env", "port_conflicts",
            )
        }  # fmt: skip
    finally:
        await provider.close()

    for name, result in results.items():
        assert result.status is CheckStatus.PASS, (name, result.summary)
    assert results["running"].facts["state"] == "running"
    assert results["running"].facts["running"] == 1
    assert results["restart_loop"].facts["restart_count"] == 0
    assert results["health"].facts["health_status"] == "healthy"
    assert results["oom_killed"].facts["oom_killed"] is False
    assert results["exit_code"].facts["exited"] == []
    resources = results["resources"].facts
    assert 0 < resources["memory_bytes"] < 64 * 1024**2
    assert resources["memory_limit_bytes"] is None
    assert 0 <= resources["memory_ratio"] < 0.5  # of the host memory: no limit set
    assert resources["cpu_percent"] >= 0
    assert results["required_env"].facts["missing_env"] == []
    assert results["required_env"].facts["present_env"] == ["DATABASE_URL"]
    assert "postgres://db/shop" not in str(results["required_env"].to_dict())
    assert results["port_conflicts"].facts["ports_in_use"] == []


async def test_crash_loop_fails_restart_loop_with_count_and_exit_code(
    docker_engine: DockerEngine, docker_client: docker.DockerClient
) -> None:
    container = run_service(
        docker_engine, "shop", "worker", "echo crashing; exit 3",
        restart_policy={"Name": "always"},
    )  # fmt: skip
    await until(lambda: state(container)["RestartCount"] >= 3, what="three restarts")
    provider = provider_on(docker_engine, restart_threshold=3)
    try:
        result = await provider.run_check(
            CheckCall("compose.restart_loop", {"project": "shop", "service": "worker"})
        )
        root = await provider.discover()
    finally:
        await provider.close()

    assert result.status is CheckStatus.FAIL, result.summary
    assert "restart loop" in result.summary
    assert result.facts["restart_count"] >= 3
    assert result.facts["restart_policy"] == "always"
    assert result.facts["restart_threshold"] == 3
    assert result.facts["container"] == "shop-worker-1"
    node = next(n for n in root.walk() if n.id == "compose:local/shop/worker/shop-worker-1")
    assert node.status.health is Health.FAILING
    assert "restart" in node.status.reason


async def test_failing_health_check_fails_with_the_probe_output(
    docker_engine: DockerEngine, docker_client: docker.DockerClient
) -> None:
    container = run_service(
        docker_engine, "shop", "api", "sleep 300",
        healthcheck=healthcheck("echo db not reachable >&2; exit 1"),
    )  # fmt: skip
    await until(lambda: state(container).get("Health", {}).get("Status") == "unhealthy")
    provider = provider_on(docker_engine)
    try:
        result = await provider.run_check(CheckCall("compose.health", API))
        root = await provider.discover()
    finally:
        await provider.close()

    assert result.status is CheckStatus.FAIL, result.summary
    assert result.summary.startswith("shop-api-1 is unhealthy")
    assert result.facts["health_status"] == "unhealthy"
    assert result.facts["last_probe_output"] == "db not reachable"
    assert result.facts["last_probe_exit_code"] == 1
    assert result.facts["failing_streak"] >= 1
    assert any("db not reachable" in line for line in result.evidence)
    api = next(n for n in root.walk() if n.id == "compose:local/shop/api")
    assert api.status.health is Health.FAILING
    assert "unhealthy: db not reachable" in api.status.reason


async def test_oom_killed_container_fails_with_its_limit(
    docker_engine: DockerEngine, docker_client: docker.DockerClient
) -> None:
    # tmpfs pages are charged to the container's memory cgroup: 64 MiB into 8 MiB gets killed
    container = run_service(
        docker_engine, "shop", "api", "head -c 67108864 /dev/zero > /dev/shm/fill",
        mem_limit="8m",
    )  # fmt: skip
    await until(lambda: state(container)["Status"] == "exited", what="the OOM kill")
    provider = provider_on(docker_engine)
    try:
        oom = await provider.run_check(CheckCall("compose.oom_killed", API))
        healthy = await provider.run_check(CheckCall("compose.health", API))
    finally:
        await provider.close()

    assert oom.status is CheckStatus.FAIL, oom.summary
    assert oom.summary.startswith("shop-api-1 was killed: out of memory (limit 8.0 MiB")
    assert oom.facts["oom_killed"] is True
    assert oom.facts["exit_code"] == 137
    assert oom.facts["memory_limit_bytes"] == 8 * 1024**2
    assert oom.facts["killed"] == ["shop-api-1"]
    assert healthy.status is CheckStatus.SKIPPED
    assert healthy.facts["health_status"] is None


async def test_exited_non_zero_shows_the_last_log_lines(
    docker_engine: DockerEngine, docker_client: docker.DockerClient
) -> None:
    command = (
        "echo starting api; sleep 0.05; echo 'fatal: config file /etc/api.yaml missing' >&2; exit 2"
    )
    container = run_service(docker_engine, "shop", "api", command)
    await until(lambda: state(container)["Status"] == "exited")
    provider = provider_on(docker_engine)
    try:
        exit_code = await provider.run_check(CheckCall("compose.exit_code", API))
        running = await provider.run_check(CheckCall("compose.running", API))
    finally:
        await provider.close()

    assert exit_code.status is CheckStatus.FAIL, exit_code.summary
    assert exit_code.summary == "shop-api-1 exited with code 2"
    assert exit_code.facts["exit_code"] == 2
    assert exit_code.facts["exited"] == ["shop-api-1"]
    assert exit_code.facts["last_log_lines"] == [
        "starting api",
        "fatal: config file /etc/api.yaml missing",
    ]
    assert exit_code.evidence[-1] == "fatal: config file /etc/api.yaml missing"
    assert running.status is CheckStatus.FAIL
    assert running.facts["state"] == "exited"
    assert running.facts["not_running"] == ["shop-api-1"]


async def test_high_memory_usage_against_the_limit(
    docker_engine: DockerEngine, docker_client: docker.DockerClient
) -> None:
    run_service(
        docker_engine, "shop", "api",
        "head -c 14680064 /dev/zero > /dev/shm/fill; echo filled; sleep 300", mem_limit="16m",
    )  # fmt: skip
    container = docker_client.containers.get("shop-api-1")
    await until(lambda: b"filled" in container.logs(), what="14 MiB written")
    provider = provider_on(docker_engine)
    try:
        result = await provider.run_check(CheckCall("compose.resources", API))
    finally:
        await provider.close()

    assert result.status in (CheckStatus.WARN, CheckStatus.FAIL), result.summary
    assert "high memory usage" in result.summary
    assert result.facts["memory_limit_bytes"] == 16 * 1024**2
    assert result.facts["memory_ratio"] >= 0.85
    assert result.facts["memory_bytes"] >= 14 * 1024**2
    assert result.evidence[0].startswith("shop-api-1: memory ")


async def test_port_conflicts_with_a_process_and_with_a_container(
    docker_engine: DockerEngine, docker_client: docker.DockerClient
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(docker.errors.APIError, match="address already in use"):
            run_service(
                docker_engine, "shop", "api", "httpd -f -p 8080",
                ports={"8080/tcp": ("127.0.0.1", port)},
            )  # fmt: skip
        holder = run_service(
            docker_engine, "shop", "web", "httpd -f -p 80", ports={"80/tcp": ("127.0.0.1", None)}
        )
        holder.reload()
        web_port = int(holder.attrs["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"])
        with pytest.raises(docker.errors.APIError):
            run_service(
                docker_engine, "shop", "admin", "httpd -f -p 80",
                ports={"80/tcp": ("127.0.0.1", web_port)},
            )  # fmt: skip
        provider = provider_on(docker_engine)
        try:
            result = await provider.run_check(CheckCall("compose.port_conflicts"))
            api_only = await provider.run_check(CheckCall("compose.port_conflicts", API))
        finally:
            await provider.close()

    assert result.status is CheckStatus.FAIL, result.summary
    assert result.summary.startswith("port is already in use")
    assert sorted(result.facts["ports_in_use"]) == sorted([port, web_port])
    held = {row["container"]: row["held_by"] for row in result.facts["conflicts"]}
    assert held == {"shop-api-1": "another process", "shop-admin-1": "shop-web-1"}
    assert f"127.0.0.1:{web_port}->80/tcp" in result.facts["published"]
    assert any("address already in use" in line for line in result.evidence)
    assert api_only.status is CheckStatus.FAIL
    assert api_only.facts["ports_in_use"] == [port]


def published_port(container: docker.models.containers.Container, port: str) -> int:
    container.reload()
    return int(container.attrs["NetworkSettings"]["Ports"][port][0]["HostPort"])


def http_answers(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
        return conn.recv(16).startswith(b"HTTP/")


async def test_a_published_port_with_nothing_behind_it_in_the_container(
    docker_engine: DockerEngine, docker_client: docker.DockerClient
) -> None:
    """A server bound to the container's own 127.0.0.1 is Up with its port mapping shown, and
    nothing behind the published port answers: the engine's proxy accepts and closes."""
    web = run_service(
        docker_engine, "shop", "web", "httpd -f -p 8080", ports={"8080/tcp": ("127.0.0.1", None)}
    )
    admin = run_service(
        docker_engine, "shop", "admin", "httpd -f -p 127.0.0.1:8080",
        ports={"8080/tcp": ("127.0.0.1", None)},
    )  # fmt: skip
    web_port, admin_port = published_port(web, "8080/tcp"), published_port(admin, "8080/tcp")
    await until(lambda: http_answers(web_port))
    await until(lambda: "httpd" in admin.top()["Processes"][0][-1])  # it serves, inside
    provider = provider_on(docker_engine)
    try:
        everything = await provider.run_check(CheckCall("compose.published_ports_answer"))
        web_only = await provider.run_check(
            CheckCall("compose.published_ports_answer", {"project": "shop", "service": "web"})
        )
    finally:
        await provider.close()

    assert everything.status is CheckStatus.FAIL, everything.summary
    assert everything.summary == (
        f"shop-admin-1: 127.0.0.1:{admin_port}->8080/tcp is accepted and closed at once: "
        "nothing listens on 8080 inside the container (a server bound to its 127.0.0.1, or "
        "to another port?)"
    )
    answers = {row["container"]: row["answer"] for row in everything.facts["ports"]}
    assert answers == {"shop-web-1": "answers", "shop-admin-1": "closed"}
    assert everything.facts["closed"] == [admin_port]
    assert web_only.status is CheckStatus.PASS, web_only.summary
    assert web_only.summary == "shop/web: 1 published ports answer"


async def test_required_env_names_the_missing_and_never_shows_values(
    docker_engine: DockerEngine, docker_client: docker.DockerClient
) -> None:
    secret = "hunter2-very-secret-value"
    run_service(
        docker_engine, "shop", "api", "sleep 300",
        environment={"SECRET_TOKEN": secret, "API_KEY": "", "LOG_LEVEL": "debug"},
    )  # fmt: skip
    required = {"shop/api": ["DATABASE_URL", "SECRET_TOKEN", "API_KEY"]}
    provider = provider_on(docker_engine, required_env=required)
    try:
        result = await provider.run_check(CheckCall("compose.required_env", API))
        by_param = await provider.run_check(
            CheckCall("compose.required_env", {**API, "names": "SECRET_TOKEN, LOG_LEVEL"})
        )
        root = await provider.discover()
    finally:
        await provider.close()

    assert result.status is CheckStatus.FAIL, result.summary
    assert result.summary == "shop/api: missing environment variables: DATABASE_URL"
    assert result.facts["missing_env"] == ["DATABASE_URL"]
    assert result.facts["empty_env"] == ["API_KEY"]
    assert result.facts["present_env"] == ["SECRET_TOKEN", "API_KEY"]
    assert result.evidence == (
        "DATABASE_URL is missing in shop-api-1",
        "SECRET_TOKEN is set",
        "API_KEY is empty in shop-api-1",
    )
    assert by_param.status is CheckStatus.PASS
    assert by_param.facts["missing_env"] == []
    everything = f"{result.to_dict()} {by_param.to_dict()} {root}"
    assert secret not in everything
    assert "debug" not in everything
    api = next(n for n in root.walk() if n.id == "compose:local/shop/api")
    assert "compose.required_env" in {call.check for call in api.checks}


async def test_disk_usage_counts_what_a_prune_would_reclaim(
    docker_engine: DockerEngine, docker_client: docker.DockerClient
) -> None:
    container = run_service(docker_engine, "shop", "job", "head -c 1048576 /dev/zero > /blob")
    await until(lambda: state(container)["Status"] == "exited")
    provider = provider_on(docker_engine)
    try:
        default = await provider.run_check(CheckCall("compose.disk_usage"))
        strict = await provider.run_check(
            CheckCall("compose.disk_usage", {"warn_reclaimable_bytes": 1024})
        )
    finally:
        await provider.close()

    assert default.status is CheckStatus.PASS, default.summary
    assert default.facts["images"] >= 1
    assert default.facts["images_bytes"] > 1_000_000  # the static busybox
    assert default.facts["containers"] == 1
    assert default.facts["containers_reclaimable_bytes"] >= 1024 * 1024
    assert default.facts["reclaimable_bytes"] >= 1024 * 1024
    assert 0 < default.facts["free_ratio"] <= 1
    assert strict.status is CheckStatus.WARN
    assert strict.summary.endswith("prune to free it")


async def test_an_unreachable_engine_is_a_failing_root_and_error_checks(tmp_path: object) -> None:
    provider = provider_on(f"unix://{tmp_path}/no-docker.sock", timeout=2)
    try:
        root = await provider.discover()
        result = await provider.run_check(CheckCall("compose.running"))
    finally:
        await provider.close()

    assert root.status.health is Health.FAILING
    assert "engine not reachable (no socket there)" in root.status.reason
    assert root.children == ()
    assert result.status is CheckStatus.ERROR
    assert result.facts["address"] == f"unix://{tmp_path}/no-docker.sock"
    assert "engine not reachable" in result.summary


def test_importing_the_provider_does_not_import_docker() -> None:
    code = "import sys, providers.compose_provider; print('docker' in sys.modules)"
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "False"
