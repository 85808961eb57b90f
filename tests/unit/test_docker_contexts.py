"""Docker contexts read as the docker CLI reads them, and ssh:// addresses and ssh's own words
turned into one line each (no server: the files and ssh's stderr are given)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from providers import inventory
from providers.compose_provider import ComposeProvider
from providers.contexts import (
    ContextChoices,
    ContextOverrides,
    context_choices,
    context_line,
    contexts_in_use,
)
from providers.docker_contexts import (
    DockerContextError,
    config_folder,
    current_context,
    docker_contexts,
    docker_endpoint,
)
from providers.docker_ssh import SSHDestination, explain
from providers.inventory import Target
from tests.docker_context_files import use_context, write_context


def test_with_nothing_set_the_default_context_is_the_local_socket() -> None:
    assert config_folder() == Path.home() / ".docker"
    assert current_context() == "default"
    endpoint = docker_endpoint()
    assert (endpoint.context, endpoint.host) == ("default", f"unix://{inventory.DOCKER_SOCKET}")
    assert not endpoint.from_environment


def test_docker_host_then_docker_context_then_current_context_as_the_cli_orders_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_context("blue", "unix:///run/blue.sock")
    write_context("green", "ssh://ops@green-1")
    use_context("green")
    assert current_context() == "green"
    assert docker_endpoint().host == "ssh://ops@green-1"

    monkeypatch.setenv("DOCKER_CONTEXT", "blue")
    assert (current_context(), docker_endpoint().host) == ("blue", "unix:///run/blue.sock")

    monkeypatch.setenv("DOCKER_HOST", "tcp://10.0.0.5:2375")  # the CLI: DOCKER_HOST wins
    endpoint = docker_endpoint()
    assert (current_context(), endpoint.host, endpoint.from_environment) == (
        "default",
        "tcp://10.0.0.5:2375",
        True,
    )
    # A context named explicitly (the picker's choice, a target's options.context) wins.
    assert docker_endpoint("green").host == "ssh://ops@green-1"


def test_docker_config_is_where_the_contexts_are(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    write_context("home-only", "unix:///run/home.sock")
    use_context("home-only")
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "elsewhere"))
    assert current_context() == "default"  # ~/.docker is not read any more
    write_context("ops", "ssh://ops@app-1", description="the app hosts")
    use_context("ops")
    assert (current_context(), docker_endpoint().host) == ("ops", "ssh://ops@app-1")
    digest = hashlib.sha256(b"ops").hexdigest()
    assert (tmp_path / "elsewhere" / "contexts" / "meta" / digest / "meta.json").is_file()
    assert docker_contexts() == ({"default": "", "ops": "the app hosts"}, [])


def test_a_context_that_is_not_there_or_names_no_engine_is_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOCKER_CONTEXT", "staging")
    with pytest.raises(DockerContextError) as missing:
        docker_endpoint()
    assert str(missing.value) == (
        "docker context staging not found in ~/.docker/contexts: `docker context ls`"
    )
    meta = write_context("staging", "unix:///x.sock")
    meta.write_text('{"Name": "staging", "Endpoints": {}}')
    with pytest.raises(DockerContextError) as hostless:
        docker_endpoint()
    assert str(hostless.value) == (
        "docker context staging in ~/.docker/contexts names no engine (Endpoints.docker.Host): "
        "`docker context inspect staging`"
    )
    meta.write_text("not json")
    assert docker_contexts() == (
        {"default": ""},
        [f"~/.docker/contexts/meta/{meta.parent.name}/meta.json: not a Docker context's meta.json"],
    )


def test_a_context_with_tls_files_gives_them_to_the_client_and_to_commands() -> None:
    write_context("secure", "tcp://engine.internal:2376")
    tls = config_folder() / "contexts" / "tls" / hashlib.sha256(b"secure").hexdigest() / "docker"
    tls.mkdir(parents=True)
    (tls / "ca.pem").write_text("ca")
    write_context("lax", "tcp://lab.internal:2376", skip_tls_verify=True)
    assert docker_endpoint("secure").tls_folder == tls
    assert docker_endpoint("secure").tls_verify
    assert docker_endpoint("lax").tls_folder is None
    assert not docker_endpoint("lax").tls_verify


async def test_a_contexts_tls_files_go_to_its_client_and_to_the_commands_run_on_it() -> None:
    write_context("secure", "tcp://engine.internal:2376")
    tls = config_folder() / "contexts" / "tls" / hashlib.sha256(b"secure").hexdigest() / "docker"
    tls.mkdir(parents=True)
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (tls / name).write_text(name)
    provider = ComposeProvider(Target(kind="compose", name="docker", options={"context": "secure"}))
    client = provider.new_client(5, version="1.41")  # a version given: nothing is asked yet
    try:
        assert client.api.base_url == "https://engine.internal:2376"
        assert client.api.verify == str(tls / "ca.pem")
        assert client.api.cert == (str(tls / "cert.pem"), str(tls / "key.pem"))
    finally:
        client.close()
    command = await provider.command_target({})
    assert command.variables == {
        "DOCKER_HOST": "tcp://engine.internal:2376",
        "DOCKER_CERT_PATH": str(tls),
        "DOCKER_TLS_VERIFY": "1",
    }


def test_the_context_picker_lists_switches_and_names_docker_contexts() -> None:
    write_context("app-1", "ssh://ops@app-1", description="app hosts")
    write_context("blue", "unix:///run/blue.sock")
    use_context("blue")
    follows = Target(kind="compose", name="docker")
    fixed = Target(kind="compose", name="edge", url="ssh://ops@edge-1")
    targets = [follows, fixed]

    in_use = contexts_in_use(targets)
    assert in_use["docker"] == ("blue",)
    assert context_line(in_use) == "docker blue"
    choices = context_choices(targets)
    assert choices.docker_contexts == {"default": "", "app-1": "app hosts", "blue": ""}

    overrides = ContextOverrides().choose("docker", "app-1", choices)
    assert overrides.docker_context == "app-1"
    switched = [overrides.apply(target) for target in targets]
    assert switched[0].options == {"context": "app-1"}
    assert switched[1] == fixed  # a target that names its engine keeps it
    assert contexts_in_use(switched)["docker"] == ("app-1",)
    assert context_choices([fixed]) == ContextChoices()  # nothing to switch, nothing read


def test_ssh_addresses_are_the_docker_clis() -> None:
    assert SSHDestination.parse("ssh://ops@app-1") == SSHDestination("app-1", "ops", None)
    assert SSHDestination.parse("ssh://app-1:2222").login() == "-p 2222 app-1"
    assert SSHDestination.parse("ssh://ops@app-1").command("/usr/bin/ssh", 4.2) == [
        "/usr/bin/ssh", "-T", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
        "-l", "ops", "--", "app-1", "docker", "system", "dial-stdio",
    ]  # fmt: skip
    for bad, why in (
        ("ssh://ops@app-1/var/run/docker.sock", "nothing after"),
        ("ssh://ops:secret@app-1", "password"),
        ("ssh://", "not an ssh"),
    ):
        with pytest.raises(ValueError, match=why) as error:
            SSHDestination.parse(bad)
        assert "secret" not in str(error.value)


APP = SSHDestination("app-1", "ops")


@pytest.mark.parametrize(
    ("stderr", "code", "said"),
    [
        (
            "channel 0: open failed: connect failed: Connection refused\r\n"
            "stdio forwarding failed\r\nConnection closed by UNKNOWN port 65535\r\n",
            255,
            "ssh: channel 0: open failed: connect failed: Connection refused: check the host, "
            "its sshd and any ProxyJump with `ssh ops@app-1`",
        ),
        (
            "ssh: connect to host jump.internal port 22: Connection timed out\r\n",
            255,
            "ssh: connect to host jump.internal port 22: Connection timed out: check the host, "
            "its sshd and any ProxyJump with `ssh ops@app-1`",
        ),
        (
            "ops@app-1: Permission denied (publickey).\r\n",
            255,
            "ops@app-1: Permission denied (publickey): check the user and key with "
            "`ssh ops@app-1` (ssh-add, IdentityFile)",
        ),
        (
            "bash: line 1: docker: command not found\n",
            127,
            "app-1 has no `docker` command on its PATH (docker system dial-stdio runs there): "
            "install the docker CLI on it",
        ),
        (
            "failed to open the raw stream connection: dial unix /var/run/docker.sock: "
            "connect: permission denied\n",
            1,
            "on app-1: failed to open the raw stream connection: dial unix "
            "/var/run/docker.sock: connect: permission denied",
        ),
        ("", -15, None),  # ended by us, when the connection closed
        ("", 0, None),
    ],
)
def test_what_ssh_says_becomes_one_line(stderr: str, code: int, said: str | None) -> None:
    assert explain(APP, stderr, code) == said
