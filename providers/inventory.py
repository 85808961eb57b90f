"""The inventory: which environments exist and which targets each one has.

It comes from a YAML file (`--config`, `$TRIAGE_CONFIG`, `./triage.yaml`,
`$XDG_CONFIG_HOME/triage/config.yaml`) or, with no file, from what this machine can reach.
Secrets are never written in it: a target names an environment variable or a file instead.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from providers.registry import PROVIDER_KINDS
from providers.yamlsource import SourceError, load_yaml_model

LOCAL_ENVIRONMENT = "local"


class SecretError(Exception):
    """A secret reference that cannot be resolved (unset variable, unreadable file)."""


class SecretRef(BaseModel):
    """Where a secret lives: an environment variable or a file, never the inventory itself."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    env: str | None = Field(default=None, description="Name of the environment variable.")
    file: Path | None = Field(default=None, description="Path of a file holding the secret.")

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("a secret is {env: VARIABLE} or {file: PATH}, exactly one of them")
        return self

    def describe(self) -> str:
        return f"${self.env}" if self.env else f"file {self.file}"

    def resolve(self) -> str:
        if self.env is not None:
            value = os.environ.get(self.env)
            if value is None:
                raise SecretError(f"environment variable {self.env} is not set")
            return value
        assert self.file is not None
        try:
            return self.file.expanduser().read_text(encoding="utf-8").strip()
        except OSError as error:
            raise SecretError(f"cannot read secret file {self.file}: {error.strerror}") from None


class Target(BaseModel):
    """One thing to watch: a Redis instance, a database, a cluster, an endpoint."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str = Field(description="Provider kind: redis, postgres, rabbitmq, ...")
    name: str = Field(description="Short name shown in the tree and used in reports.")
    url: str | SecretRef | None = Field(
        default=None, description="Where it is; a URL holding a password must be a secret ref."
    )
    username: str | None = Field(default=None, description="User name, when not in the URL.")
    password: SecretRef | None = Field(default=None, description="Reference to the password.")
    timeout: float | None = Field(
        default=None, gt=0, le=300, description="Seconds each call to this target may take."
    )
    options: Mapping[str, Any] = Field(default_factory=dict, description="Kind-specific options.")

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        if kind not in PROVIDER_KINDS:
            known = ", ".join(sorted(PROVIDER_KINDS))
            raise ValueError(f"unknown kind {kind!r}; expected one of: {known}")
        return kind

    @field_validator("url")
    @classmethod
    def _no_password_in_url(cls, url: str | SecretRef | None) -> str | SecretRef | None:
        if isinstance(url, str) and urlsplit(url).password:
            raise ValueError(
                "the URL holds a password; write it as `password: {env: VARIABLE}` "
                "or give the whole URL as `url: {env: VARIABLE}`"
            )
        return url

    def resolve_url(self, default: str) -> str:
        if isinstance(self.url, SecretRef):
            return self.url.resolve()
        return self.url or default

    def resolve_password(self) -> str | None:
        return self.password.resolve() if self.password else None


class Settings(BaseModel):
    """How triage behaves, for every environment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    refresh_interval: float = Field(
        default=10.0, gt=0, description="Seconds between status refreshes in the tree."
    )
    idle_backoff: float = Field(
        default=8.0,
        ge=1,
        description="While nothing changes and no key is pressed, refreshes back off up to this "
        "many times refresh_interval (1: never back off). A change or a key resets it.",
    )
    check_timeout: float = Field(
        default=5.0, gt=0, le=300, description="Seconds a check may take unless its target says."
    )
    log_buffer_lines: int = Field(
        default=10_000, ge=100, description="Log lines kept per pane before the oldest go."
    )
    keys: dict[str, str] = Field(
        default_factory=dict,
        description="Key bindings by command id, e.g. {main.rerun_checks: ctrl+r}.",
    )
    audit_log: Path | None = Field(
        default=None,
        description="Where actions are recorded; default $XDG_STATE_HOME/triage/audit.jsonl.",
    )
    runbook_paths: list[Path] = Field(
        default_factory=list,
        description="Folders of the team's own runbooks, read after the built-in library and "
        "$XDG_CONFIG_HOME/triage/runbooks (relative to this file); a runbook with the id of an "
        "earlier one replaces it.",
    )


class Environment(BaseModel):
    """A named set of targets (prod, staging, local)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = ""
    read_only: bool = Field(default=False, description="Block every action and command step.")
    targets: list[Target] = Field(default_factory=list)
    params: dict[str, str | int | float | bool] = Field(
        default_factory=dict,
        description="Values runbooks use in this environment (namespace, cluster, queue ...).",
    )
    runbook_paths: list[Path] = Field(
        default_factory=list,
        description="Folders of runbooks for this environment only, read after the settings' "
        "runbook_paths.",
    )

    @model_validator(mode="after")
    def _unique_names(self) -> Environment:
        seen: set[str] = set()
        for target in self.targets:
            if target.name in seen:
                raise ValueError(f"two targets are named {target.name!r}; names must be unique")
            seen.add(target.name)
        return self


class Inventory(BaseModel):
    """The whole inventory file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default_environment: str | None = None
    settings: Settings = Field(default_factory=Settings)
    environments: dict[str, Environment] = Field(min_length=1)

    # Where it came from, for the header and for error messages; not part of the file.
    source: str = Field(default="", exclude=True)

    @model_validator(mode="after")
    def _default_exists(self) -> Inventory:
        if self.default_environment and self.default_environment not in self.environments:
            raise ValueError(
                f"default_environment {self.default_environment!r} is not one of the "
                f"environments: {', '.join(self.environments)}"
            )
        return self

    def environment_name(self, requested: str | None = None) -> str:
        name = requested or self.default_environment or next(iter(self.environments))
        if name not in self.environments:
            raise ConfigError(
                f"no environment named {name!r} in {self.source or 'the inventory'}; "
                f"known: {', '.join(self.environments)}"
            )
        return name

    def runbook_paths(self, environment: str | None = None) -> list[Path]:
        """The settings' runbook folders, then the environment's, relative to this file."""
        folder = Path(self.source).parent if self.source and Path(self.source).exists() else None
        chosen = self.environments.get(self.environment_name(environment))
        paths = [*self.settings.runbook_paths, *(chosen.runbook_paths if chosen else [])]
        paths = [path.expanduser() for path in paths]
        return [folder / path if folder and not path.is_absolute() else path for path in paths]


