"""Docker contexts, read as the docker CLI reads them: which one is in use, which there are, and
the engine each one names.

The CLI's order: `DOCKER_HOST` (the "default" context), else `DOCKER_CONTEXT`, else
`currentContext` of config.json, else "default". config.json is in `$DOCKER_CONFIG`, else
~/.docker. A context NAME is described in contexts/meta/<sha256 of NAME>/meta.json, its engine
in `Endpoints.docker.Host`, its TLS files (ca.pem, cert.pem, key.pem) in
contexts/tls/<sha256 of NAME>/docker/. "default" is `DOCKER_HOST`, else the local socket.

Everything here reads files: call it in a thread.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from providers import inventory

DEFAULT_CONTEXT = "default"


class DockerContextError(ValueError):
    """A Docker context that cannot be used; the message is one line saying what to run."""

    def __init__(self, context: str, message: str) -> None:
        super().__init__(message)
        self.context = context


@dataclass(frozen=True, slots=True)
class DockerEndpoint:
    """Where a Docker context's engine is, and how to reach it."""

    context: str  # "" for a target that names its engine with a url
    host: str  # unix:///..., tcp://HOST:PORT, ssh://[USER@]HOST[:PORT]
    from_environment: bool = False  # DOCKER_HOST, with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH
    tls_folder: Path | None = None  # the context's ca.pem, cert.pem and key.pem
    tls_verify: bool = True  # False: the context says SkipTLSVerify


def config_folder() -> Path:
    return Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker")


def shown(path: Path) -> str:
    """A path as an operator writes it: ~/.docker/contexts."""
    home = Path.home()
    return f"~/{path.relative_to(home)}" if path.is_relative_to(home) else str(path)


def context_folder(name: str, part: str = "meta") -> Path:
    digest = hashlib.sha256(name.encode()).hexdigest()
    return config_folder() / "contexts" / part / digest


def configured_context() -> str:
    """`currentContext` of config.json ("" when unset or the file cannot be read: the CLI
    says so when it runs; here "default" stands)."""
    try:
        config = json.loads((config_folder() / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    value = config.get("currentContext") if isinstance(config, dict) else None
    return value if isinstance(value, str) else ""


def current_context() -> str:
    """The context the docker CLI would use here, by its order (module docstring)."""
    if os.environ.get("DOCKER_HOST"):
        return DEFAULT_CONTEXT
    return os.environ.get("DOCKER_CONTEXT") or configured_context() or DEFAULT_CONTEXT


def docker_endpoint(context: str = "") -> DockerEndpoint:
    """The engine of `context` ("" for the current one)."""
    name = context or current_context()
    if name == DEFAULT_CONTEXT:
        host = os.environ.get("DOCKER_HOST")
        if host:
            return DockerEndpoint(DEFAULT_CONTEXT, host, from_environment=True)
        return DockerEndpoint(DEFAULT_CONTEXT, f"unix://{inventory.DOCKER_SOCKET}")
    meta = context_folder(name) / "meta.json"
    contexts = shown(config_folder() / "contexts")
    try:
        text = meta.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DockerContextError(
            name, f"docker context {name} not found in {contexts}: `docker context ls`"
        ) from None
    except OSError as error:
        raise DockerContextError(name, f"cannot read {shown(meta)}: {error.strerror}") from None
    try:
        docker = json.loads(text)["Endpoints"]["docker"]
        host = docker["Host"]
        if not isinstance(host, str) or not host:
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise DockerContextError(
            name,
            f"docker context {name} in {contexts} names no engine (Endpoints.docker.Host): "
            f"`docker context inspect {name}`",
        ) from None
    tls = context_folder(name, "tls") / "docker"
    return DockerEndpoint(
        name,
        host,
        tls_folder=tls if tls.is_dir() else None,
        tls_verify=not docker.get("SkipTLSVerify", False),
    )


def docker_contexts() -> tuple[dict[str, str], list[str]]:
    """Every context there is ("default" first) with its description, and the meta.json
    files that could not be read, with why."""
    found: dict[str, str] = {}
    problems: list[str] = []
    folder = config_folder() / "contexts" / "meta"
    try:
        metas = sorted(folder.glob("*/meta.json"))
    except OSError as error:
        return {DEFAULT_CONTEXT: ""}, [f"cannot read {shown(folder)}: {error.strerror}"]
    for meta in metas:
        try:
            data = json.loads(meta.read_text(encoding="utf-8"))
            name = data["Name"]
            description = (data.get("Metadata") or {}).get("Description") or ""
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            problems.append(f"{shown(meta)}: not a Docker context's meta.json")
            continue
        if isinstance(name, str) and name:
            found[name] = str(description)
    return {DEFAULT_CONTEXT: "", **dict(sorted(found.items()))}, problems
