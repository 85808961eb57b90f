"""A compose container as `docker inspect` shows it, and the health and one-line reason triage
gives it, written from what the Docker engine documents:

- a container's state is created, running, restarting, paused, exited or dead; `RestartCount`
  counts the engine's restarts under its restart policy (no, always, unless-stopped, on-failure);
- a health check's status is starting, healthy or unhealthy, with the last probes' output;
- `State.OOMKilled` says the kernel killed it for memory (exit code 137);
- `HostConfig.PortBindings` is what was asked, `NetworkSettings.Ports` what is published (an
  unpublished port has no bindings, an ephemeral one asked as "" gets a port when it starts);
- compose labels its containers with the project, the service, its number and its folder.
"""

from __future__ import annotations

import copy
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from providers.compose_model import (
    DEFAULT_RESTART_THRESHOLD,
    ContainerView,
    PortBinding,
    Probe,
    container_number,
    container_status,
    group_status,
    parse_time,
    required_env_for,
    restart_threshold,
    split_names,
    worst,
)
from providers.contract import Health, Status
from tests.unit.test_compose_states import inspected

API_INSPECT: dict[str, Any] = {
    "Id": "9b2d6f1e8c4a" + "7" * 52,
    "Created": "2026-12-07T09:10:00.000000000Z",
    "Name": "/shop-api-2",
    "RestartCount": 1,
    "Config": {
        "Hostname": "9b2d6f1e8c4a",
        "Image": "shop/api:2.8.1",
        "Tty": True,
        "Env": [
            "DATABASE_URL=postgresql://app:s3cret@orders-db:5432/shop",
            "REDIS_HOST=cache",
            "REDIS_PORT=6379",
            "FEATURE_FLAGS=",
            "PATH=/usr/local/bin:/usr/bin",
            "JAVA_TOOL_OPTIONS=-Dfile.encoding=UTF-8",
        ],
        "Labels": {
            "com.docker.compose.project": "shop",
            "com.docker.compose.service": "api",
            "com.docker.compose.container-number": "2",
            "com.docker.compose.project.working_dir": "/srv/shop",
            "com.docker.compose.oneoff": "False",
        },
    },
    "HostConfig": {
        "RestartPolicy": {"Name": "unless-stopped", "MaximumRetryCount": 0},
        "Memory": 268435456,
        "NanoCpus": 1500000000,
        "PortBindings": {
            "8000/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}],
            "9000/tcp": [{"HostIp": "", "HostPort": ""}],
            "9090/tcp": [{"HostIp": "", "HostPort": "9090"}],
        },
    },
    "State": {
        "Status": "running",
        "Running": True,
        "Paused": False,
        "Restarting": False,
        "OOMKilled": False,
        "Dead": False,
        "Pid": 4242,
        "ExitCode": 0,
        "Error": "",
        "StartedAt": "2026-12-07T09:14:03.221394811Z",
        "FinishedAt": "2026-12-07T09:13:59.000000001Z",
        "Health": {
            "Status": "unhealthy",
            "FailingStreak": 4,
            "Log": [
                {
                    "Start": "2026-12-07T09:15:00.1Z",
                    "End": "2026-12-07T09:15:00.3Z",
                    "ExitCode": 0,
                    "Output": "ok\n",
                },
                {
                    "Start": "2026-12-07T09:15:30.1Z",
                    "End": "2026-12-07T09:15:33.1Z",
                    "ExitCode": 1,
                    "Output": "curl: (7) Failed to connect to localhost port 8000\n",
                },
            ],
        },
    },
    "NetworkSettings": {
        "Ports": {
            "8000/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}],
            "9000/tcp": [
                {"HostIp": "0.0.0.0", "HostPort": "49153"},
                {"HostIp": "::", "HostPort": "49153"},
            ],
            "9100/tcp": None,
        }
    },
}


