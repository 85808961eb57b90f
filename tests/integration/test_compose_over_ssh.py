"""Docker engines over ssh, through the system ssh client: a real sshd on a free loopback port
(`app-1`), reached only through a second one (`jump`, ProxyJump in the test's ~/.ssh/config),
whose sessions run `docker system dial-stdio` against the private dockerd.

Discovery, checks, actions, logs and engine events work over it as over the local socket; each
way ssh can fail (port refused, host key unknown, no ssh client, a host that never answers) is
one line on its own target while the other engine's tree is discovered as usual.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import docker
import pytest

from providers.compose_provider import ComposeProvider
from providers.contract import CheckCall, Health, Node
from providers.environment import LiveEnvironment, PlannedCheck
from providers.inventory import Environment, Inventory, Target, discover_local
from tests.integration.compose_helpers import run_service, until
from tests.integration.test_compose_logs_actions import following, texts
from tests.servers.process import free_port
from tests.servers.sshd import DockerOverSSH, descendants

pytestmark = pytest.mark.integration

SHOP_API = {"project": "shop", "service": "api"}
TIMEOUT = 20.0  # an ssh through a jump host on a loaded machine: two handshakes per connection


def dial_stdio_children() -> list[str]:
    """The `ssh ... docker system dial-stdio` processes this test process started and left."""
    found = []
    for pid in descendants(os.getpid()):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "dial-stdio" in command:
            found.append(command)
    return found


def compose(name: str, url: str | None, timeout: float = TIMEOUT, **options: str) -> Target:
    return Target(kind="compose", name=name, url=url, timeout=timeout, options=options)


def environment(*targets: Target) -> LiveEnvironment:
    return LiveEnvironment(
        Inventory(environments={"prod": Environment(targets=list(targets))}, source="test")
    )


def by_name(nodes: list[Node]) -> dict[str, Node]:
    return {node.id.split("/")[0]: node for node in nodes}


async def test_docker_host_over_ssh_reaches_the_engine_through_the_jump_host(
    docker_over_ssh: DockerOverSSH,
    docker_client: docker.DockerClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = docker_over_ssh.engine
    run_service(engine, "shop", "api", "echo api up; sleep 300")
    monkeypatch.setenv("DOCKER_HOST", docker_over_ssh.url())  # ssh://root@app-1
    (target,) = (await asyncio.to_thread(discover_local)).environments["local"].targets
    provider = ComposeProvider(target.model_copy(update={"timeout": TIMEOUT}))
    try:
        tree = await provider.discover()
        running = await provider.run_check(CheckCall("compose.running", SHOP_API))
        since = datetime.now(UTC) - timedelta(seconds=1)
        async with following(provider, "compose:docker", since=since) as events:
            stop = await provider.plan_action(
                "compose.stop_service", {**SHOP_API, "stop_timeout": 0}
            )
            stopped = await provider.run_action(stop, confirmation="shop/api")
            await until(
                lambda: any("shop-api-1" in text for text in texts(events)),
                timeout=TIMEOUT,
                what="the engine's event for the stopped container, over ssh",
                seen=lambda: texts(events),
            )
        command = await provider.command_target({})
    finally:
        await provider.close()
    await until(lambda: not dial_stdio_children(), what="every ssh ended", seen=dial_stdio_children)

    assert (target.kind, target.url) == ("compose", None)
    assert tree.name == f"docker ({docker_over_ssh.url()})"
    assert tree.status.health is Health.OK, tree.status.reason
    assert tree.status.reason.startswith("Docker ") and "1 containers" in tree.status.reason
    assert [child.name for child in tree.children] == ["shop"]
    assert running.status.value == "pass", running.summary
    assert stopped.ok, stopped.summary
    assert "shop-api-1 died with exit code 137" in texts(events)  # stopped at once: SIGKILL
    assert command.variables == {"DOCKER_HOST": docker_over_ssh.url()}
    # Each login to app-1 came through a login to the jump host (ProxyJump).
    logins = [
        server.log_path.read_text().count("Accepted publickey for")
        for server in (docker_over_ssh.jump, docker_over_ssh.engine_host)
    ]
    assert logins[0] == logins[1] > 0, logins


async def test_a_tree_of_two_engines_one_over_ssh_tails_logs_over_ssh(
    docker_over_ssh: DockerOverSSH, docker_client: docker.DockerClient
) -> None:
    engine = docker_over_ssh.engine
    api = run_service(engine, "shop", "api", "echo api up; sleep 300")
    live = environment(
        compose("local", engine.base_url), compose("app-1", docker_over_ssh.url("app-1"))
    )
    try:
        trees = by_name(await live.discover())
        remote = live.provider_for("compose:app-1")
        async with following(remote, "compose:app-1/shop/api/shop-api-1") as lines:
            await until(lambda: "api up" in texts(lines), timeout=TIMEOUT, what="the history")
            started = time.monotonic()
            api.exec_run(["sh", "-c", "echo over-ssh-marker >/proc/1/fd/1"])
            await until(
                lambda: "over-ssh-marker" in texts(lines),
                timeout=TIMEOUT,
                what="a live line over ssh",
                seen=lambda: texts(lines),
            )
            live_after = time.monotonic() - started
    finally:
        await live.close()
    await until(lambda: not dial_stdio_children(), what="every ssh ended", seen=dial_stdio_children)

    local, over_ssh = trees["compose:local"], trees["compose:app-1"]
    assert local.status.health is Health.OK and over_ssh.status.health is Health.OK
    assert over_ssh.name == f"app-1 ({docker_over_ssh.url('app-1')})"
    assert [c.name for c in over_ssh.children] == [c.name for c in local.children] == ["shop"]
    assert texts(lines) == ["api up", "over-ssh-marker"]
    assert live_after < 5.0, f"a live line took {live_after:.2f}s over ssh"


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never says anything: a host that hangs."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield int(listener.getsockname()[1])


async def test_each_ssh_failure_is_one_line_while_the_other_engine_works(
    docker_over_ssh: DockerOverSSH, docker_client: docker.DockerClient, silent_port: int
) -> None:
    engine = docker_over_ssh.engine
    run_service(engine, "shop", "api", "sleep 300")
    user, port = docker_over_ssh.client.user, docker_over_ssh.engine_host.port
    refused_port = free_port()
    live = environment(
        compose("local", engine.base_url),
        compose("refused", f"ssh://{user}@127.0.0.1:{refused_port}"),
        compose("stranger", f"ssh://{user}@localhost:{port}"),  # no key known for localhost
        compose("hung", f"ssh://{user}@127.0.0.1:{silent_port}", timeout=2),
        compose("staging", None, context="staging"),
    )
    started = time.monotonic()
    try:
        trees = by_name(await live.discover())
        elapsed = time.monotonic() - started
        refused = trees["compose:refused"]
        checked = await live.run_checks(PlannedCheck(refused.id, call) for call in refused.checks)
    finally:
        await live.close()
    await until(lambda: not dial_stdio_children(), what="every ssh ended", seen=dial_stdio_children)

    reasons = {root: tree.status.reason for root, tree in trees.items()}
    assert trees["compose:local"].status.health is Health.OK
    assert [c.name for c in trees["compose:local"].children] == ["shop"]
    assert reasons["compose:refused"] == (
        f"ssh://{user}@127.0.0.1:{refused_port}: ssh: connect to host 127.0.0.1 "
        f"port {refused_port}: Connection refused: check the host, its sshd and any ProxyJump "
        f"with `ssh -p {refused_port} {user}@127.0.0.1`"
    )
    assert reasons["compose:stranger"] == (
        f"ssh://{user}@localhost:{port}: Host key verification failed: run "
        f"`ssh -p {port} {user}@localhost` once to accept its key, or add it to known_hosts"
    )
    assert reasons["compose:hung"] == f"ssh://{user}@127.0.0.1:{silent_port}: no answer within 2s"
    assert reasons["compose:staging"] == (
        "staging: docker context staging not found in ~/.docker/contexts: `docker context ls`"
    )
    assert trees["compose:staging"].name == "staging (docker context staging)"
    failing = {root for root, tree in trees.items() if tree.status.health is Health.FAILING}
    assert failing == set(trees) - {"compose:local"}
    assert all("\n" not in reason for reason in reasons.values())
    assert elapsed < 2 + 5, f"a host that never answers held discovery {elapsed:.1f}s"
    assert len(checked) == 2  # disk usage, port conflicts: each says why it could not run
    assert {(result.status.value, result.summary) for result in checked} == {
        ("error", reasons["compose:refused"])
    }


async def test_no_ssh_client_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH without ssh
    monkeypatch.setenv("DOCKER_HOST", "ssh://ops@app-1")
    (target,) = (await asyncio.to_thread(discover_local)).environments["local"].targets
    provider = ComposeProvider(target)
    try:
        tree = await asyncio.wait_for(provider.discover(), timeout=provider.timeout + 5)
    finally:
        await provider.close()
    assert tree.status.health is Health.FAILING
    assert tree.status.reason == (
        "ssh://ops@app-1: no `ssh` client on PATH: install OpenSSH's client "
        "(apt-get install openssh-client)"
    )