class ConfigError(Exception):
    """The inventory cannot be used; the message says where and why."""


def config_candidates(explicit: str | None) -> list[Path]:
    """Where the inventory may be, in order of precedence."""
    if explicit:
        return [Path(explicit)]
    if os.environ.get("TRIAGE_CONFIG"):
        return [Path(os.environ["TRIAGE_CONFIG"])]
    xdg = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return [Path("triage.yaml"), xdg / "triage" / "config.yaml"]


def load_inventory(explicit: str | None = None) -> Inventory:
    """The inventory from its file, or what this machine can reach when there is none."""
    candidates = config_candidates(explicit)
    named = explicit is not None or bool(os.environ.get("TRIAGE_CONFIG"))
    for path in candidates:
        if path.exists() or named:
            try:
                inventory = load_yaml_model(path, Inventory)
            except SourceError as error:
                raise ConfigError(str(error)) from None
            return inventory.model_copy(update={"source": str(path)})
    return discover_local()


def discover_local(ports: Mapping[str, int] | None = None) -> Inventory:
    """An inventory of what this machine reaches.

    A URL in the environment (`REDIS_URL`, `DATABASE_URL`, `AMQP_URL`) is taken as given, by
    reference, since it may hold a password; otherwise a server listening on its usual local
    port is used. The port probes run concurrently and cost at most a fraction of a second.
    """
    ports = {**DEFAULT_LOCAL_PORTS, **(ports or {})}
    explicit = {
        kind: variable for kind, variable in URL_VARIABLES.items() if os.environ.get(variable)
    }
    probed = [kind for kind in URL_VARIABLES if kind not in explicit]
    listening = asyncio.run(_ports_open([ports[kind] for kind in probed]))
    targets: list[Target] = []
    for kind in URL_VARIABLES:
        if kind in explicit:
            targets.append(Target(kind=kind, name=kind, url=SecretRef(env=explicit[kind])))
        elif listening[probed.index(kind)]:
            url = LOCAL_URLS[kind].format(host=LOCAL_HOST, port=ports[kind])
            targets.append(Target(kind=kind, name=kind, url=url))
    targets.extend(_platform_targets())
    return Inventory(
        environments={LOCAL_ENVIRONMENT: Environment(description="discovered", targets=targets)},
        source="discovered on this machine",
    )


def _platform_targets() -> list[Target]:
    """A Docker engine, a kubeconfig, AWS credentials: when this machine has them.

    The Docker target names no URL: it is the engine of the current Docker context, as the
    docker CLI finds it (DOCKER_HOST, DOCKER_CONTEXT, config.json), which the context picker
    can switch. Only the local socket is looked for; an engine named by the operator is taken
    as given, and the tree says when it cannot be reached."""
    from providers.docker_contexts import DEFAULT_CONTEXT, current_context

    found: list[Target] = []
    named = os.environ.get("DOCKER_HOST") or current_context() != DEFAULT_CONTEXT
    if named or DOCKER_SOCKET.exists():
        found.append(Target(kind="compose", name="docker"))
    home = Path.home()
    kubeconfig = os.environ.get("KUBECONFIG")
    if "kubernetes" in PROVIDER_KINDS and (kubeconfig or (home / ".kube" / "config").exists()):
        found.append(Target(kind="kubernetes", name="kubernetes"))
    aws_variables = ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_ENDPOINT_URL")
    aws_files = (home / ".aws" / "credentials", home / ".aws" / "config")
    if any(os.environ.get(name) for name in aws_variables) or any(p.exists() for p in aws_files):
        found.append(Target(kind="ecs", name="aws"))
    return found


# Where discovery looks, read at each discovery (tests point them away from this machine).
DOCKER_SOCKET = Path("/var/run/docker.sock")  # the engine of the "default" Docker context
LOCAL_HOST = "127.0.0.1"  # the host whose usual ports are probed
URL_VARIABLES = {"redis": "REDIS_URL", "postgres": "DATABASE_URL", "rabbitmq": "AMQP_URL"}
DEFAULT_LOCAL_PORTS = {"redis": 6379, "postgres": 5432, "rabbitmq": 5672}
LOCAL_URLS = {
    "redis": "redis://{host}:{port}/0",
    "postgres": "postgresql://{host}:{port}/postgres",
    "rabbitmq": "amqp://guest@{host}:{port}/%2F",
}


async def _ports_open(ports: list[int]) -> list[bool]:
    return list(await asyncio.gather(*(_port_open(LOCAL_HOST, port) for port in ports)))


async def _port_open(host: str, port: int, timeout: float = 0.3) -> bool:
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(host, port)
    except (OSError, TimeoutError):
        return False
    writer.close()
    return True