def api(**changes: Any) -> dict[str, Any]:
    """The api container's inspect document, with `State` fields changed."""
    attrs = copy.deepcopy(API_INSPECT)
    attrs["State"].update(changes)
    return attrs


def status_of(
    attrs: dict[str, Any], threshold: int = DEFAULT_RESTART_THRESHOLD
) -> tuple[Health, str]:
    status = container_status(ContainerView.from_inspect(attrs), threshold)
    return status.health, status.reason


# -- reading `docker inspect` --------------------------------------------------------------------


def test_inspect_is_read_into_what_the_checks_use() -> None:
    view = ContainerView.from_inspect(API_INSPECT)
    assert (view.id, view.short_id, view.name) == (API_INSPECT["Id"], "9b2d6f1e8c4a", "shop-api-2")
    assert (view.project, view.service, view.number) == ("shop", "api", 2)
    assert (view.image, view.state, view.running, view.working_dir) == (
        "shop/api:2.8.1",
        "running",
        True,
        "/srv/shop",
    )
    assert (view.health, view.failing_streak, view.restart_count) == ("unhealthy", 4, 1)
    assert view.probes == (
        Probe("2026-12-07T09:15:00.3Z", 0, "ok"),
        Probe("2026-12-07T09:15:33.1Z", 1, "curl: (7) Failed to connect to localhost port 8000"),
    )
    assert view.last_probe_output == "curl: (7) Failed to connect to localhost port 8000"
    assert (view.restart_policy, view.exit_code, view.oom_killed, view.error) == (
        "unless-stopped",
        0,
        False,
        "",
    )
    assert (view.started_at, view.finished_at) == (
        "2026-12-07T09:14:03.221394811Z",
        "2026-12-07T09:13:59.000000001Z",
    )
    assert (view.memory_limit, view.nano_cpus, view.tty) == (268435456, 1500000000, True)


def test_ports_asked_and_published() -> None:
    view = ContainerView.from_inspect(API_INSPECT)
    assert view.port_bindings == (  # "" is ephemeral: asked, not yet a port
        PortBinding("127.0.0.1", 8080, "8000/tcp"),
        PortBinding("", 9090, "9090/tcp"),
    )
    assert view.published == (
        PortBinding("127.0.0.1", 8080, "8000/tcp"),
        PortBinding("0.0.0.0", 49153, "9000/tcp"),
        PortBinding("::", 49153, "9000/tcp"),
    )
    assert [binding.describe() for binding in view.published] == [
        "127.0.0.1:8080->8000/tcp",
        "0.0.0.0:49153->9000/tcp",
        ":::49153->9000/tcp",
    ]
    assert PortBinding("", 5432, "5432/tcp").describe() == "0.0.0.0:5432->5432/tcp"
    zero = api()
    zero["NetworkSettings"]["Ports"] = {"8000/tcp": [{"HostIp": None, "HostPort": "0"}]}
    assert ContainerView.from_inspect(zero).published == ()


def test_only_the_names_of_variables_are_kept_and_the_addresses_they_name() -> None:
    view = ContainerView.from_inspect(API_INSPECT)
    assert view.env_names == (
        "DATABASE_URL",
        "REDIS_HOST",
        "REDIS_PORT",
        "FEATURE_FLAGS",
        "PATH",
        "JAVA_TOOL_OPTIONS",  # its value holds "=" too
    )
    assert view.empty_env == ("FEATURE_FLAGS",)
    assert view.depends_on == ("cache:6379", "orders-db:5432")
    assert "s3cret" not in repr(view)


def test_a_probes_output_is_cleaned_and_cut() -> None:
    attrs = api()
    attrs["State"]["Health"]["Log"] = [
        {"End": "2026-12-07T09:15:33.1Z", "ExitCode": 1, "Output": "\x1b[31m" + "x" * 600},
    ]
    (probe,) = ContainerView.from_inspect(attrs).probes
    assert probe.output == "x" * 500


