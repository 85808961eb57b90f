"""Fixtures shared by every test: private servers on free loopback ports (tests/servers/), each
test's own configuration and state folders (the user's runbooks, inventory and audit log are
never this machine's), and a machine with nothing to discover (no Docker socket, no kubeconfig,
no AWS credentials, no server URL, no Redis, PostgreSQL or RabbitMQ on their usual ports) unless
the test puts it there."""

from __future__ import annotations

import os

import pytest

from providers import inventory
from tests.servers.process import free_port

pytest_plugins = [
    "tests.servers.fixtures",
    "tests.servers.http",
    "tests.servers.moto_server",
    "tests.servers.kube_api",
    "tests.servers.proxy",
    "tests.servers.sshd",
]


@pytest.fixture(autouse=True)
def own_config_and_state(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`$XDG_CONFIG_HOME` and `$XDG_STATE_HOME` of this test alone (processes it starts
    inherit them), and no `TRIAGE_CONFIG` from the machine."""
    home = tmp_path_factory.mktemp("xdg")
    for name in ("XDG_CONFIG_HOME", "XDG_STATE_HOME"):
        folder = home / name.lower()
        folder.mkdir()
        monkeypatch.setenv(name, str(folder))
    monkeypatch.delenv("TRIAGE_CONFIG", raising=False)


# What points a client or discovery at this machine's servers, credentials and proxies.
MACHINE_VARIABLES = (
    "DOCKER_HOST",
    "DOCKER_CONTEXT",
    "DOCKER_CONFIG",
    "DOCKER_CERT_PATH",
    "DOCKER_TLS_VERIFY",
    "KUBECONFIG",
    "KUBERNETES_SERVICE_HOST",
    "KUBERNETES_SERVICE_PORT",
    "REDIS_URL",
    "REDISCLI_AUTH",
    "DATABASE_URL",
    "AMQP_URL",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
)
MACHINE_PREFIXES = ("AWS_", "PG")  # every AWS_* and libpq's PGHOST, PGPORT, PGUSER, PGSERVICE ...


@pytest.fixture(autouse=True)
def nothing_of_this_machine(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A HOME of this test alone (no ~/.kube, ~/.aws, ~/.docker), none of the variables that
    point at this machine's servers or credentials (processes the test starts inherit that),
    and local discovery looking at an absent Docker socket and at ports nothing listens on:
    a laptop with Docker, Redis and PostgreSQL running is a bare machine to the tests. A test
    that wants something found sets it (a URL variable, DOCKER_HOST, its own socket or ports)."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    for name in list(os.environ):
        upper = name.upper()  # http_proxy and no_proxy are read in lower case too
        if upper in MACHINE_VARIABLES or upper.startswith(MACHINE_PREFIXES):
            monkeypatch.delenv(name)
    monkeypatch.setattr(inventory, "DOCKER_SOCKET", home / "docker.sock")
    closed = {kind: free_port() for kind in inventory.DEFAULT_LOCAL_PORTS}
    monkeypatch.setattr(inventory, "DEFAULT_LOCAL_PORTS", closed)
