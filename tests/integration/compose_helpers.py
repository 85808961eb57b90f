"""Helpers for the compose provider tests (no tests here): the provider on the private engine."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from providers.compose_provider import ComposeProvider
from providers.inventory import Target
from tests.servers.docker_engine import DockerEngine

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


async def until(
    predicate: Callable[[], bool],
    timeout: float = 20.0,
    what: str = "",
    seen: Callable[[], object] | None = None,
) -> None:
    """Wait for `predicate`; the failure says what `seen` returns then (what came instead)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            instead = f"; instead: {seen()!r}" if seen is not None else ""
            raise AssertionError(f"not reached within {timeout}s: {what}{instead}")
        await asyncio.sleep(0.1)