def test_a_bare_inspect_reads_as_the_engines_defaults() -> None:
    view = ContainerView.from_inspect({"Id": "4f1c2a9e7b3d" + "0" * 52})
    assert view.name == "4f1c2a9e7b3d"  # no name: the short id, as `docker ps` shows it
    assert (view.project, view.service, view.number, view.image) == (None, None, None, "")
    assert (view.state, view.health, view.failing_streak, view.probes) == ("unknown", None, 0, ())
    assert (view.restart_count, view.restart_policy, view.exit_code) == (0, "no", 0)
    assert (view.oom_killed, view.error, view.started_at, view.finished_at) == (
        False,
        "",
        "",
        "",
    )
    assert (view.memory_limit, view.nano_cpus, view.tty) == (0, 0, False)
    assert (view.port_bindings, view.published, view.env_names, view.empty_env) == (
        (),
        (),
        (),
        (),
    )
    assert (view.working_dir, view.depends_on, view.last_probe_output) == ("", (), "")
    nulls = {
        "Id": "4f1c2a9e7b3d",
        "Name": "/solo",
        "Config": {"Labels": None, "Env": None},
        "HostConfig": {"RestartPolicy": None, "Memory": None, "PortBindings": None},
        "State": {"Status": "created", "Health": None},
        "NetworkSettings": {"Ports": {}},
    }
    view = ContainerView.from_inspect(nulls)
    assert (view.name, view.project, view.restart_policy, view.memory_limit) == (
        "solo",
        None,
        "no",
        0,
    )


def test_a_probe_with_no_output_reads_empty() -> None:
    attrs = api()
    attrs["State"]["Health"]["Log"] = [{"Start": "2026-12-07T09:15:00.1Z"}]
    assert ContainerView.from_inspect(attrs).probes == (Probe("", 0, ""),)


@pytest.mark.parametrize(
    ("labels", "name", "number"),
    [
        ({"com.docker.compose.container-number": "3"}, "anything", 3),
        ({}, "shop-api-2", 2),  # compose v2 names
        ({}, "shop_api_12", 12),  # compose v1 names
        ({"com.docker.compose.container-number": "x"}, "shop-api-4", 4),
        ({}, "shop-api", None),
        ({}, "shop-api-2-old", None),
        ({}, "shopXapi-2", None),  # the project's name is matched as written, not as a pattern
    ],
)
def test_the_replica_number(labels: dict[str, str], name: str, number: int | None) -> None:
    assert container_number(labels, name, "shop", "api") == number


def test_a_container_without_the_number_label_is_numbered_by_its_name() -> None:
    attrs = api()
    del attrs["Config"]["Labels"]["com.docker.compose.container-number"]
    attrs["Name"] = "/shop_api_3"
    assert ContainerView.from_inspect(attrs).number == 3


def test_without_project_and_service_a_name_gives_no_number() -> None:
    assert container_number({}, "shop-api-2", None, "api") is None
    assert container_number({}, "shop-api-2", "shop", None) is None


def test_engine_times_are_utc_whatever_the_machines_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        parsed = parse_time("2026-12-07T09:14:03Z")
    finally:
        monkeypatch.undo()
        time.tzset()
    assert parsed is not None and parsed.utcoffset() == timedelta(0)


def test_engine_times_with_nanoseconds_and_zones() -> None:
    assert parse_time("2026-12-07T09:14:03.221394811Z") == datetime(
        2026, 12, 7, 9, 14, 3, 221394, tzinfo=UTC
    )
    assert parse_time("2026-12-07T11:14:03.5+02:00") == datetime(
        2026, 12, 7, 9, 14, 3, 500000, tzinfo=UTC
    )
    assert parse_time("2026-12-07T09:14:03") == datetime(2026, 12, 7, 9, 14, 3, tzinfo=UTC)
    assert parse_time("0001-01-01T00:00:00Z") is None  # never started or never finished
    assert parse_time("") is None
    assert parse_time("garbage") is None


# -- a container's status ------------------------------------------------------------------------


