"""Engine-level checks, mixed into ComposeProvider: resources, port conflicts and disk usage."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import socket
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from providers.base import Finding, check
from providers.compose_checks import APPLIES_TO, SCOPE, no_containers
from providers.compose_model import ContainerView, PortBinding
from providers.contract import CheckStatus, ParamSpec
from providers.sweep import shared
from providers.units import human_bytes

if TYPE_CHECKING:
    from docker import DockerClient

PORT_IN_USE_ERRORS = ("address already in use", "port is already allocated")
ANY_ADDRESS = ("", "0.0.0.0", "::")


def memory_used(stats: Mapping[str, Any]) -> int:
    """Memory as `docker stats` counts it: usage less the inactive page cache."""
    memory = stats.get("memory_stats") or {}
    usage = int(memory.get("usage") or 0)
    detail = memory.get("stats") or {}
    cache = detail.get("total_inactive_file", detail.get("inactive_file", 0))
    return max(0, usage - int(cache or 0))


def cpu_percent(stats: Mapping[str, Any]) -> float:
    """CPU use over the sample as `docker stats` shows it (100% = one CPU)."""
    cpu, pre = stats.get("cpu_stats") or {}, stats.get("precpu_stats") or {}
    used = int((cpu.get("cpu_usage") or {}).get("total_usage", 0)) - int(
        (pre.get("cpu_usage") or {}).get("total_usage", 0)
    )
    system = int(cpu.get("system_cpu_usage") or 0) - int(pre.get("system_cpu_usage") or 0)
    cpus = int(
        cpu.get("online_cpus") or len((cpu.get("cpu_usage") or {}).get("percpu_usage") or [1])
    )
    if used <= 0 or system <= 0:
        return 0.0
    return used / system * cpus * 100.0


async def port_answer(binding: PortBinding, window: float) -> str:
    """What connecting to a published port on this machine meets: `refused`, `timeout`,
    `closed` (accepted, then closed or reset within `window` with nothing said: a proxy with
    nothing behind it) or `answers` (something said, or the connection held open)."""
    host = binding.host_ip if binding.host_ip not in ANY_ADDRESS else "127.0.0.1"
    if binding.host_ip == "::":
        host = "::1"
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, binding.host_port), window * 2
        )
    except TimeoutError:
        return "timeout"
    except OSError:
        return "refused"
    try:
        said = await asyncio.wait_for(reader.read(1), window)
    except TimeoutError:
        return "answers"  # held open, waiting for a request: something is there
    except OSError:
        return "closed"  # reset
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    return "answers" if said else "closed"


def port_taken_here(binding: PortBinding) -> bool:
    """Whether some process on this machine holds the host port (a bind fails)."""
    host = binding.host_ip or "0.0.0.0"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, binding.host_port))
        except OSError as error:
            return error.errno == errno.EADDRINUSE
    return False


def _stats_line(row: Mapping[str, Any]) -> str:
    """One row as `docker stats --no-stream` would show it."""
    limit = row["memory_limit_bytes"]
    cpus = f" of {row['cpu_limit']:g} CPUs" if row["cpu_limit"] else ""
    return (
        f"{row['container']}: memory {human_bytes(row['memory_bytes'])} / "
        f"{human_bytes(limit) if limit else 'no limit'} ({(row['memory_ratio'] or 0):.0%}), "
        f"CPU {row['cpu_percent']:.1f}%{cpus}"
    )


def _same_address(one: str, other: str) -> bool:
    return one == other or one in ANY_ADDRESS or other in ANY_ADDRESS


class ComposeEngineChecks:
    """Mixed into ComposeProvider; relies on its `select`, `scope_name`, `client`,
    `engine_is_local` and `timeout`."""

    if TYPE_CHECKING:
        timeout: float

        @property
        def engine_is_local(self) -> bool: ...

        def client(self) -> DockerClient: ...

        async def select(self, params: Mapping[str, Any]) -> list[ContainerView]: ...

        @staticmethod
        def scope_name(params: Mapping[str, Any]) -> str: ...

    async def _stats(self, ident: str) -> Mapping[str, Any]:
        """One `docker stats` sample; in a sweep (or a diagnosis) one per container, however
        many checks ask: the engine takes a second to make each."""

        async def read() -> Mapping[str, Any]:
            sample: Mapping[str, Any] = await asyncio.to_thread(
                self.client().api.stats, ident, stream=False
            )
            return sample

        return await shared(("compose.stats", ident), read)

    @check(
        "compose.resources",
        "Memory and CPU against the limit",
        "One `docker stats` sample of each running container: memory against its limit (high "
        "memory usage) and CPU against its CPU limit.",
        applies_to=APPLIES_TO,
        params={
            **SCOPE,
            "warn_ratio": ParamSpec("Share of the memory limit above which to warn", float, 0.8),
            "fail_ratio": ParamSpec("Share of the memory limit above which to fail", float, 0.95),
        },
    )
    async def resources(self, params: Mapping[str, Any]) -> Finding:
        views = [view for view in await self.select(params) if view.running]
        scope = self.scope_name(params)
        if not views:
            return no_containers(f"{scope} (running)")
        samples = await asyncio.gather(*(self._stats(view.id) for view in views))
        rows: list[dict[str, Any]] = []
        for view, stats in zip(views, samples, strict=True):
            used = memory_used(stats)
            host_limit = int((stats.get("memory_stats") or {}).get("limit") or 0)
            limit = view.memory_limit or host_limit
            cpus = view.nano_cpus / 1e9 if view.nano_cpus else None
            online = int((stats.get("cpu_stats") or {}).get("online_cpus") or 1)
            percent = cpu_percent(stats)
            rows.append(
                {
                    "container": view.name,
                    "memory_bytes": used,
                    "memory_limit_bytes": view.memory_limit or None,
                    "memory_ratio": round(used / limit, 4) if limit else None,
                    "cpu_percent": round(percent, 2),
                    "cpu_limit": cpus,
                    "cpu_ratio": round(percent / 100 / (cpus or online), 4),
                }
            )
        worst = max(rows, key=lambda row: row["memory_ratio"] or 0)
        busiest = max(rows, key=lambda row: row["cpu_ratio"])
        facts = {**worst, "cpu_percent": busiest["cpu_percent"], "cpu_ratio": busiest["cpu_ratio"]}
        facts["containers"] = rows
        evidence = tuple(_stats_line(row) for row in rows)
        ratio = float(worst["memory_ratio"] or 0)
        limit_text = "limit" if worst["memory_limit_bytes"] else "host memory"
        memory = f"memory {human_bytes(worst['memory_bytes'])} ({ratio:.0%} of its {limit_text})"
        if ratio >= float(params["fail_ratio"]):
            return Finding(
                CheckStatus.FAIL, f"{worst['container']}: high memory usage: {memory}", facts,
                evidence,
            )  # fmt: skip
        if ratio >= float(params["warn_ratio"]):
            return Finding(
                CheckStatus.WARN, f"{worst['container']}: high memory usage: {memory}", facts,
                evidence,
            )  # fmt: skip
        if busiest["cpu_ratio"] >= 0.9:
            return Finding(
                CheckStatus.WARN,
                f"{busiest['container']}: CPU at {busiest['cpu_ratio']:.0%} of its limit",
                facts,
                evidence,
            )
        return Finding(CheckStatus.PASS, f"{scope}: {memory}", facts, evidence)

    @check(
        "compose.port_conflicts",
        "Published ports are free",
        "Host ports a container publishes that another process or container already holds "
        "(port is already in use).",
        applies_to=("compose.engine", *APPLIES_TO),
        params=SCOPE,
    )
    async def port_conflicts(self, params: Mapping[str, Any]) -> Finding:
        views = await self.select(params)
        scope = self.scope_name(params)
        holders = await asyncio.to_thread(self._published_by_running)
        local = self.engine_is_local
        in_use: list[dict[str, Any]] = []
        for view in views:
            if view.running:
                continue
            said_in_use = any(text in view.error.lower() for text in PORT_IN_USE_ERRORS)
            for binding in view.port_bindings:
                holder = next(
                    (
                        name
                        for name, other in holders
                        if name != view.name
                        and other.host_port == binding.host_port
                        and _same_address(other.host_ip, binding.host_ip)
                    ),
                    None,
                )
                if holder is None and local and port_taken_here(binding):
                    holder = "another process"
                if holder is None and said_in_use and str(binding.host_port) in view.error:
                    holder = "another process"
                if holder is not None:
                    in_use.append(
                        {
                            "container": view.name,
                            "host_ip": binding.host_ip or "0.0.0.0",
                            "port": binding.host_port,
                            "container_port": binding.container_port,
                            "held_by": holder,
                        }
                    )
        published = [
            binding.describe() for view in views for binding in view.published if view.running
        ]
        facts = {
            "ports_in_use": [row["port"] for row in in_use],
            "conflicts": in_use,
            "published": published,
        }
        evidence = tuple(
            f"{row['container']}: {row['host_ip']}:{row['port']}->{row['container_port']} "
            f"is already in use by {row['held_by']}"
            for row in in_use
        ) + tuple(f"{view.name}: {view.error}" for view in views if view.error and not view.running)
        if in_use:
            first = in_use[0]
            return Finding(
                CheckStatus.FAIL,
                f"port is already in use: {first['host_ip']}:{first['port']} for "
                f"{first['container']}, held by {first['held_by']}"
                + (f" (+{len(in_use) - 1} more)" if len(in_use) > 1 else ""),
                facts,
                evidence,
            )
        return Finding(
            CheckStatus.PASS, f"{scope}: {len(published)} published ports, none in conflict", facts
        )

    @check(
        "compose.published_ports_answer",
        "Published ports reach something",
        "Connects to each port a running container publishes on this machine: refused (no "
        "proxy there), accepted then closed at once with nothing said (nothing listens on the "
        "container's side: a server bound to the container's 127.0.0.1, or another port), or "
        "answering. Engines on another host are not probed.",
        applies_to=APPLIES_TO,
        params=SCOPE,
    )
    async def published_ports_answer(self, params: Mapping[str, Any]) -> Finding:
        views = await self.select(params)
        scope = self.scope_name(params)
        if not self.engine_is_local:
            return Finding(
                CheckStatus.SKIPPED,
                f"{scope}: the engine is on another host; its ports are not probed from here",
                {},
            )
        bindings = [
            (view.name, binding)
            for view in views
            if view.running
            for binding in view.published
            if binding.container_port.endswith("/tcp")
        ]
        if not bindings:
            return Finding(CheckStatus.SKIPPED, f"{scope}: no published TCP port", {"ports": []})
        # The window a connection accepted has to close by itself: a proxy with nothing behind
        # it closes at once; a server waits for the request (or greets).
        window = min(1.0, self.timeout / 4)
        answers = await asyncio.gather(*(port_answer(binding, window) for _, binding in bindings))
        ports: list[dict[str, Any]] = [
            {
                "container": name,
                "published": binding.describe(),
                "port": binding.host_port,
                "container_port": binding.container_port,
                "answer": answer,
            }
            for (name, binding), answer in zip(bindings, answers, strict=True)
        ]
        closed = [row for row in ports if row["answer"] == "closed"]
        refused = [row for row in ports if row["answer"] == "refused"]
        facts = {
            "ports": ports,
            "closed": [row["port"] for row in closed],
            "refused": [row["port"] for row in refused],
            "closed_count": len(closed),
            "refused_count": len(refused),
        }
        said = {
            "answers": "answers",
            "closed": "accepted and closed at once: nothing listens behind it in the container",
            "refused": "refused: nothing listens on the host port",
            "timeout": "no answer to the connection",
        }
        evidence = tuple(
            f"{row['container']}: {row['published']}: {said[row['answer']]}" for row in ports
        )
        if closed:
            first = closed[0]
            port = first["container_port"].split("/")[0]
            return Finding(
                CheckStatus.FAIL,
                f"{first['container']}: {first['published']} is accepted and closed at once: "
                f"nothing listens on {port} inside the container (a server bound to its "
                "127.0.0.1, or to another port?)"
                + (f" (+{len(closed) - 1} more)" if len(closed) > 1 else ""),
                facts,
                evidence,
            )
        if refused:
            first = refused[0]
            return Finding(
                CheckStatus.FAIL,
                f"{first['container']}: {first['published']} is refused on this machine",
                facts,
                evidence,
            )
        return Finding(
            CheckStatus.PASS, f"{scope}: {len(ports)} published ports answer", facts, evidence
        )

    def _published_by_running(self) -> list[tuple[str, PortBinding]]:
        found = []
        for summary in self.client().api.containers():
            name = str((summary.get("Names") or ["?"])[0]).lstrip("/")
            for port in summary.get("Ports") or []:
                if port.get("PublicPort"):
                    binding = PortBinding(
                        str(port.get("IP") or ""),
                        int(port["PublicPort"]),
                        f"{port.get('PrivatePort')}/{port.get('Type', 'tcp')}",
                    )
                    found.append((name, binding))
        return found

    @check(
        "compose.disk_usage",
        "Engine disk usage",
        "docker system df: images, containers, volumes and build cache, what could be reclaimed, "
        "and the free space left where the engine keeps its data (no space left on device).",
        applies_to=("compose.engine",),
        params={
            "warn_reclaimable_bytes": ParamSpec(
                "Reclaimable bytes above which to warn", int, 10 * 1024**3
            ),
            "warn_free_ratio": ParamSpec("Free share of the disk below which to warn", float, 0.15),
            "fail_free_ratio": ParamSpec("Free share of the disk below which to fail", float, 0.05),
        },
    )
    async def disk_usage(self, params: Mapping[str, Any]) -> Finding:
        df, root = await asyncio.gather(
            asyncio.to_thread(self.client().api.df),
            asyncio.to_thread(lambda: str(self.client().info().get("DockerRootDir", ""))),
        )
        facts: dict[str, Any] = disk_facts(df)
        if self.engine_is_local and root:
            facts.update(await asyncio.to_thread(free_space, root))
        evidence: tuple[str, ...] = (
            f"images: {facts['images']} ({human_bytes(facts['images_bytes'])}, "
            f"{human_bytes(facts['images_reclaimable_bytes'])} reclaimable)",
            f"containers: {facts['containers']} ({human_bytes(facts['containers_bytes'])}, "
            f"{human_bytes(facts['containers_reclaimable_bytes'])} reclaimable)",
            f"volumes: {facts['volumes']} ({human_bytes(facts['volumes_bytes'])}, "
            f"{human_bytes(facts['volumes_reclaimable_bytes'])} reclaimable)",
            f"build cache: {human_bytes(facts['build_cache_bytes'])} "
            f"({human_bytes(facts['build_cache_reclaimable_bytes'])} reclaimable)",
        )
        if "free_bytes" in facts:
            evidence += (
                f"{root}: {human_bytes(facts['free_bytes'])} free of "
                f"{human_bytes(facts['disk_bytes'])}",
            )
        reclaimable = human_bytes(facts["reclaimable_bytes"])
        summary = f"{human_bytes(facts['total_bytes'])} used, {reclaimable} reclaimable"
        free_ratio = facts.get("free_ratio")
        if free_ratio is not None and free_ratio < float(params["fail_free_ratio"]):
            return Finding(
                CheckStatus.FAIL,
                f"disk nearly full ({free_ratio:.0%} free): writes will fail with 'no space "
                f"left on device'; {summary}",
                facts,
                evidence,
            )
        if free_ratio is not None and free_ratio < float(params["warn_free_ratio"]):
            return Finding(
                CheckStatus.WARN, f"disk {free_ratio:.0%} free; {summary}", facts, evidence
            )
        if facts["reclaimable_bytes"] >= int(params["warn_reclaimable_bytes"]):
            return Finding(CheckStatus.WARN, f"{summary}: prune to free it", facts, evidence)
        return Finding(CheckStatus.PASS, summary, facts, evidence)


def free_space(path: str) -> dict[str, Any]:
    """Free and total bytes of the filesystem holding `path`; nothing when it is not here."""
    with contextlib.suppress(OSError):
        fs = os.statvfs(path)
        total, free = fs.f_blocks * fs.f_frsize, fs.f_bavail * fs.f_frsize
        ratio = round(free / total, 4) if total else None
        return {"free_bytes": free, "disk_bytes": total, "free_ratio": ratio}
    return {}


def disk_facts(df: Mapping[str, Any]) -> dict[str, Any]:
    """`docker system df` in numbers, with what a prune could free of each kind."""
    images = df.get("Images") or []
    containers = df.get("Containers") or []
    volumes = df.get("Volumes") or []
    cache = df.get("BuildCache") or []
    images_bytes = int(df.get("LayersSize") or sum(int(i.get("Size") or 0) for i in images))
    images_free = sum(
        max(0, int(i.get("Size") or 0) - max(0, int(i.get("SharedSize") or 0)))
        for i in images
        if not int(i.get("Containers") or 0)
    )
    containers_bytes = sum(int(c.get("SizeRw") or 0) for c in containers)
    containers_free = sum(
        int(c.get("SizeRw") or 0) for c in containers if c.get("State") not in ("running", "paused")
    )
    volume_size = [(int((v.get("UsageData") or {}).get("Size") or 0), v) for v in volumes]
    volumes_bytes = sum(max(0, size) for size, _ in volume_size)
    volumes_free = sum(
        max(0, size)
        for size, v in volume_size
        if not int((v.get("UsageData") or {}).get("RefCount") or 0)
    )
    cache_bytes = sum(int(c.get("Size") or 0) for c in cache)
    cache_free = sum(
        int(c.get("Size") or 0) for c in cache if not c.get("InUse") and not c.get("Shared")
    )
    return {
        "images": len(images),
        "images_bytes": images_bytes,
        "images_reclaimable_bytes": images_free,
        "containers": len(containers),
        "containers_bytes": containers_bytes,
        "containers_reclaimable_bytes": containers_free,
        "volumes": len(volumes),
        "volumes_bytes": volumes_bytes,
        "volumes_reclaimable_bytes": volumes_free,
        "build_cache_bytes": cache_bytes,
        "build_cache_reclaimable_bytes": cache_free,
        "total_bytes": images_bytes + containers_bytes + volumes_bytes + cache_bytes,
        "reclaimable_bytes": images_free + containers_free + volumes_free + cache_free,
    }
