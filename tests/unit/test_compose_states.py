"""A container's status from `docker inspect` as the engine reports it: a one-shot service that
ran to its end is not a fault; a long-running one that stopped is."""

from __future__ import annotations

from typing import Any

import pytest

from providers.compose_model import ContainerView, container_status
from providers.contract import Health


def inspected(status: str, exit_code: int, policy: str, **state: Any) -> dict[str, Any]:
    """The parts of `docker inspect` the model reads, in the engine's own shape."""
    return {
        "Id": "4f1c2a9e7b3d" + "0" * 52,
        "Name": "/shop-migrate-1",
        "RestartCount": 0,
        "Config": {
            "Image": "shop/api:2.8.1",
            "Labels": {
                "com.docker.compose.project": "shop",
                "com.docker.compose.service": "migrate",
                "com.docker.compose.container-number": "1",
            },
            "Env": ["DATABASE_URL=postgresql://app@orders-db:5432/shop"],
        },
        "HostConfig": {"RestartPolicy": {"Name": policy, "MaximumRetryCount": 0}},
        "State": {
            "Status": status,
            "Running": status == "running",
            "ExitCode": exit_code,
            "OOMKilled": False,
            "Error": "",
            "StartedAt": "2026-12-07T09:14:03.221Z",
            "FinishedAt": "2026-12-07T09:14:05.004Z",
            **state,
        },
    }


@pytest.mark.parametrize("policy", ["no", "on-failure", ""])
def test_a_one_shot_service_that_exited_0_completed(policy: str) -> None:
    view = ContainerView.from_inspect(inspected("exited", 0, policy))
    assert view.completed
    assert container_status(view).health is Health.OK
    assert container_status(view).reason == "completed (exited with code 0)"


@pytest.mark.parametrize("policy", ["always", "unless-stopped"])
def test_a_service_meant_to_run_that_exited_0_is_stopped(policy: str) -> None:
    view = ContainerView.from_inspect(inspected("exited", 0, policy))
    assert not view.completed
    assert container_status(view).health is Health.DEGRADED
    assert container_status(view).reason == "stopped (exited with code 0)"


@pytest.mark.parametrize(("code", "oom"), [(1, False), (137, False), (0, True)])
def test_a_one_shot_service_that_failed_is_failing(code: int, oom: bool) -> None:
    view = ContainerView.from_inspect(inspected("exited", code, "no", OOMKilled=oom))
    assert not view.completed
    assert container_status(view).health is Health.FAILING


def test_created_never_started_is_not_completed() -> None:
    view = ContainerView.from_inspect(inspected("created", 0, "no"))
    assert not view.completed
    assert container_status(view).health is not Health.OK
