"""A container's status from `docker inspect` as the engine reports it: a one-shot service that
ran to its end is not a fault; a long-running one that stopped is."""

from __future__ import annotations

from typing import Any

import pytest

from providers.compose_logs import FollowedContainers, how_it_ended
from providers.compose_model import ContainerView, container_status
from providers.contract import FOLLOWING, Health


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


@pytest.mark.parametrize(
    ("exit_code", "state", "said"),
    [
        (0, {}, "container exited (0)"),
        (3, {}, "container exited (3)"),
        (137, {}, "container killed by SIGKILL (137)"),  # docker kill, docker stop past its time
        (143, {}, "container killed by SIGTERM (143)"),
        (137, {"OOMKilled": True}, "container killed: out of memory (137)"),
        (255, {}, "container exited (255)"),  # no signal has that number: the process chose it
        (
            127,
            {"Error": 'exec: \x1b[31m"srv": not found'},
            'container exited (127): exec: "srv": not found',
        ),
    ],
)
def test_how_a_stopped_container_ended_is_said_as_the_engine_tells_it(
    exit_code: int, state: dict[str, Any], said: str
) -> None:
    view = ContainerView.from_inspect(inspected("exited", exit_code, "no", **state))
    assert how_it_ended(view) == said


def test_a_pane_of_several_containers_stops_only_when_every_one_stopped() -> None:
    followed = FollowedContainers(2)
    assert followed.stopped("shop-api-1", "container exited (3)") is None
    assert followed.running("shop-api-1") is None  # it was not the pane's state
    assert followed.stopped("shop-api-1", "container exited (3)") is None
    assert followed.stopped("shop-api-2", "container killed by SIGKILL (137)") == (
        "stopped: all 2 containers"
    )
    assert followed.running("shop-api-2") == FOLLOWING
    alone = FollowedContainers(1)
    assert alone.stopped("db", "container removed") == "stopped: container removed"
