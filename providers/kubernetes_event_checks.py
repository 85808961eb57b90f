"""Event and usage checks, mixed into KubernetesProvider: an object's Warning events (`kubectl
describe ... Events`) and usage from the metrics API against limits (`kubectl top pods`).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping
from typing import Any

from providers.base import Finding, check
from providers.contract import CheckStatus, ParamSpec
from providers.kubernetes_client import KubernetesBase, api_status
from providers.kubernetes_pod_checks import POD_KINDS, SCOPE
from providers.kubernetes_state import name_of, namespace_of, quantity
from providers.kubernetes_workload_checks import GROUP_KINDS, NAMESPACE
from providers.units import human_bytes


def _object(event: Mapping[str, Any]) -> str:
    involved = event.get("involvedObject") or {}
    return f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}"


class KubernetesEventChecks(KubernetesBase):
    """Checks of events and resource usage."""

    @check(
        "k8s.warning_events",
        "Warning events",
        "Warning events of a namespace or of one object (kubectl describe ... Events), counted "
        "by reason, newest first.",
        applies_to=(*GROUP_KINDS, "k8s.deployment", "k8s.statefulset", "k8s.daemonset", "k8s.pod"),
        params={
            "namespace": NAMESPACE,
            "name": ParamSpec("Only events of the object of this name", str, ""),
            "kind": ParamSpec("Only events of objects of this kind (Pod, Deployment)", str, ""),
        },
    )
    async def warning_events(self, params: Mapping[str, Any]) -> Finding:
        selector = ["type=Warning"]
        if params["name"]:
            selector.append(f"involvedObject.name={params['name']}")
        if params["kind"]:
            selector.append(f"involvedObject.kind={params['kind']}")
        events = await self.list_in("events", params["namespace"], fieldSelector=",".join(selector))
        events.sort(
            key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""), reverse=True
        )
        reasons = Counter[str]()
        for event in events:
            reasons[str(event.get("reason", ""))] += int(event.get("count") or 1)
        objects = sorted({_object(e) for e in events})
        evidence = tuple(
            f"{e.get('lastTimestamp') or e.get('eventTime') or ''} Warning {e.get('reason')} "
            f"{_object(e)}: "
            f"{e.get('message', '')} (x{e.get('count') or 1})"
            for e in events[:15]
        )
        latest = events[0] if events else {}
        facts = {
            "count": len(events),
            "reasons": dict(reasons),
            "objects": objects,
            "latest_reason": str(latest.get("reason", "")),
            "latest_message": str(latest.get("message", "")),
            "messages": [str(e.get("message", "")) for e in events[:15]],
        }
        if events:
            return Finding(
                CheckStatus.WARN,
                f"{len(events)} Warning events: "
                + ", ".join(f"{r} x{n}" for r, n in reasons.most_common(4)),
                facts,
                evidence,
            )
        return Finding(CheckStatus.PASS, "no Warning events", facts)

    @check(
        "k8s.resource_usage",
        "CPU and memory usage against limits",
        "Usage from the metrics API (kubectl top pods) against each container's limits; "
        "skipped when metrics-server is not installed.",
        applies_to=POD_KINDS,
        params={
            **SCOPE,
            "warn_ratio": ParamSpec("Share of a limit above which to warn", float, 0.9),
        },
    )
    async def resource_usage(self, params: Mapping[str, Any]) -> Finding:
        pods = await self.pods(params["namespace"], params["selector"], params["pod"])
        namespaces = sorted({namespace_of(pod) for pod in pods})
        try:
            lists = await asyncio.gather(*(self._items("podmetrics", ns) for ns in namespaces))
        except Exception as error:
            if api_status(error) in (404, 503):
                return Finding(
                    CheckStatus.SKIPPED,
                    "metrics unavailable: the metrics API (metrics-server) does not answer",
                    {"metrics_available": False, "pods_checked": len(pods)},
                    (self.describe_error(error),),
                )
            raise
        usage = {(namespace_of(m), name_of(m)): m for found in lists for m in found}
        rows, evidence, hot = {}, [], []
        ratio = float(params["warn_ratio"])
        for pod in pods:
            metrics = usage.get((namespace_of(pod), name_of(pod)))
            if metrics is None:
                continue
            limits = {
                c["name"]: (c.get("resources") or {}).get("limits") or {}
                for c in pod.get("spec", {}).get("containers") or []
            }
            for container in metrics.get("containers") or []:
                cpu = quantity(container["usage"].get("cpu"))
                memory = quantity(container["usage"].get("memory"))
                limit = limits.get(container["name"], {})
                cpu_limit, memory_limit = quantity(limit.get("cpu")), quantity(limit.get("memory"))
                key = f"{namespace_of(pod)}/{name_of(pod)}/{container['name']}"
                row = {
                    "cpu_millicores": round(cpu * 1000),
                    "memory_bytes": int(memory),
                    "cpu_limit_millicores": round(cpu_limit * 1000) if cpu_limit else None,
                    "memory_limit_bytes": int(memory_limit) if memory_limit else None,
                    "cpu_ratio": round(cpu / cpu_limit, 3) if cpu_limit else None,
                    "memory_ratio": round(memory / memory_limit, 3) if memory_limit else None,
                }
                rows[key] = row
                evidence.append(
                    f"{key}: cpu {row['cpu_millicores']}m"
                    + (f" of {row['cpu_limit_millicores']}m" if cpu_limit else " (no limit)")
                    + f", memory {human_bytes(memory)}"
                    + (f" of {human_bytes(memory_limit)}" if memory_limit else " (no limit)")
                )
                if any((row[k] or 0) >= ratio for k in ("cpu_ratio", "memory_ratio")):
                    hot.append(key)
        facts = {
            "metrics_available": True,
            "pods_checked": len(pods),
            "containers": rows,
            "over_ratio": hot,
            "max_memory_ratio": max((r["memory_ratio"] or 0 for r in rows.values()), default=0),
            "max_cpu_ratio": max((r["cpu_ratio"] or 0 for r in rows.values()), default=0),
        }
        if hot:
            return Finding(
                CheckStatus.WARN,
                f"{len(hot)} containers over {ratio:.0%} of a limit: {hot[0]}",
                facts,
                tuple(evidence),
            )
        return Finding(
            CheckStatus.PASS,
            f"{len(rows)} containers within {ratio:.0%} of their limits",
            facts,
            tuple(evidence),
        )
