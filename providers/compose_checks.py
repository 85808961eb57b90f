"""Container checks, mixed into ComposeProvider: running, restarts, health, OOM, exit codes, env.

Each check takes a scope (project, service, or one container) and judges every container in
it; facts name the worst container's values so runbooks can match them directly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from providers.base import Finding, check
from providers.compose_model import ContainerView, required_env_for, split_names
from providers.contract import CheckStatus, ParamSpec
from providers.inventory import Target
from providers.text import sanitize
from providers.units import human_bytes

if TYPE_CHECKING:
    from docker import DockerClient

SCOPE = {
    "project": ParamSpec("Compose project name", str, None),
    "service": ParamSpec("Compose service name (with project)", str, None),
    "container": ParamSpec("One container, by name or id", str, None),
}
APPLIES_TO = ("compose.service", "compose.container", "compose.project")
LOG_TAIL_LINES = 20


def no_containers(scope: str) -> Finding:
    return Finding(
        CheckStatus.FAIL,
        f"no containers for {scope}",
        {"containers": 0, "state": "missing"},
    )


class ComposeChecks:
    """Mixed into ComposeProvider; relies on its `select`, `scope_name`, `client`, `target`,
    `restart_threshold` and `_restarts_seen`."""

    if TYPE_CHECKING:
        target: Target
        _restarts_seen: dict[str, int]

        @property
        def restart_threshold(self) -> int: ...

        def client(self) -> DockerClient: ...

        async def select(self, params: Mapping[str, Any]) -> list[ContainerView]: ...

        @staticmethod
        def scope_name(params: Mapping[str, Any]) -> str: ...

    @check(
        "compose.running",
        "Containers are running",
        "Every container of the service is running (docker compose ps).",
        applies_to=APPLIES_TO,
        params=SCOPE,
    )
    async def running(self, params: Mapping[str, Any]) -> Finding:
        views = await self.select(params)
        scope = self.scope_name(params)
        if not views:
            return no_containers(scope)
        down = [view for view in views if not view.running and not view.completed]
        done = [view.name for view in views if view.completed]
        states = {view.name: view.state for view in views}
        facts: dict[str, Any] = {
            "containers": len(views),
            "running": sum(view.running for view in views),
            "state": down[0].state
            if down
            else ("running" if len(done) < len(views) else "completed"),
            "states": states,
            "not_running": [view.name for view in down],
            "completed": done,
            "exit_code": down[0].exit_code if down else None,
        }
        evidence = tuple(_ps_line(view) for view in views)
        counted = f"{facts['running']}/{len(views)} running"
        if done:
            counted += f", {len(done)} completed (exited 0, not restarted)"
        if down:
            first = down[0]
            return Finding(
                CheckStatus.FAIL, f"{scope}: {counted}; {first.name} is {first.state}", facts,
                evidence,
            )  # fmt: skip
        return Finding(CheckStatus.PASS, f"{scope}: {counted}", facts, evidence)

    @check(
        "compose.restart_loop",
        "Not restarting in a loop",
        "Restarting state or a restart count at the threshold (docker inspect RestartCount), "
        "and whether it rose since the last look.",
        applies_to=APPLIES_TO,
        params={
            **SCOPE,
            "threshold": ParamSpec("Restarts at which to fail; default from the target", int),
        },
    )
    async def restart_loop(self, params: Mapping[str, Any]) -> Finding:
        views = await self.select(params)
        scope = self.scope_name(params)
        if not views:
            return no_containers(scope)
        threshold = int(params.get("threshold") or self.restart_threshold)
        worst = max(views, key=lambda view: (view.state == "restarting", view.restart_count))
        rising = [
            view.name
            for view in views
            if view.restart_count > self._restarts_seen.get(view.id, view.restart_count)
        ]
        for view in views:
            self._restarts_seen[view.id] = view.restart_count
        facts = {
            "restart_count": worst.restart_count,
            "restarting": any(view.state == "restarting" for view in views),
            "state": worst.state,
            "exit_code": worst.exit_code,
            "restart_policy": worst.restart_policy,
            "restart_threshold": threshold,
            "rising": rising,
            "container": worst.name,
        }
        evidence = tuple(
            f"{view.name}: {view.state}, restarted {view.restart_count} times "
            f"(policy {view.restart_policy}), last exit code {view.exit_code}, "
            f"last finished {view.finished_at or '-'}"
            for view in views
        )
        if facts["restarting"] or worst.restart_count >= threshold:
            return Finding(
                CheckStatus.FAIL,
                f"{worst.name} is in a restart loop: restarted {worst.restart_count} times, "
                f"{worst.state}, last exit code {worst.exit_code}",
                facts,
                evidence,
            )
        if worst.restart_count or rising:
            return Finding(
                CheckStatus.WARN,
                f"{worst.name} restarted {worst.restart_count} times (threshold {threshold})",
                facts,
                evidence,
            )
        return Finding(CheckStatus.PASS, f"{scope}: no restarts", facts, evidence)

    @check(
        "compose.health",
        "Health check passing",
        "The container's HEALTHCHECK status, with the probe's last output as evidence.",
        applies_to=APPLIES_TO,
        params=SCOPE,
    )
    async def health(self, params: Mapping[str, Any]) -> Finding:
        views = await self.select(params)
        scope = self.scope_name(params)
        if not views:
            return no_containers(scope)
        checked = [view for view in views if view.health]
        if not checked:
            unchecked = {"health_status": None, "containers": len(views)}
            return Finding(CheckStatus.SKIPPED, f"{scope}: no health check configured", unchecked)
        order = {"unhealthy": 0, "starting": 1, "healthy": 2}
        worst = min(checked, key=lambda view: order.get(view.health or "", 3))
        probe = worst.probes[-1] if worst.probes else None
        facts = {
            "health_status": worst.health,
            "failing_streak": worst.failing_streak,
            "last_probe_output": worst.last_probe_output,
            "last_probe_exit_code": probe.exit_code if probe else None,
            "container": worst.name,
            "statuses": {view.name: view.health for view in checked},
        }
        evidence = tuple(
            f"{worst.name} probe at {item.end}: exit {item.exit_code}: "
            f"{item.output or '(no output)'}"
            for item in worst.probes[-5:]
        )
        if worst.health == "unhealthy":
            output = f": {worst.last_probe_output}" if worst.last_probe_output else ""
            return Finding(
                CheckStatus.FAIL,
                f"{worst.name} is unhealthy ({worst.failing_streak} failed probes in a row)"
                f"{output}",
                facts,
                evidence,
            )
        if worst.health == "starting":
            return Finding(
                CheckStatus.WARN, f"{worst.name}: health check starting", facts, evidence
            )
        return Finding(CheckStatus.PASS, f"{scope}: healthy", facts, evidence)

    @check(
        "compose.oom_killed",
        "Not killed for memory",
        "Whether the kernel killed the container for exceeding its memory limit (OOMKilled).",
        applies_to=APPLIES_TO,
        params=SCOPE,
    )
    async def oom_killed(self, params: Mapping[str, Any]) -> Finding:
        views = await self.select(params)
        scope = self.scope_name(params)
        if not views:
            return no_containers(scope)
        killed = [view for view in views if view.oom_killed]
        first = killed[0] if killed else views[0]
        facts = {
            "oom_killed": bool(killed),
            "killed": [view.name for view in killed],
            "exit_code": first.exit_code,
            "memory_limit_bytes": first.memory_limit or None,
            "state": first.state,
            "container": first.name,
        }
        if not killed:
            return Finding(CheckStatus.PASS, f"{scope}: not OOM killed", facts)
        limit = human_bytes(first.memory_limit) if first.memory_limit else "no limit (host memory)"
        evidence = tuple(
            f"{view.name}: OOMKilled=true, exit code {view.exit_code}, memory limit "
            f"{human_bytes(view.memory_limit) if view.memory_limit else 'none'}, "
            f"finished {view.finished_at}"
            for view in killed
        )
        return Finding(
            CheckStatus.FAIL,
            f"{first.name} was killed: out of memory (limit {limit}, exit code {first.exit_code})",
            facts,
            evidence,
        )

    @check(
        "compose.exit_code",
        "Exited cleanly",
        "Containers that exited with a non-zero code, with their last log lines as evidence.",
        applies_to=APPLIES_TO,
        params={**SCOPE, "lines": ParamSpec("Log lines to show", int, LOG_TAIL_LINES)},
    )
    async def exit_code(self, params: Mapping[str, Any]) -> Finding:
        views = await self.select(params)
        scope = self.scope_name(params)
        if not views:
            return no_containers(scope)
        failed = [view for view in views if not view.running and view.exit_code != 0]
        first = failed[0] if failed else views[0]
        facts: dict[str, Any] = {
            "exit_code": first.exit_code if (failed or not first.running) else None,
            "state": first.state,
            "exited": [view.name for view in failed],
            "oom_killed": first.oom_killed,
            "container": first.name,
        }
        if not failed:
            return Finding(CheckStatus.PASS, f"{scope}: no container exited with an error", facts)
        lines = await asyncio.to_thread(self._tail, first, int(params.get("lines") or 20))
        facts["last_log_lines"] = list(lines)
        evidence = (
            f"{first.name}: {first.state}, exit code {first.exit_code} at {first.finished_at}",
            *lines,
        )
        return Finding(
            CheckStatus.FAIL,
            f"{first.name} exited with code {first.exit_code}"
            + (f" (+{len(failed) - 1} more)" if len(failed) > 1 else ""),
            facts,
            evidence,
        )

    def _tail(self, view: ContainerView, lines: int) -> tuple[str, ...]:
        """The last lines of stdout and stderr, in the order they were written."""
        raw = self.client().api.logs(view.id, stdout=True, stderr=True, tail=lines, timestamps=True)
        text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)
        stamped = sorted(line.partition(" ")[::2] for line in text.splitlines() if line)
        return tuple(sanitize(line) for _, line in stamped[-lines:])

    @check(
        "compose.required_env",
        "Required environment variables set",
        "The variables a service needs are set in its containers; names only, never values.",
        applies_to=APPLIES_TO,
        params={
            **SCOPE,
            "names": ParamSpec("Variable names; default: the target's required_env option", str),
        },
    )
    async def required_env(self, params: Mapping[str, Any]) -> Finding:
        views = await self.select(params)
        scope = self.scope_name(params)
        if not views:
            return no_containers(scope)
        required = split_names(params.get("names"))
        if not required:
            service = params.get("service") or views[0].service or views[0].name
            required = required_env_for(self.target.options, views[0].project, str(service))
        if not required:
            return Finding(
                CheckStatus.SKIPPED,
                f"{scope}: no required variables configured",
                {"required_env": [], "missing_env": []},
            )
        missing: dict[str, list[str]] = {}
        empty: dict[str, list[str]] = {}
        for view in views:
            present = set(view.env_names)
            for name in required:
                if name not in present:
                    missing.setdefault(name, []).append(view.name)
                elif name in view.empty_env:
                    empty.setdefault(name, []).append(view.name)
        facts = {
            "required_env": list(required),
            "missing_env": sorted(missing),
            "empty_env": sorted(empty),
            "present_env": [name for name in required if name not in missing],
            "containers": len(views),
        }
        evidence = tuple(
            f"{name} is "
            + (
                f"missing in {', '.join(missing[name])}"
                if name in missing
                else f"empty in {', '.join(empty[name])}"
                if name in empty
                else "set"
            )
            for name in required
        )
        if missing:
            return Finding(
                CheckStatus.FAIL,
                f"{scope}: missing environment variables: {', '.join(sorted(missing))}",
                facts,
                evidence,
            )
        if empty:
            return Finding(
                CheckStatus.WARN,
                f"{scope}: empty environment variables: {', '.join(sorted(empty))}",
                facts,
                evidence,
            )
        return Finding(
            CheckStatus.PASS, f"{scope}: all {len(required)} required variables set", facts,
            evidence,
        )  # fmt: skip


def _ps_line(view: ContainerView) -> str:
    """One row as `docker compose ps` would show it."""
    ports = ", ".join(binding.describe() for binding in view.published)
    health = f" ({view.health})" if view.health else ""
    exit_code = f" exit {view.exit_code}" if not view.running else ""
    return f"{view.name}  {view.image}  {view.state}{health}{exit_code}  {ports}".rstrip()