def test_an_unhealthy_container_says_what_its_last_probe_printed() -> None:
    assert status_of(api()) == (
        Health.FAILING,
        "unhealthy: curl: (7) Failed to connect to localhost port 8000",
    )
    silent = api()
    silent["State"]["Health"]["Log"] = []
    assert status_of(silent) == (Health.FAILING, "unhealthy")


def test_a_healthy_container_is_ok_and_says_its_restarts() -> None:
    assert status_of(api(Health={"Status": "healthy", "FailingStreak": 0, "Log": []})) == (
        Health.OK,
        "running (healthy), 1 restarts",
    )
    no_check = api(Health=None)
    no_check["RestartCount"] = 0
    assert status_of(no_check) == (Health.OK, "running")


def test_a_health_check_still_starting_is_degraded() -> None:
    starting = api(Health={"Status": "starting", "FailingStreak": 0, "Log": []})
    assert status_of(starting) == (Health.DEGRADED, "running, health check starting, 1 restarts")


def test_a_container_restarted_as_often_as_the_threshold_is_failing() -> None:
    looping = api(Health={"Status": "healthy", "FailingStreak": 0, "Log": []})
    looping["RestartCount"] = 5
    assert status_of(looping) == (Health.FAILING, "running, restarted 5 times")
    assert status_of(looping, threshold=5) == (Health.FAILING, "running, restarted 5 times")
    assert status_of(looping, threshold=6) == (Health.OK, "running (healthy), 5 restarts")


def test_a_container_the_engine_is_restarting_is_failing() -> None:
    attrs = api(Status="restarting", Running=True, Restarting=True, ExitCode=1, Health=None)
    attrs["RestartCount"] = 6
    assert status_of(attrs) == (Health.FAILING, "restarting (last exit code 1, 6 restarts)")
    attrs["RestartCount"] = 0
    assert status_of(attrs) == (Health.FAILING, "restarting (last exit code 1)")


def test_a_container_killed_for_memory_says_its_limit() -> None:
    killed = api(Status="exited", Running=False, OOMKilled=True, ExitCode=137, Health=None)
    assert status_of(killed) == (
        Health.FAILING,
        "killed: out of memory (limit 256.0 MiB), exit code 137",
    )
    killed["HostConfig"]["Memory"] = 0
    assert status_of(killed) == (Health.FAILING, "killed: out of memory, exit code 137")


def test_a_container_that_exited_in_error_is_failing() -> None:
    exited = api(Status="exited", Running=False, ExitCode=1, Health=None)
    assert status_of(exited) == (Health.FAILING, "exited with code 1, 1 restarts")


def test_a_container_that_could_not_start_says_the_engines_error() -> None:
    error = 'failed to create task: exec: "uvicorn": executable file not found in $PATH'
    assert status_of(inspected("created", 127, "no", Error=error)) == (
        Health.FAILING,
        f"could not start: {error}",
    )
    assert status_of(inspected("created", 0, "no")) == (Health.DEGRADED, "created")


def test_a_dead_container_is_failing() -> None:
    error = "driver failed removing container: device or resource busy"
    assert status_of(inspected("dead", 0, "no", Error=error)) == (
        Health.FAILING,
        f"dead: {error}",
    )
    assert status_of(inspected("dead", 0, "no")) == (Health.FAILING, "dead")


def test_a_paused_container_is_degraded() -> None:
    assert status_of(inspected("paused", 0, "always", Paused=True)) == (Health.DEGRADED, "paused")


def test_a_one_shot_service_killed_for_memory_did_not_complete() -> None:
    view = ContainerView.from_inspect(inspected("exited", 0, "on-failure", OOMKilled=True))
    assert not view.completed
    view = ContainerView.from_inspect(inspected("exited", 0, "always"))
    assert not view.completed


# -- groups of containers ------------------------------------------------------------------------


