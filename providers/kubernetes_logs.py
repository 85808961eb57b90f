"""Kubernetes log streams, mixed into KubernetesProvider: followed containers and pod watches.

- a pod: its containers followed (`kubectl logs -f --timestamps`), merged; a container that
  restarted first shows the tail of its previous run (`kubectl logs --previous`);
- a deployment, statefulset or daemonset: its pods merged, and pods that appear later (a
  rollout) are followed as they start;
- the cluster or a namespace: a watch on pods (not a polling loop) told as lines: a pod
  entering CrashLoopBackOff, OOMKilled, becoming unready, back to ready, created, deleted.

The client's streams block, so each one is read by its own daemon thread that hands lines to
the event loop; closing the generator shuts the socket down, which ends the thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import re
import threading
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

from providers.contract import Health, LogLine, utc_now
from providers.kubernetes_client import KubernetesBase, api_status, path_of
from providers.kubernetes_state import parse_time, pod_status, selector_string
from providers.redact import redact
from providers.stamps import precise_stamp
from providers.text import sanitize
from providers.units import counted

WATCH_SECONDS = 300  # a watch request ends after this long, then resumes from its version
FOLLOW_READ_SECONDS = 600.0  # a followed log silent this long is reopened
RETRY_SECONDS = 1.0
PREVIOUS_TAIL = 20
FOLLOW_TAIL = 100
_ERROR = re.compile(r"(?i)\b(error|exception|traceback|fatal|panic|critical)\b")
_WARN = re.compile(r"(?i)\bwarn(ing)?\b")
LEVELS = {Health.FAILING: "error", Health.DEGRADED: "warn", Health.OK: "info"}


def level_of(text: str) -> str:
    return "error" if _ERROR.search(text) else "warn" if _WARN.search(text) else "info"


async def stream_lines(opener: Callable[[], Any]) -> AsyncIterator[str]:
    """The lines of a streaming urllib3 response that `opener` returns, read in a thread."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    stop = threading.Event()
    opened: list[Any] = []

    def put(kind: str, value: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody is listening
            loop.call_soon_threadsafe(queue.put_nowait, (kind, value))

    def pump() -> None:
        response = None
        try:
            response = opener()
            opened.append(response)
            buffer = b""
            for chunk in response.stream(None, decode_content=False):
                if stop.is_set():
                    break
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    put("line", line.decode("utf-8", errors="replace"))
            if buffer and not stop.is_set():
                put("line", buffer.decode("utf-8", errors="replace"))
            put("end", None)
        except Exception as error:
            put("end", None if stop.is_set() else error)
        finally:
            if response is not None:
                with contextlib.suppress(Exception):
                    response.release_conn()

    threading.Thread(target=pump, name="triage-k8s-stream", daemon=True).start()
    try:
        while True:
            kind, value = await queue.get()
            if kind == "line":
                yield value
            elif value is None:
                return
            else:
                raise value
    finally:
        stop.set()
        for response in opened:
            with contextlib.suppress(Exception):
                response.shutdown()


async def merge(sources: list[AsyncIterator[LogLine]]) -> AsyncIterator[LogLine]:
    """Lines of several streams as they come."""
    queue: asyncio.Queue[LogLine] = asyncio.Queue()

    async def pump(source: AsyncIterator[LogLine]) -> None:
        async for line in source:
            await queue.put(line)

    tasks = [asyncio.create_task(pump(source)) for source in sources]
    try:
        while True:
            yield await queue.get()
    finally:
        for task in tasks:
            task.cancel()


class KubernetesLogs(KubernetesBase):
    """The log streams of pods, workloads, namespaces and the cluster."""

    def _open(self, path: str, query: dict[str, Any], read_timeout: float) -> Callable[[], Any]:
        """What opens a streaming GET of `path` (in the stream's thread)."""

        def opener() -> Any:
            timeout = (self.timeout, read_timeout)
            return self._send("GET", path, query, timeout=timeout, stream=True)

        return opener

    async def logs(self, node_id: str, *, since: datetime | None = None) -> AsyncIterator[LogLine]:
        parts = node_id[len(self.root_id) :].strip("/").split("/") if node_id else []
        parts = [p for p in parts if p]
        if len(parts) <= 1:
            namespace = parts[0] if parts else ""
            async for line in self.watch_pods(namespace):
                yield line
            return
        namespace, kind, name = parts[0], parts[1], parts[2] if len(parts) > 2 else ""
        if kind == "pod":
            containers = [parts[3]] if len(parts) > 3 else None
            async for line in self.pod_logs(namespace, name, containers, since=since):
                yield line
        else:
            async for line in self.workload_logs(namespace, kind, name, since=since):
                yield line

    async def previous_logs(
        self, namespace: str, pod: str, container: str, tail: int = PREVIOUS_TAIL
    ) -> list[LogLine]:
        """The last lines of the container's previous run (kubectl logs --previous)."""
        query = {"container": container, "previous": True, "timestamps": True, "tailLines": tail}
        text = await self._text(path_of("pods", namespace, pod, "log"), query)
        source = f"{pod}/{container} (previous)"
        return [self._log_line(source, raw) for raw in text.splitlines() if raw]

    def _log_line(self, source: str, raw: str) -> LogLine:
        stamp, _, text = raw.partition(" ")
        when = parse_time(stamp)
        if when is None:
            when, text = utc_now(), raw
        text = redact(sanitize(text))
        return LogLine(when, source, level_of(text), text)

    async def pod_logs(
        self,
        namespace: str,
        pod: str,
        containers: list[str] | None = None,
        *,
        since: datetime | None = None,
    ) -> AsyncIterator[LogLine]:
        """A pod's containers followed and merged; restarted ones show their previous run."""
        try:
            obj = await self._get("pods", namespace, pod)
        except Exception as error:
            yield LogLine(utc_now(), pod, "error", f"no logs: {self.describe_error(error)}")
            return
        names = containers or [c["name"] for c in obj["spec"].get("containers") or []]
        restarted = {
            s["name"]
            for s in obj.get("status", {}).get("containerStatuses") or []
            if s.get("restartCount") or (s.get("lastState") or {}).get("terminated")
        }
        for name in names:
            if name in restarted:
                with contextlib.suppress(Exception):  # no previous run kept: nothing to show
                    for line in await self.previous_logs(namespace, pod, name):
                        yield line
        sources = [self._follow(namespace, pod, name, since, len(names) > 1) for name in names]
        async for line in merge(sources) if len(sources) > 1 else sources[0]:
            yield line

    async def _follow(
        self, namespace: str, pod: str, container: str, since: datetime | None, named: bool
    ) -> AsyncIterator[LogLine]:
        source = f"{pod}/{container}" if named else pod
        last = ""
        failing = False
        while True:
            query: dict[str, Any] = {"container": container, "follow": True, "timestamps": True}
            if last:
                seconds = (utc_now() - (parse_time(last) or utc_now())).total_seconds()
                query["sinceSeconds"] = max(1, math.ceil(seconds) + 1)
            elif since is not None:
                query["sinceSeconds"] = max(1, math.ceil((utc_now() - since).total_seconds()))
            else:
                query["tailLines"] = FOLLOW_TAIL
            path = path_of("pods", namespace, pod, "log")
            opener = self._open(path, query, FOLLOW_READ_SECONDS)
            # A stream opened again starts seconds back: the lines up to the last one sent
            # were sent already. Within one stream every line is new.
            sent_up_to = precise_stamp(last) if last else None
            try:
                async for raw in stream_lines(opener):
                    if not raw:
                        continue
                    stamp = raw.partition(" ")[0]
                    if sent_up_to is not None:
                        if precise_stamp(stamp) <= sent_up_to:
                            continue
                        sent_up_to = None
                    last = stamp
                    if failing:
                        failing = False
                        yield LogLine(utc_now(), source, "info", "log stream back")
                    yield self._log_line(source, raw)
            except Exception as error:
                if api_status(error) == 404:
                    yield LogLine(utc_now(), source, "warn", f"pod {pod} is gone")
                    return
                if not failing:
                    failing = True
                    yield LogLine(
                        utc_now(),
                        source,
                        "error",
                        f"log stream lost: {self.describe_error(error)}; retrying",
                    )
            await asyncio.sleep(RETRY_SECONDS)  # the container ended or restarts: reopen

    async def workload_logs(
        self, namespace: str, kind: str, name: str, *, since: datetime | None = None
    ) -> AsyncIterator[LogLine]:
        """The pods of a deployment, statefulset or daemonset merged, new pods joining."""
        try:
            workload = await self._get(f"{kind}s", namespace, name)
        except Exception as error:
            yield LogLine(utc_now(), name, "error", f"no logs: {self.describe_error(error)}")
            return
        selector = selector_string(workload.get("spec", {}).get("selector"))
        queue: asyncio.Queue[LogLine] = asyncio.Queue()
        followed: dict[str, asyncio.Task[None]] = {}

        async def pump(pod: str) -> None:
            async for line in self.pod_logs(namespace, pod, since=since):
                await queue.put(line)

        async def watch() -> None:
            async for kind_, pod in self._pod_events(namespace, selector):
                pod_name = pod["metadata"]["name"] if pod else ""
                if kind_ == "DELETED":
                    task = followed.pop(pod_name, None)
                    if task:
                        task.cancel()
                    await queue.put(LogLine(utc_now(), pod_name, "warn", "pod deleted"))
                elif kind_ == "ERROR":
                    await queue.put(LogLine(utc_now(), name, "error", str(pod_name)))
                elif pod_name not in followed and pod.get("status", {}).get("containerStatuses"):
                    followed[pod_name] = asyncio.create_task(pump(pod_name))

        watcher = asyncio.create_task(watch())
        try:
            while True:
                yield await queue.get()
        finally:
            watcher.cancel()
            for task in followed.values():
                task.cancel()

    async def _pod_events(
        self, namespace: str, selector: str = ""
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """("SYNC", pod) for each listed pod then ("SYNCED", {}), then ("ADDED"|"MODIFIED"|
        "DELETED", pod) from a watch from the list's version; ("ERROR", {"metadata": {"name":
        message}}) once when the server is lost (then the list again when it is back)."""
        failing = False
        version = ""
        path = path_of("pods", namespace)
        query: dict[str, Any] = {"labelSelector": selector}
        while True:
            try:
                if not version:
                    listed = await self._request("GET", path, query)
                    version = listed["metadata"].get("resourceVersion", "")
                    failing = False
                    for pod in listed.get("items") or []:
                        yield "SYNC", pod
                    yield "SYNCED", {"metadata": {"name": ""}}
                watch = {
                    **query,
                    "watch": True,
                    "resourceVersion": version,
                    "timeoutSeconds": WATCH_SECONDS,
                    "allowWatchBookmarks": True,
                }
                opener = self._open(path, watch, WATCH_SECONDS + self.timeout)
                async for raw in stream_lines(opener):
                    if not raw.strip():
                        continue
                    event = json.loads(raw)
                    obj = event.get("object") or {}
                    if event.get("type") == "ERROR":  # 410 Gone: the version is too old
                        version = ""
                        break
                    version = obj.get("metadata", {}).get("resourceVersion", version)
                    if event.get("type") in ("ADDED", "MODIFIED", "DELETED"):
                        yield event["type"], obj
            except Exception as error:
                version = ""
                if not failing:
                    failing = True
                    text = f"watch lost: {self.describe_error(error)}; retrying"
                    yield "ERROR", {"metadata": {"name": text}}
                await asyncio.sleep(RETRY_SECONDS)

    async def watch_pods(self, namespace: str = "") -> AsyncIterator[LogLine]:
        """Pods of a namespace (or of every configured namespace) told as state changes."""
        if not namespace and self.namespaces_option():
            streams = [self.watch_pods(ns) for ns in self.namespaces_option()]
            async for line in merge(streams):
                yield line
            return
        where = f"namespace {namespace}" if namespace else "all namespaces"
        source = namespace or self.target.name
        seen: dict[str, tuple[Health, str]] = {}
        announced = False
        async for kind, pod in self._pod_events(namespace):
            if kind == "ERROR":
                yield LogLine(utc_now(), source, "error", pod["metadata"]["name"])
                announced = False
                continue
            key = f"{pod['metadata'].get('namespace', '')}/{pod['metadata']['name']}"
            label = f"pod/{pod['metadata']['name']}" if namespace else f"pod/{key}"
            if kind == "DELETED":
                seen.pop(key, None)
                yield LogLine(utc_now(), source, "warn", f"{label} deleted")
                continue
            if kind == "SYNCED":
                if not announced:
                    announced = True
                    bad = sum(1 for health, _ in seen.values() if health is not Health.OK)
                    yield LogLine(
                        utc_now(),
                        source,
                        "info",
                        f"watching pods in {where}: {counted(len(seen), 'pod')}, {bad} not ok",
                    )
                continue
            health, reason = pod_status(pod)
            before = seen.get(key)
            seen[key] = (health, reason)
            level = LEVELS.get(health, "info")
            if before is None and kind == "SYNC":
                if health is not Health.OK:
                    yield LogLine(utc_now(), source, level, f"{label}: {reason}")
            elif before is None:
                yield LogLine(utc_now(), source, level, f"{label} created: {reason}")
            elif before != (health, reason):
                text = f"{label}: {reason}"
                if health is Health.OK and before[0] is not Health.OK:
                    text = f"{label} ok again: {reason}"
                yield LogLine(utc_now(), source, level, text)
