"""Containers as the compose provider sees them: read from `docker inspect`, no SDK needed.

A `ContainerView` keeps what the checks and the tree use (state, health, restarts, exit code,
OOM kill, ports, the *names* of environment variables) and nothing else: no variable value is
ever kept, so none can leak into a fact, a summary or an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from providers.addresses import addresses_in
from providers.contract import Health, Status
from providers.text import sanitize
from providers.units import human_bytes

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
WORKING_DIR_LABEL = "com.docker.compose.project.working_dir"
NUMBER_LABEL = "com.docker.compose.container-number"
# Compose project names start with a lowercase letter or a digit, so this key never collides.
STANDALONE_KEY = "_standalone"
STANDALONE_NAME = "standalone"
DEFAULT_RESTART_THRESHOLD = 3
NOT_RUNNING = ("exited", "created", "dead")
# Restart policies under which a clean exit is the end: the engine does not start it again.
ONE_SHOT_POLICIES = frozenset({"no", "on-failure"})

_SEVERITY = {Health.OK: 0, Health.UNKNOWN: 1, Health.DEGRADED: 2, Health.FAILING: 3}


def worst(healths: Iterable[Health]) -> Health:
    return max(healths, key=_SEVERITY.__getitem__, default=Health.OK)


@dataclass(frozen=True, slots=True)
class PortBinding:
    """One published port: host address and port, and the container port it leads to."""

    host_ip: str
    host_port: int
    container_port: str

    def describe(self) -> str:
        return f"{self.host_ip or '0.0.0.0'}:{self.host_port}->{self.container_port}"


@dataclass(frozen=True, slots=True)
class Probe:
    """One health-check run: when it ended, its exit code and what it printed."""

    end: str
    exit_code: int
    output: str


@dataclass(frozen=True, slots=True)
class ContainerView:
    id: str
    name: str
    project: str | None
    service: str | None
    number: int | None
    image: str
    state: str
    health: str | None
    failing_streak: int
    probes: tuple[Probe, ...]
    restart_count: int
    restart_policy: str
    exit_code: int
    oom_killed: bool
    error: str
    started_at: str
    finished_at: str
    memory_limit: int
    nano_cpus: int
    tty: bool
    port_bindings: tuple[PortBinding, ...]
    published: tuple[PortBinding, ...]
    env_names: tuple[str, ...]
    empty_env: tuple[str, ...]
    working_dir: str = ""  # the compose project's folder, on the engine's host
    depends_on: tuple[str, ...] = ()  # host:port its environment names (providers/addresses)

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def completed(self) -> bool:
        """Ran to its end as meant: exited 0 under a restart policy that does not bring it back
        (a one-shot `migrate` or `seed` service). Docker restarts neither `no` nor `on-failure`
        after a clean exit."""
        return (
            self.state == "exited"
            and self.exit_code == 0
            and not self.oom_killed
            and self.restart_policy in ONE_SHOT_POLICIES
        )

    @property
    def last_probe_output(self) -> str:
        return self.probes[-1].output if self.probes else ""

    @classmethod
    def from_inspect(cls, attrs: Mapping[str, Any]) -> ContainerView:
        config = attrs.get("Config") or {}
        host = attrs.get("HostConfig") or {}
        state = attrs.get("State") or {}
        labels = config.get("Labels") or {}
        name = str(attrs.get("Name") or "").lstrip("/") or str(attrs.get("Id", ""))[:12]
        project = labels.get(PROJECT_LABEL) or None
        service = labels.get(SERVICE_LABEL) or None
        health = state.get("Health") or {}
        env_names, empty, environment = [], [], {}
        for entry in config.get("Env") or []:
            key, _, value = str(entry).partition("=")
            env_names.append(key)  # the value is dropped here, on purpose (but its host:port)
            environment[key] = value
            if not value:
                empty.append(key)
        depends_on = addresses_in(environment)
        del environment
        probes = tuple(
            Probe(
                end=str(item.get("End", "")),
                exit_code=int(item.get("ExitCode", 0)),
                output=sanitize(str(item.get("Output", "")).strip())[:500],
            )
            for item in health.get("Log") or []
        )
        return cls(
            id=str(attrs.get("Id", "")),
            name=name,
            project=project,
            service=service,
            number=container_number(labels, name, project, service),
            image=str(config.get("Image", "")),
            state=str(state.get("Status", "unknown")),
            health=health.get("Status") or None,
            failing_streak=int(health.get("FailingStreak", 0)),
            probes=probes,
            restart_count=int(attrs.get("RestartCount", 0)),
            restart_policy=str((host.get("RestartPolicy") or {}).get("Name") or "no"),
            exit_code=int(state.get("ExitCode", 0)),
            oom_killed=bool(state.get("OOMKilled", False)),
            error=sanitize(str(state.get("Error", ""))),
            started_at=str(state.get("StartedAt", "")),
            finished_at=str(state.get("FinishedAt", "")),
            memory_limit=int(host.get("Memory") or 0),
            nano_cpus=int(host.get("NanoCpus") or 0),
            tty=bool(config.get("Tty", False)),
            port_bindings=_bindings(host.get("PortBindings")),
            published=_bindings((attrs.get("NetworkSettings") or {}).get("Ports")),
            env_names=tuple(env_names),
            empty_env=tuple(empty),
            working_dir=str(labels.get(WORKING_DIR_LABEL) or ""),
            depends_on=depends_on,
        )


def _bindings(ports: Mapping[str, Any] | None) -> tuple[PortBinding, ...]:
    found = []
    for container_port, bindings in (ports or {}).items():
        for binding in bindings or []:
            host_port = str(binding.get("HostPort") or "")
            if host_port.isdigit() and int(host_port):
                found.append(
                    PortBinding(str(binding.get("HostIp") or ""), int(host_port), container_port)
                )
    return tuple(found)


def container_number(
    labels: Mapping[str, str], name: str, project: str | None, service: str | None
) -> int | None:
    """The replica number: from its label, else from `project_service_1` or `project-service-1`."""
    label = str(labels.get(NUMBER_LABEL, ""))
    if label.isdigit():
        return int(label)
    if project and service:
        pattern = rf"{re.escape(project)}[-_]{re.escape(service)}[-_](\d+)"
        match = re.fullmatch(pattern, name)
        if match:
            return int(match.group(1))
    return None


def parse_time(text: str) -> datetime | None:
    """An engine timestamp (RFC 3339 with nanoseconds); None for the zero time."""
    match = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?", text)
    if not match or match.group(1).startswith("0001"):
        return None
    fraction = (match.group(2) or "0")[:6].ljust(6, "0")
    zone = match.group(3) or "Z"
    stamp = f"{match.group(1)}.{fraction}{'+00:00' if zone == 'Z' else zone}"
    return datetime.fromisoformat(stamp).astimezone(UTC)


def container_status(view: ContainerView, threshold: int = DEFAULT_RESTART_THRESHOLD) -> Status:
    """Health and a one-line reason from state, health, restarts, exit code and OOM kill."""
    restarts = f", {view.restart_count} restarts" if view.restart_count else ""
    if view.state == "restarting":
        return Status(Health.FAILING, f"restarting (last exit code {view.exit_code}{restarts})")
    if view.running:
        if view.health == "unhealthy":
            probe = view.last_probe_output
            detail = f": {probe}" if probe else ""
            return Status(Health.FAILING, f"unhealthy{detail}")
        if view.restart_count >= threshold:
            return Status(Health.FAILING, f"running, restarted {view.restart_count} times")
        if view.health == "starting":
            return Status(Health.DEGRADED, f"running, health check starting{restarts}")
        health = f" ({view.health})" if view.health else ""
        return Status(Health.OK, f"running{health}{restarts}")
    if view.oom_killed:
        limit = f" (limit {human_bytes(view.memory_limit)})" if view.memory_limit else ""
        return Status(Health.FAILING, f"killed: out of memory{limit}, exit code {view.exit_code}")
    if view.state == "exited" and view.exit_code != 0:
        return Status(Health.FAILING, f"exited with code {view.exit_code}{restarts}")
    if view.completed:
        return Status(Health.OK, "completed (exited with code 0)")
    if view.state == "exited":
        return Status(Health.DEGRADED, "stopped (exited with code 0)")
    if view.state == "created" and view.error:
        return Status(Health.FAILING, f"could not start: {view.error}")
    if view.state == "dead":
        return Status(Health.FAILING, f"dead{': ' + view.error if view.error else ''}")
    return Status(Health.DEGRADED, view.state)


def group_status(
    statuses: Mapping[str, Status], noun: str, *, show_ok: str = "", running: int | None = None
) -> Status:
    """The worst of its members' statuses, naming the members that are not ok."""
    if not statuses:
        return Status(Health.UNKNOWN, f"no {noun}s")
    health = worst(status.health for status in statuses.values())
    bad = [(name, status) for name, status in statuses.items() if status.health is not Health.OK]
    bad.sort(key=lambda item: -_SEVERITY[item[1].health])
    count = f"{running}/{len(statuses)} running" if running is not None else show_ok
    if not bad:
        return Status(health, count)
    first_name, first = bad[0]
    more = f" (+{len(bad) - 1} more)" if len(bad) > 1 else ""
    return Status(health, f"{count}; {first_name}: {first.reason}{more}")


def restart_threshold(options: Mapping[str, Any]) -> int:
    try:
        return max(1, int(options.get("restart_threshold", DEFAULT_RESTART_THRESHOLD)))
    except (TypeError, ValueError):
        return DEFAULT_RESTART_THRESHOLD


def required_env_for(options: Mapping[str, Any], project: str | None, service: str) -> list[str]:
    """The variables `options["required_env"]` asks of a service.

    Keys are a service name or `project/service`; values a list or a comma-separated string.
    """
    table = options.get("required_env") or {}
    if not isinstance(table, Mapping):
        return []
    names = table.get(f"{project}/{service}") if project else None
    if names is None:
        names = table.get(service)
    return split_names(names)


def split_names(names: Any) -> list[str]:
    if names is None:
        return []
    if isinstance(names, str):
        names = names.replace(",", " ").split()
    return [str(name) for name in names if str(name)]