def test_a_group_is_as_bad_as_its_worst_member_named_first() -> None:
    statuses = {
        "api": Status(Health.OK, "running (healthy)"),
        "worker": Status(Health.DEGRADED, "running, health check starting"),
        "search": Status(Health.FAILING, "exited with code 1"),
        "db": Status(Health.UNKNOWN, "not observed yet"),
    }
    assert _said(group_status(statuses, "service")) == (
        Health.FAILING,
        "; search: exited with code 1 (+2 more)",
    )
    assert _said(group_status(statuses, "container", running=2)) == (
        Health.FAILING,
        "2/4 running; search: exited with code 1 (+2 more)",
    )


def test_a_group_with_one_member_in_trouble_names_it_alone() -> None:
    statuses = {
        "api": Status(Health.OK, "running"),
        "worker": Status(Health.DEGRADED, "stopped (exited with code 0)"),
    }
    assert _said(group_status(statuses, "service", show_ok="2 services")) == (
        Health.DEGRADED,
        "2 services; worker: stopped (exited with code 0)",
    )
    statuses["mailer"] = Status(Health.DEGRADED, "paused")
    assert _said(group_status(statuses, "service", show_ok="3 services")) == (
        Health.DEGRADED,
        "3 services; worker: stopped (exited with code 0) (+1 more)",
    )


def test_a_healthy_group_says_its_count_and_an_empty_one_is_unknown() -> None:
    statuses = {"api": Status(Health.OK, "running"), "db": Status(Health.OK, "running")}
    assert _said(group_status(statuses, "container", running=2)) == (Health.OK, "2/2 running")
    assert _said(group_status(statuses, "service", show_ok="all running")) == (
        Health.OK,
        "all running",
    )
    assert _said(group_status({}, "container")) == (Health.UNKNOWN, "no containers")


def test_the_worst_health_wins() -> None:
    assert worst([Health.OK, Health.UNKNOWN]) is Health.UNKNOWN
    assert worst([Health.UNKNOWN, Health.DEGRADED, Health.OK]) is Health.DEGRADED
    assert worst([Health.DEGRADED, Health.FAILING]) is Health.FAILING
    assert worst([]) is Health.OK


def _said(status: Status) -> tuple[Health, str]:
    return status.health, status.reason


# -- options -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "threshold"),
    [
        ({}, DEFAULT_RESTART_THRESHOLD),
        ({"restart_threshold": 5}, 5),
        ({"restart_threshold": "2"}, 2),
        ({"restart_threshold": 0}, 1),  # at least one restart
        ({"restart_threshold": -4}, 1),
        ({"restart_threshold": "often"}, DEFAULT_RESTART_THRESHOLD),
        ({"restart_threshold": None}, DEFAULT_RESTART_THRESHOLD),
    ],
)
def test_the_restart_threshold_option(options: dict[str, Any], threshold: int) -> None:
    assert restart_threshold(options) == threshold


def test_required_variables_by_service_or_by_project_and_service() -> None:
    options = {
        "required_env": {
            "shop/api": ["DATABASE_URL", "REDIS_URL"],
            "api": "SENTRY_DSN",
            "worker": "AMQP_URL, QUEUE_NAME",
        }
    }
    assert required_env_for(options, "shop", "api") == ["DATABASE_URL", "REDIS_URL"]
    assert required_env_for(options, "billing", "api") == ["SENTRY_DSN"]
    assert required_env_for(options, None, "api") == ["SENTRY_DSN"]
    assert required_env_for(options, "shop", "worker") == ["AMQP_URL", "QUEUE_NAME"]
    assert required_env_for(options, "shop", "web") == []
    assert required_env_for({}, "shop", "api") == []
    assert required_env_for({"required_env": ["DATABASE_URL"]}, "shop", "api") == []


def test_names_split_on_commas_and_spaces() -> None:
    assert split_names("A,B C ,, D") == ["A", "B", "C", "D"]
    assert split_names(["A", "", 3]) == ["A", "3"]
    assert split_names(None) == []
