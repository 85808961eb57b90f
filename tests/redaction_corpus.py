"""Secrets in every shape redaction knows, look-alikes that must stay readable, and a provider
that puts all of them in everything it returns (no tests here).

Register the provider with `leaky_kind` (a fixture of the tests that use it) and name a target
of kind `leaky`; `isolate` keeps the machine's own settings out of a test.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from providers.base import Finding, Provider, check
from providers.contract import CheckCall, CheckStatus, Health, LogLine, Node, Status
from providers.registry import PROVIDER_KINDS

MACHINE_VARIABLES = ("DOCKER_HOST", "KUBECONFIG", "REDIS_URL", "DATABASE_URL", "AMQP_URL")


def isolate(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """HOME and the XDG folders in `home`; no variable naming this machine's servers or
    credentials; the leaky provider registered."""
    monkeypatch.setenv("HOME", str(home))
    for variable, folder in (
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_STATE_HOME", ".local/state"),
        ("XDG_CACHE_HOME", ".cache"),
    ):
        monkeypatch.setenv(variable, str(home / folder))
    for variable in list(os.environ):
        if variable in MACHINE_VARIABLES or variable.startswith(("AWS_", "PG", "TRIAGE_")):
            monkeypatch.delenv(variable)
    monkeypatch.setitem(PROVIDER_KINDS, "leaky", "tests.redaction_corpus:LeakyProvider")


@dataclass(frozen=True, slots=True)
class Secret:
    """A secret as it appears in a line, and the parts of it that must never be shown."""

    shape: str
    text: str
    hidden: tuple[str, ...]


AWS_SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiJvcHMiLCJpYXQiOjE3MDAwMDAwMDB9"
    ".c2lnbmF0dXJlLW9mLXRoZS10b2tlbi0xMjM0NQ"
)
PEM_BODY = ("MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo", "4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0")
PEM = "\n".join(("-----BEGIN RSA PRIVATE KEY-----", *PEM_BODY, "-----END RSA PRIVATE KEY-----"))

SECRETS: tuple[Secret, ...] = (
    Secret("JWT", JWT, ("eyJzdWIiOiJvcHMi", "c2lnbmF0dXJl")),
    Secret("AWS access key id", "AKIAIOSFODNN7EXAMPLE", ("AKIAIOSFODNN7EXAMPLE",)),
    Secret("AWS session key id", "ASIAY34FZKBOKMUTVV7A", ("ASIAY34FZKBOKMUTVV7A",)),
    Secret("AWS key pair", f"AKIAIOSFODNN7EXAMPLE:{AWS_SECRET_KEY}", ("wJalrXUtnFEMI",)),
    Secret(
        "AWS secret key, config", f"aws_secret_access_key = {AWS_SECRET_KEY}", ("wJalrXUtnFEMI",)
    ),
    Secret(
        "AWS secret key, environment", f"AWS_SECRET_ACCESS_KEY: {AWS_SECRET_KEY}", ("wJalrXUtn",)
    ),
    Secret("AWS secret key, JSON", f'{{"SecretAccessKey": "{AWS_SECRET_KEY}"}}', ("wJalrXUtn",)),
    Secret("bearer token", "Authorization: Bearer mF_9.B5f-4.1JqM2x", ("mF_9.B5f-4.1JqM2x",)),
    Secret("basic credentials", "Authorization: Basic YWRtaW46aHVudGVyMg==", ("YWRtaW46aHV",)),
    Secret("URL password", "postgresql://app:Pa55w0rd@db:5432/shop", ("Pa55w0rd",)),
    Secret("password=", "password=hunter2", ("hunter2",)),
    Secret("token=", "token=9f8e7d6c5b4a", ("9f8e7d6c5b4a",)),
    Secret("secret=", "secret=s3cr3t-value", ("s3cr3t",)),
    Secret("environment name", "DB_PASSWORD=correct-horse-42", ("correct-horse",)),
    Secret("YAML name", "client_secret: Zq8-wX3!rT", ("Zq8-wX3",)),
    Secret("JSON member", '{"api_key": "k-93ab77"}', ("k-93ab77",)),
    Secret("PEM private key", PEM, PEM_BODY),
    Secret(
        "PEM private key, escaped in JSON",
        '{"key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEF\\n'
        '-----END PRIVATE KEY-----"}',
        ("MIIEvQIBADANBgkqhkiG9w0BAQEF",),
    ),
    Secret("GitHub token", "ghp_16C7e42F292c6912E7710c838347Ae178B4a", ("16C7e42F292c6912",)),
    Secret("GitHub OAuth token", "gho_16C7e42F292c6912E7710c838347Ae178B4a", ("16C7e42F292c",)),
    Secret(
        "GitHub fine-grained token",
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKL",
        ("11ABCDEFG0123456789",),
    ),
    Secret(
        "Slack bot token",
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        ("1234567890123-AbCdEf",),
    ),
    Secret("Slack user token", "xoxp-123456789012-123456789012-abcdef012345", ("abcdef012345",)),
    Secret("sk- API key", "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z", ("Ab3dEf6hIj9kLm2n",)),
    Secret("sk- API key, versioned", "sk-ant-api03-Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2", ("Zx9Yw8Vu7Ts6",)),
    Secret("Stripe secret key", "sk_live_4eC39HqLyjWDarjtT1zdp7dc", ("4eC39HqLyjWDarjt",)),
)

# Entities and lines that only look like secrets: they must come out as they went in.
LOOK_ALIKE_NAMES = (
    "sec-secret",
    "token-service",
    "api-key-rotator",
    "secretsmanager",
    "keycloak",
    "tokenizer",
)
LOOK_ALIKES: tuple[str, ...] = (
    "sec-secret: container exited with an error",
    "sec-secret: no container exited with an error",
    "sec-secret: 0/1 running",
    "0/1 running; sec-secret: stopped (exited with code 0)",
    "token-service: 2/2 running",
    "api-key-rotator: running, 3 restarts",
    "secretsmanager: GetSecretValue denied for role app",
    "keycloak: healthy",
    "tokenizer: 12 workers busy",
    "token: expired",
    "password: not set",
    "basic authentication failed for user ops",
    "Bearer token missing from the request",
    "denied arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/db-AbCdEf",
    "KEYS tenant:*:oauth:token took 104.2 ms",
    "deployed commit 3f2a9c1e8b7d6f5a4c3b2a1f0e9d8c7b6a5f4e3d",
    "task-definition shop-api:42 placed on disk-01",
    "GET /api/orders 200 12ms user=u42 trace=4bf92f3577b34da6a3ce929d0e0e4736",
    "redis://cache:6379/0 answered PONG in 0.3 ms",
    "12 secrets present; 3 tokens in the bucket",
)


def leaked(shown: str) -> list[str]:
    """The shapes of the secrets any part of which `shown` holds."""
    return [secret.shape for secret in SECRETS if any(part in shown for part in secret.hidden)]


def all_secrets(separator: str = " | ") -> str:
    return separator.join(secret.text for secret in SECRETS)


STAMP = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
SECRETS_PEM_LINES = ("-----BEGIN EC PRIVATE KEY-----", *PEM_BODY, "-----END EC PRIVATE KEY-----")


def log_lines(source: str = "api") -> list[LogLine]:
    """Each secret in a line of its own, a private key across lines as a program prints it,
    and the look-alikes."""
    texts = [f"request failed with {secret.text}" for secret in SECRETS if "\n" not in secret.text]
    texts += ["loaded key:", *SECRETS_PEM_LINES, "key loaded"]
    texts += list(LOOK_ALIKES)
    return [
        LogLine(STAMP + timedelta(milliseconds=index), source, "info", text)
        for index, text in enumerate(texts)
    ]


def facts() -> dict[str, Any]:
    """Facts holding every secret, deep in dicts and lists, and facts named as secrets."""
    texts = [secret.text for secret in SECRETS]
    return {
        "probe": {"last_output": all_secrets(), "history": [*texts, {"deep": texts}]},
        "db_password": "x9",  # a fact named as a secret: masked whatever it holds
        "pin_token": 4242,
        "secret_names": list(LOOK_ALIKE_NAMES),  # named after secrets, holds names: kept
        "has_password": True,  # says only that one is set: kept
        "tokens": 3,
        "look_alikes": list(LOOK_ALIKES),
        "states": {"prod/db-password": "present"},  # keyed by a secret's name, not a field
        "by_container": dict.fromkeys(LOOK_ALIKE_NAMES, "exited"),  # by entities' names
    }


class LeakyProvider(Provider):
    """A target whose every answer (tree, checks, logs) carries every secret of the corpus,
    beside entities named like secrets."""

    kind = "leaky"

    @property
    def address(self) -> str:
        return "leaky.internal:7"

    def root_checks(self) -> tuple[CheckCall, ...]:
        return (CheckCall("leaky.probe", {"container": "everything"}),)

    async def discover(self) -> Node:
        root = self.root_id
        secrets = tuple(
            Node(
                id=f"{root}/item-{index}",
                kind="leaky.item",
                name=f"item-{index}",
                status=Status(Health.FAILING, f"unhealthy: {secret.text}"),
                detail=secret.text,
                children=(
                    Node(
                        id=f"{root}/item-{index}/probe",
                        kind="leaky.probe",
                        name="probe",
                        status=Status(Health.DEGRADED, f"probe said {secret.text}"),
                    ),
                ),
                checks=(CheckCall("leaky.probe", {"container": f"item-{index}"}),),
            )
            for index, secret in enumerate(SECRETS)
        )
        look_alikes = tuple(
            Node(
                id=f"{root}/{name}",
                kind="leaky.item",
                name=name,
                status=Status(Health.OK, status),
                has_logs=True,
                checks=(CheckCall("leaky.probe", {"container": name}),),
            )
            for name, status in _look_alike_statuses()
        )
        return Node(
            id=root,
            kind="leaky.target",
            name=f"{self.target.name} ({self.address})",
            status=Status(Health.FAILING, f"2 failing; {all_secrets()}"),
            children=(*secrets, *look_alikes),
            checks=self.root_checks(),
            has_logs=True,
        )

    @check("leaky.probe", "Probe", "Says every secret it knows.")
    async def probe(self, params: Mapping[str, Any]) -> Finding:
        name = str(params.get("container", ""))
        if name in LOOK_ALIKE_NAMES:
            return Finding(
                CheckStatus.PASS,
                f"{name}: no container exited with an error",
                {"container": name, "reasons": [f"{name}: 0/1 running"]},
                (f"{name}: container exited with an error",),
            )
        return Finding(
            CheckStatus.FAIL,
            f"probe failed: {all_secrets()}",
            facts(),
            tuple(secret.text for secret in SECRETS),
        )

    async def logs(self, node_id: str, *, since: datetime | None = None) -> AsyncIterator[LogLine]:
        for line in log_lines():
            yield line


def _look_alike_statuses() -> Iterable[tuple[str, str]]:
    for name in LOOK_ALIKE_NAMES:
        yield name, f"0/1 running; {name}: stopped (exited with code 0)"


def json_text(value: object) -> str:
    """`value` as the JSON output holds it (escapes included), to search for leaks in."""
    return json.dumps(value, default=str)
