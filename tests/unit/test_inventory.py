"""The inventory: layered lookup, secrets by reference, errors that point at the place."""

from __future__ import annotations

import socket
import textwrap
from pathlib import Path

import pytest

from providers import inventory
from providers.compose_provider import ComposeProvider
from providers.inventory import (
    ConfigError,
    SecretError,
    SecretRef,
    config_candidates,
    discover_local,
    load_inventory,
)
from tests.servers.process import free_port


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "triage.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def config_error(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_inventory(str(path))
    return str(caught.value)


def test_a_valid_inventory_loads_with_its_environments(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        default_environment: prod
        settings: {check_timeout: 2.5}
        environments:
          prod:
            read_only: true
            targets:
              - {kind: redis, name: cache, url: "redis://cache.internal:6379/0",
                 password: {env: CACHE_PASSWORD}}
          staging:
            targets: []
        """,
    )
    inventory = load_inventory(str(path))
    assert inventory.source == str(path)
    assert inventory.environment_name() == "prod"
    assert inventory.settings.check_timeout == 2.5
    prod = inventory.environments["prod"]
    assert prod.read_only is True
    assert prod.targets[0].password == SecretRef(env="CACHE_PASSWORD")


def test_broken_yaml_names_file_line_and_column(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        environments:
          prod:
            targets: [
        """,
    )
    message = config_error(path)
    assert message.startswith(f"{path}:4:1: invalid YAML")


def test_unknown_kind_points_at_the_kind_and_lists_known_ones(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        environments:
          prod:
            targets:
              - kind: memcached
                name: cache
        """,
    )
    message = config_error(path)
    assert message.startswith(f"{path}:4:15: ")
    assert "unknown kind 'memcached'" in message
    assert "redis" in message


def test_password_written_in_a_url_is_refused_without_echoing_it(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        environments:
          prod:
            targets:
              - kind: redis
                name: cache
                url: redis://:hunter2-secret@cache:6379/0
        """,
    )
    message = config_error(path)
    assert message.startswith(f"{path}:6:14: ")
    assert "password" in message
    assert "hunter2" not in message


def test_a_missing_required_field_and_a_misspelt_one(tmp_path: Path) -> None:
    missing = write(tmp_path, "settings: {}\n")
    assert "environments: required field is missing" in config_error(missing)

    misspelt = write(
        tmp_path,
        """
        environments:
          prod:
            targetz: []
        """,
    )
    message = config_error(misspelt)
    assert message.startswith(f"{misspelt}:3:5: ")
    assert "environments.prod.targetz: unknown field" in message


def test_a_named_file_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    message = config_error(tmp_path / "nowhere.yaml")
    assert "nowhere.yaml" in message and "cannot read" in message


def test_unknown_environment_and_wrong_default(tmp_path: Path) -> None:
    path = write(tmp_path, "environments: {prod: {}}\n")
    with pytest.raises(ConfigError, match=r"no environment named 'qa'.*known: prod"):
        load_inventory(str(path)).environment_name("qa")
    wrong = write(tmp_path, "default_environment: qa\nenvironments: {prod: {}}\n")
    assert "default_environment 'qa' is not one of the environments: prod" in config_error(wrong)


def test_secret_references_resolve_from_environment_and_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIAGE_TEST_SECRET", "s3cret")
    assert SecretRef(env="TRIAGE_TEST_SECRET").resolve() == "s3cret"
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-file\n")
    assert SecretRef(file=secret_file).resolve() == "from-file"
    monkeypatch.delenv("TRIAGE_TEST_SECRET")
    with pytest.raises(SecretError, match="TRIAGE_TEST_SECRET is not set"):
        SecretRef(env="TRIAGE_TEST_SECRET").resolve()
    with pytest.raises(SecretError, match="cannot read secret file"):
        SecretRef(file=tmp_path / "absent").resolve()


def test_lookup_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRIAGE_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert config_candidates("given.yaml") == [Path("given.yaml")]
    assert config_candidates(None) == [
        Path("triage.yaml"),
        tmp_path / "xdg" / "triage" / "config.yaml",
    ]
    monkeypatch.setenv("TRIAGE_CONFIG", "/etc/triage.yaml")
    assert config_candidates(None) == [Path("/etc/triage.yaml")]


def test_xdg_file_is_used_when_no_local_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRIAGE_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    config_dir = tmp_path / "xdg" / "triage"
    config_dir.mkdir(parents=True)
    (config_dir / "config.yaml").write_text("environments: {from-xdg: {}}\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert list(load_inventory().environments) == ["from-xdg"]


def test_discovery_takes_urls_from_the_environment_by_reference(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://:pw@10.0.0.9:6380/2")
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:pw@db:5432/app")
    monkeypatch.setenv("AMQP_URL", "amqp://app:pw@mq:5672/%2F")
    targets = discover_local().environments["local"].targets
    assert [(target.kind, target.url) for target in targets] == [
        ("redis", SecretRef(env="REDIS_URL")),
        ("postgres", SecretRef(env="DATABASE_URL")),
        ("rabbitmq", SecretRef(env="AMQP_URL")),
    ]
    assert targets[0].resolve_url("unused") == "redis://:pw@10.0.0.9:6380/2"


def test_discovery_finds_listening_servers_and_skips_closed_ports(redis_server) -> None:
    closed = {"postgres": free_port(), "rabbitmq": free_port()}
    found = discover_local({"redis": redis_server.port, **closed}).environments["local"].targets
    assert [(target.kind, target.url) for target in found] == [
        ("redis", f"redis://127.0.0.1:{redis_server.port}/0")
    ]
    nothing = discover_local({"redis": free_port(), **closed})
    assert nothing.environments["local"].targets == []


def test_a_key_given_twice_is_refused_where_it_repeats(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        environments:
          prod: {}
        environments:
          staging: {}
        """,
    )
    assert config_error(path) == (
        f"{path}:3:1: invalid YAML: 'environments' is given twice in this mapping"
    )


def test_discovery_adds_docker_kubernetes_and_aws_when_this_machine_has_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # tests/conftest.py gives every test a bare machine: nothing to find.
    assert discover_local().environments["local"].targets == []

    engine_socket = tmp_path / "docker.sock"
    monkeypatch.setattr(inventory, "DOCKER_SOCKET", engine_socket)
    kube = Path.home() / ".kube"
    kube.mkdir()
    (kube / "config").write_text("apiVersion: v1\nkind: Config\n")
    with socket.socket(socket.AF_UNIX) as engine:
        engine.bind(str(engine_socket))
        targets = discover_local().environments["local"].targets
        assert [(t.kind, t.name, t.url) for t in targets] == [
            ("compose", "docker", None),
            ("kubernetes", "kubernetes", None),
        ]
        assert ComposeProvider(targets[0]).url == f"unix://{engine_socket}"

    monkeypatch.setenv("DOCKER_HOST", "unix:///tmp/elsewhere.sock")
    monkeypatch.setenv("AWS_PROFILE", "prod")
    targets = discover_local().environments["local"].targets
    assert [(t.kind, t.name, t.url) for t in targets] == [
        ("compose", "docker", None),  # the current Docker context's engine: DOCKER_HOST's
        ("kubernetes", "kubernetes", None),
        ("ecs", "aws", None),
    ]
    assert ComposeProvider(targets[0]).url == "unix:///tmp/elsewhere.sock"
