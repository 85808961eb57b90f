"""Docker contexts made by the docker CLI itself (`docker context create`, `docker context use`)
select the engine that discovery finds, as `docker context show` would: by DOCKER_CONTEXT, by
config.json's currentContext ($DOCKER_CONFIG or ~/.docker), with DOCKER_HOST over both."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import docker
import pytest

from providers.contract import Health
from providers.docker_contexts import current_context
from providers.environment import LiveEnvironment
from providers.inventory import discover_local
from tests.integration.compose_helpers import run_service
from tests.servers.docker_engine import DockerEngine
from tests.servers.sshd import DockerOverSSH

pytestmark = pytest.mark.integration


def docker_cli(*args: str) -> str:
    """The machine's docker CLI with this test's environment (HOME, DOCKER_CONFIG, ...)."""
    done = subprocess.run(
        ["docker", *args], capture_output=True, text=True, env=dict(os.environ), check=True
    )
    return done.stdout.strip()


async def discovered() -> LiveEnvironment:
    return LiveEnvironment(await asyncio.to_thread(discover_local))


async def test_docker_context_selects_an_engine_over_ssh_as_the_cli_does(
    docker_over_ssh: DockerOverSSH,
    docker_client: docker.DockerClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = docker_over_ssh.engine
    run_service(engine, "shop", "api", "sleep 300")
    docker_cli("context", "create", "app-1", "--docker", f"host={docker_over_ssh.url()}")
    docker_cli("context", "create", "blue", "--docker", "host=unix:///run/nowhere.sock")
    monkeypatch.setenv("DOCKER_CONTEXT", "app-1")
    live = await discovered()
    try:
        (tree,) = await live.discover()
        in_use = live.read_contexts()
        header = live.context_line()
    finally:
        await live.close()

    assert docker_cli("context", "show") == current_context() == "app-1"
    assert [(t.kind, t.name, t.url) for t in live.targets] == [("compose", "docker", None)]
    assert tree.name == f"docker ({docker_over_ssh.url()})"
    assert tree.status.health is Health.OK, tree.status.reason
    assert [child.name for child in tree.children] == ["shop"]
    assert in_use["docker"] == ("app-1",)
    assert header == "docker app-1"


async def test_current_context_of_docker_config_then_docker_host_over_it(
    docker_engine: DockerEngine,
    docker_client: docker.DockerClient,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    run_service(docker_engine, "shop", "api", "sleep 300")
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    docker_cli("context", "create", "blue", "--docker", f"host={docker_engine.base_url}")
    docker_cli("context", "use", "blue")  # config.json's currentContext
    live = await discovered()
    try:
        (tree,) = await live.discover()
        header = live.context_line() if live.read_contexts() else ""
    finally:
        await live.close()

    assert docker_cli("context", "show") == current_context() == "blue"
    assert tree.name == f"docker ({docker_engine.base_url})"
    assert tree.status.health is Health.OK, tree.status.reason
    assert [child.name for child in tree.children] == ["shop"]
    assert header == "docker blue"

    gone = tmp_path / "gone.sock"
    monkeypatch.setenv("DOCKER_HOST", f"unix://{gone}")
    live = await discovered()
    try:
        (tree,) = await live.discover()
        live.read_contexts()
    finally:
        await live.close()
    assert docker_cli("context", "show") == current_context() == "default"
    assert tree.status.health is Health.FAILING
    assert tree.status.reason == f"unix://{gone}: engine not reachable (no socket there)"
    assert live.context_line() == "docker default"
