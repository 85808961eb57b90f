"""The containers family's compose runbooks on the private Docker engine, with real faults.

For each runbook: a fault scenario where the engine ranks the injected cause first, confirmed
with its evidence, and a healthy scenario where no cause is confirmed.
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest

from providers.environment import LiveEnvironment
from providers.inventory import Environment, Inventory, Target
from runbooks.engine import Diagnosis, Verdict, diagnose
from runbooks.loader import LIBRARY, load_runbook
from tests.integration.compose_helpers import HEALTH_INTERVAL_NS, run_service, state, until
from tests.servers.docker_engine import DockerEngine

pytestmark = pytest.mark.integration

PROJECT = "shop"
SERVING = "echo api up; while true; do echo tick; sleep 1; done"


def engine_target(engine: DockerEngine) -> Target:
    return Target(kind="compose", name="local", url=engine.base_url, timeout=15)


async def run_runbook(
    runbook_id: str, targets: list[Target], params: dict[str, Any] | None = None
) -> Diagnosis:
    runbook = load_runbook(LIBRARY / f"{runbook_id}.yaml")
    inventory = Inventory(environments={"test": Environment(targets=targets)}, source="test")
    live = LiveEnvironment(inventory)
    try:
        return await diagnose(runbook, live, params or {})
    finally:
        await live.close()


def assert_first_confirmed(diagnosis: Diagnosis, cause_id: str) -> None:
    first = diagnosis.causes[0]
    summaries = {key: (r.status.value, r.summary) for key, r in diagnosis.results.items()}
    ranked = [(item.cause.id, item.verdict.value) for item in diagnosis.causes]
    assert (first.cause.id, first.verdict) == (cause_id, Verdict.CONFIRMED), (ranked, summaries)
    assert first.evidence and all(item.holds for item in first.evidence)
    assert all(  # each says what it saw: a check's outcome, or a fact's value
        item.explanation.startswith("the ") or " is " in item.explanation for item in first.evidence
    )


def assert_none_confirmed(diagnosis: Diagnosis) -> None:
    ranked = [(item.cause.id, item.verdict.value) for item in diagnosis.causes]
    summaries = {key: (r.status.value, r.summary) for key, r in diagnosis.results.items()}
    assert diagnosis.confirmed == [], (ranked, summaries)


# -- faults ------------------------------------------------------------------------------------


async def port_taken(engine: DockerEngine, holder: list[socket.socket]) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    holder.append(taken)
    with pytest.raises(docker.errors.APIError, match="address already in use"):
        run_service(
            engine, PROJECT, "api", "httpd -f -p 8080",
            ports={"8080/tcp": ("127.0.0.1", taken.getsockname()[1])},
        )  # fmt: skip


async def crash_loop(engine: DockerEngine, holder: list[socket.socket]) -> None:
    container = run_service(
        engine, PROJECT, "api", "echo 'ERROR cannot reach db'; exit 3",
        restart_policy={"Name": "always"},
    )  # fmt: skip
    await until(lambda: state(container)["RestartCount"] >= 3, what="three restarts")


async def near_memory_limit(engine: DockerEngine, holder: list[socket.socket]) -> None:
    container = run_service(
        engine, PROJECT, "api",
        "head -c 14680064 /dev/zero > /dev/shm/fill; echo filled; sleep 300", mem_limit="16m",
    )  # fmt: skip
    await until(lambda: b"filled" in container.logs(), what="14 MiB written")


async def cpu_hog(engine: DockerEngine, holder: list[socket.socket]) -> None:
    container = run_service(
        engine, PROJECT, "api", "echo spinning; while :; do :; done", nano_cpus=200_000_000
    )
    await until(lambda: b"spinning" in container.logs(), what="the busy loop")


async def traceback_exit(engine: DockerEngine, holder: list[socket.socket]) -> None:
    command = (
        "echo starting; echo 'Traceback (most recent call last):' >&2; "
        "echo 'ERROR KeyError: DATABASE_URL' >&2; exit 1"
    )
    container = run_service(engine, PROJECT, "api", command)
    await until(lambda: state(container)["Status"] == "exited", what="the crash")


async def reclaimable_data(engine: DockerEngine, holder: list[socket.socket]) -> None:
    container = run_service(engine, PROJECT, "job", "head -c 2097152 /dev/zero > /blob")
    await until(lambda: state(container)["Status"] == "exited", what="the job")


async def stack_stopped(engine: DockerEngine, holder: list[socket.socket]) -> None:
    container = run_service(engine, PROJECT, "api", SERVING)
    container.stop(timeout=1)


async def healthy(engine: DockerEngine, holder: list[socket.socket]) -> None:
    check = {"test": ["CMD-SHELL", "true"], "interval": HEALTH_INTERVAL_NS, "retries": 1}
    container = run_service(engine, PROJECT, "api", SERVING, healthcheck=check)
    await until(lambda: state(container).get("Health", {}).get("Status") == "healthy")


@dataclass
class Scenario:
    runbook: str
    fault: Callable[[DockerEngine, list[socket.socket]], Awaitable[None]]
    cause: str
    params: dict[str, Any] = field(default_factory=dict)


SCOPE = {"project": PROJECT}
SCENARIOS = [
    Scenario("compose-services-wont-start", port_taken, "port-in-use", SCOPE),
    Scenario("compose-container-restarting", crash_loop, "application-crash-loop", SCOPE),
    Scenario("compose-high-memory", near_memory_limit, "near-memory-limit", SCOPE),
    Scenario("compose-high-cpu", cpu_hog, "container-cpu-saturated", SCOPE),
    Scenario("compose-log-errors", traceback_exit, "exception-in-logs", SCOPE),
    Scenario(
        "host-out-of-disk-space",
        reclaimable_data,
        "docker-reclaimable",
        {"reclaimable_warn_bytes": 1024 * 1024},
    ),
    Scenario(
        "host-maintenance", reclaimable_data, "prune-due", {"reclaimable_warn_bytes": 1024 * 1024}
    ),
    Scenario("host-full-system-recovery", stack_stopped, "stack-down", SCOPE),
]
IDS = [scenario.runbook for scenario in SCENARIOS]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=IDS)
async def test_the_injected_fault_is_the_first_confirmed_cause(
    scenario: Scenario, docker_engine: DockerEngine, docker_client: docker.DockerClient
) -> None:
    holder: list[socket.socket] = []
    try:
        await scenario.fault(docker_engine, holder)
        diagnosis = await run_runbook(
            scenario.runbook, [engine_target(docker_engine)], scenario.params
        )
    finally:
        for sock in holder:
            sock.close()
    assert_first_confirmed(diagnosis, scenario.cause)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=IDS)
async def test_a_healthy_stack_confirms_no_cause(
    scenario: Scenario, docker_engine: DockerEngine, docker_client: docker.DockerClient
) -> None:
    await healthy(docker_engine, [])
    params = {k: v for k, v in scenario.params.items() if k != "reclaimable_warn_bytes"}
    diagnosis = await run_runbook(scenario.runbook, [engine_target(docker_engine)], params)
    assert_none_confirmed(diagnosis)


async def test_crash_loop_evidence_names_the_exit_code_and_the_log_lines(
    docker_engine: DockerEngine, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    await traceback_exit(docker_engine, [])
    diagnosis = await run_runbook("compose-services-wont-start", [engine_target(docker_engine)])
    first = diagnosis.causes[0]
    assert (first.cause.id, first.verdict) == ("crashed-on-start", Verdict.CONFIRMED)
    exited = diagnosis.results["exited"]
    assert exited.facts["exit_code"] == 1
    assert "ERROR KeyError: DATABASE_URL" in exited.facts["last_log_lines"]
    # Optional dependencies absent from the environment: skipped, their causes unknown.
    assert diagnosis.results["redis"].status.value == "skipped"
    verdicts = {item.cause.id: item.verdict for item in diagnosis.causes}
    assert verdicts["infrastructure-redis-down"] is Verdict.UNKNOWN
