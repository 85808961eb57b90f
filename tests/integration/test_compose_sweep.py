"""Within a sweep the compose provider lists and inspects each selection of containers once."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

from providers.compose_model import ContainerView
from providers.compose_provider import ComposeProvider
from providers.contract import CheckCall, CheckStatus, Health
from providers.sweep import one_sweep
from tests.integration.compose_helpers import provider_on, run_service
from tests.servers.docker_engine import DockerEngine

pytestmark = pytest.mark.integration


@pytest.mark.usefixtures("docker_client")  # removes what the test ran
async def test_discovery_and_checks_of_a_sweep_list_the_containers_once(
    docker_engine: DockerEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_service(docker_engine, "shop", "api", "sleep 300")
    listed: list[dict[str, Any]] = []
    inspect_all = ComposeProvider._inspect_all

    def counted(self: ComposeProvider, params: Mapping[str, Any]) -> list[ContainerView]:
        listed.append({key: value for key, value in params.items() if value})
        return inspect_all(self, params)

    monkeypatch.setattr(ComposeProvider, "_inspect_all", counted)
    provider = provider_on(docker_engine)
    service = {"project": "shop", "service": "api"}
    try:
        with one_sweep():
            root, conflicts = await asyncio.gather(
                provider.discover(), provider.run_check(CheckCall("compose.port_conflicts"))
            )
            running, health = await asyncio.gather(
                provider.run_check(CheckCall("compose.running", service)),
                provider.run_check(CheckCall("compose.restart_loop", service)),
            )
        swept = list(listed)
        again = await provider.run_check(CheckCall("compose.running", service))
    finally:
        await provider.close()

    assert root.status.health is Health.OK, root.status.reason
    assert all(r.status is CheckStatus.PASS for r in (conflicts, running, health, again))
    assert swept == [{}, service]  # every container once; the service's once for its checks
    assert listed[2:] == [service]  # outside a sweep the check lists them again
