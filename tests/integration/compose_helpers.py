"""Helpers for the compose provider tests (no tests here): the provider on the private engine."""

from __future__ import annotations

from typing import Any

from providers.compose_provider import ComposeProvider
from providers.inventory import Target
from tests.servers.docker_engine import DockerEngine
from tests.waiting import until

__all__ = ["HEALTH_INTERVAL_NS", "labels", "provider_on", "run_service", "state", "until"]

HEALTH_INTERVAL_NS = 100_000_000  # 100 ms between probes keeps the tests quick


def provider_on(
    engine: DockerEngine | str, *, timeout: float = 10.0, **options: Any
) -> ComposeProvider:
    url = engine if isinstance(engine, str) else engine.base_url
    target = Target(kind="compose", name="local", url=url, timeout=timeout, options=options)
    return ComposeProvider(target)


def labels(project: str, service: str, number: int | None = 1) -> dict[str, str]:
    found = {
        "com.docker.compose.project": project,
        "com.docker.compose.service": service,
    }
    if number is not None:
        found["com.docker.compose.container-number"] = str(number)
    return found


def run_service(
    engine: DockerEngine,
    project: str,
    service: str,
    command: str,
    *,
    number: int = 1,
    sep: str = "-",
    number_label: bool = True,
    **kwargs: Any,
) -> Any:
    """A container named and labelled as `docker compose up` would make it."""
    return engine.run(
        ["sh", "-c", command],
        name=f"{project}{sep}{service}{sep}{number}",
        labels=labels(project, service, number if number_label else None),
        **kwargs,
    )


def state(container: Any) -> dict[str, Any]:
    container.reload()
    found: dict[str, Any] = container.attrs["State"]
    found["RestartCount"] = container.attrs["RestartCount"]
    return found
