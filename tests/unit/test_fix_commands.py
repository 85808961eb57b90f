"""Fix commands: filled in so that a value stays one literal string wherever it stands, the kinds
they reach found by their tools and variables, and an environment with nothing of the
operator's that points at a server."""

from __future__ import annotations

import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from providers.base import CommandTarget
from providers.registry import command_catalogue
from runbooks.commands import (
    child_environment,
    failure_in,
    fill,
    kinds_used,
    programs,
    references,
    shown_environment,
)

SPECS = command_catalogue()


def shell_output(command: str) -> str:
    ran = subprocess.run(["sh", "-c", command], capture_output=True, check=True, timeout=10)
    return ran.stdout.decode("utf-8")


# Text a parameter may hold, shell metacharacters included (no NUL: no argv can hold one).
VALUES = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40
)


@settings(max_examples=60, deadline=None)
@given(value=VALUES)
def test_a_value_is_one_literal_string_outside_quotes(value: str) -> None:
    assert shell_output(fill("printf '%s|' $v", {"v": value})) == f"{value}|"


@settings(max_examples=60, deadline=None)
@given(value=VALUES)
def test_a_value_is_literal_inside_double_quotes(value: str) -> None:
    assert shell_output(fill('printf "%s|" "key:$v:end"', {"v": value})) == f"key:{value}:end|"


@settings(max_examples=60, deadline=None)
@given(value=VALUES)
def test_a_value_is_literal_inside_single_quotes(value: str) -> None:
    filled = fill("""printf '%s|' '{"url": "$v"}'""", {"v": value})
    assert shell_output(filled) == f'{{"url": "{value}"}}|'


def test_a_value_cannot_run_a_command() -> None:
    filled = fill("echo $service", {"service": "web; touch /tmp/pwned-by-triage"})
    assert filled == "echo 'web; touch /tmp/pwned-by-triage'"


def test_braces_an_escaped_dollar_and_unknown_names() -> None:
    assert fill("echo ${a}b \\$a $HOME", {"a": "x"}) == "echo xb \\$a $HOME"


def test_references_in_order_each_once() -> None:
    assert references('redis-cli -u "$REDIS_URL" SET "k:${key}" $value $key') == [
        "REDIS_URL",
        "key",
        "value",
    ]


@pytest.mark.parametrize(
    ("command", "kinds"),
    [
        ('redis-cli -u "$REDIS_URL" CONFIG SET maxclients 20000', ["redis"]),
        ("docker compose restart $service", ["compose"]),
        ('docker compose ps postgres && pg_isready -d "$DATABASE_URL"', ["postgres", "compose"]),
        ("redis-cli --scan --pattern 'x:*' | head -5 | xargs -n1 redis-cli TTL", ["redis"]),
        ("sudo kubectl rollout restart deployment/$name -n $namespace", ["kubernetes"]),
        ("aws ecs update-service --cluster $cluster --force-new-deployment", ["ecs"]),
        ("curl -fsS http://localhost:8000/health", []),
        ("echo redis-cli", ["redis"]),  # a tool named anywhere reaches its kind: safe side
    ],
)
def test_the_kinds_a_command_reaches(command: str, kinds: list[str]) -> None:
    assert sorted(kinds_used(command, SPECS)) == sorted(kinds)


def test_programs_skip_wrappers_and_assignments() -> None:
    assert programs("sudo env A=1 certbot renew && docker compose restart nginx | tee x") == [
        "certbot",
        "docker",
        "tee",
    ]


def test_the_child_gets_the_targets_values_and_none_of_the_operators() -> None:
    operator = {
        "PATH": "/usr/bin",
        "HOME": "/root",
        "REDIS_URL": "redis://other:6379/0",
        "REDISCLI_AUTH": "operator-password",
        "DATABASE_URL": "postgresql://other/db",
        "PGPASSWORD": "operator-pg",
        "PGSERVICE": "other",
        "DOCKER_HOST": "tcp://other:2375",
        "DOCKER_CONTEXT": "other",
        "COMPOSE_PROJECT_NAME": "other",
        "KUBECONFIG": "/other/config",
        "AWS_PROFILE": "other",
        "AWS_ENDPOINT_URL_ECS": "http://other",
        "AWS_ACCESS_KEY_ID": "AKIAOPERATOR",
        "AMQP_URL": "amqp://other",
    }
    redis = CommandTarget(
        "cache",
        "redis",
        "127.0.0.1:7001",
        variables={"REDIS_URL": "redis://127.0.0.1:7001/0"},
        secrets={"REDISCLI_AUTH": "target-password"},
    )
    ecs = CommandTarget(
        "aws",
        "ecs",
        "aws eu-west-1",
        variables={"AWS_PROFILE": "prod", "AWS_REGION": "eu-west-1"},
        unset=("AWS_ACCESS_KEY_ID",),
    )
    environment = child_environment(operator, [redis, ecs], SPECS)
    assert environment == {
        "PATH": "/usr/bin",
        "HOME": "/root",
        "REDIS_URL": "redis://127.0.0.1:7001/0",
        "REDISCLI_AUTH": "target-password",
        "AWS_PROFILE": "prod",
        "AWS_REGION": "eu-west-1",
    }
    shown = shown_environment([redis, ecs])
    assert "target-password" not in shown and "REDISCLI_AUTH=(secret" in shown


@pytest.mark.parametrize(
    ("lines", "found"),
    [
        (["OK"], None),
        (["1) foo", "2) bar"], None),
        (["OK", "NOPERM this user has no permissions"], "NOPERM this user has no permissions"),
        (
            ["  WRONGPASS invalid username-password pair"],
            "WRONGPASS invalid username-password pair",
        ),
        (["cp: cannot open 'x': Permission denied"], "cp: cannot open 'x': Permission denied"),
        (["api-1  | Error: upstream failed"], None),
    ],
)
def test_failure_lines(lines: list[str], found: str | None) -> None:
    assert failure_in(lines) == found
