"""Workload, service, event and usage checks, mixed into KubernetesProvider.

What k8sgpt's deployment and service analyzers detect (replicas vs ready, a service without
ready endpoints), the HPA at its maximum (guide 004's `kubectl get hpa`), an object's Warning
events (`kubectl describe`), and usage from the metrics API (`kubectl top pods`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from providers.base import Finding, check
from providers.contract import CheckStatus, ParamSpec
from providers.kubernetes_client import KubernetesBase
from providers.kubernetes_state import (
    condition,
    name_of,
    namespace_of,
    workload_counts,
)
from providers.units import counted

NAMESPACE = ParamSpec("Namespace; empty for every configured namespace", str, "")
NAME = ParamSpec("One object's name (with namespace); empty for all", str, "")
WORKLOAD_KINDS = {
    "deployment": "Deployment",
    "statefulset": "StatefulSet",
    "daemonset": "DaemonSet",
}
GROUP_KINDS = ("k8s.cluster", "k8s.namespace")


class KubernetesWorkloadChecks(KubernetesBase):
    """Checks of deployments, HPAs, services, events and resource usage."""

    @check(
        "k8s.deployment_replicas",
        "Workload replicas: desired vs ready",
        "Deployments (or statefulsets, daemonsets) with fewer ready replicas than desired, with "
        "their Available and Progressing conditions (ProgressDeadlineExceeded).",
        applies_to=(*GROUP_KINDS, "k8s.deployment", "k8s.statefulset", "k8s.daemonset"),
        params={
            "namespace": NAMESPACE,
            "name": NAME,
            "kind": ParamSpec("deployment, statefulset or daemonset", str, "deployment"),
        },
    )
    async def deployment_replicas(self, params: Mapping[str, Any]) -> Finding:
        resource = str(params["kind"]).lower()
        if resource not in WORKLOAD_KINDS:
            raise ValueError(f"kind is one of {', '.join(WORKLOAD_KINDS)}, not {resource!r}")
        if params["name"]:
            items = [await self._get(f"{resource}s", params["namespace"], params["name"])]
        else:
            items = await self.list_in(f"{resource}s", params["namespace"])
        rows: list[dict[str, Any]] = []
        for item in items:
            desired, ready = workload_counts(item)
            status = item.get("status", {})
            rows.append(
                {
                    "name": f"{namespace_of(item)}/{name_of(item)}",
                    "desired": desired,
                    "ready": ready,
                    "available": int(
                        status.get("availableReplicas", status.get("numberAvailable", 0))
                    ),
                    "updated": int(
                        status.get("updatedReplicas", status.get("updatedNumberScheduled", 0))
                    ),
                    "conditions": {
                        c["type"]: f"{c.get('status')} {c.get('reason', '')}".strip()
                        for c in status.get("conditions") or []
                    },
                    "message": str(
                        (condition(item, "Progressing") or {}).get("message", "")
                        if (condition(item, "Progressing") or {}).get("status") == "False"
                        else (condition(item, "Available") or {}).get("message", "")
                    ),
                }
            )
        short = [row for row in rows if row["ready"] < row["desired"]]
        first = short[0] if short else (rows[0] if len(rows) == 1 else None)
        facts: dict[str, Any] = {
            "workloads": rows,
            "short": [row["name"] for row in short],
            "desired": first["desired"] if first else sum(r["desired"] for r in rows),
            "ready": first["ready"] if first else sum(r["ready"] for r in rows),
            "available": first["available"] if first else sum(r["available"] for r in rows),
            "unavailable": sum(r["desired"] - r["ready"] for r in short),
            "reasons": sorted(
                {
                    v.split(" ", 1)[-1]
                    for r in short
                    for v in r["conditions"].values()
                    if v.startswith("False")
                }
            ),
        }
        evidence = tuple(
            f"{resource}/{row['name']}: {row['ready']}/{row['desired']} ready, "
            f"{row['available']} available, {row['updated']} updated; "
            + ", ".join(f"{k}={v}" for k, v in row["conditions"].items())
            for row in (short or rows)[:10]
        )
        if not short:
            return Finding(
                CheckStatus.PASS,
                f"{len(rows)} {resource}s have every desired replica ready",
                facts,
                evidence,
            )
        status = CheckStatus.FAIL if any(r["ready"] == 0 for r in short) else CheckStatus.WARN
        top = short[0]
        return Finding(
            status,
            f"{resource}/{top['name']}: {top['ready']}/{top['desired']} ready"
            + (f" ({len(short) - 1} more short)" if len(short) > 1 else ""),
            facts,
            evidence,
        )

    @check(
        "k8s.hpa_at_max",
        "Horizontal pod autoscalers at their maximum",
        "HPAs whose current replicas reached maxReplicas (ScalingLimited): load beyond what the "
        "autoscaler may add (kubectl get hpa).",
        applies_to=(*GROUP_KINDS, "k8s.deployment"),
        params={"namespace": NAMESPACE, "name": NAME},
    )
    async def hpa_at_max(self, params: Mapping[str, Any]) -> Finding:
        if params["name"]:
            items = [
                await self._get("horizontalpodautoscalers", params["namespace"], params["name"])
            ]
        else:
            items = await self.list_in("horizontalpodautoscalers", params["namespace"])
        at_max: list[dict[str, Any]] = []
        evidence: list[str] = []
        for item in items:
            spec, status = item.get("spec", {}), item.get("status", {})
            current, maximum = (
                int(status.get("currentReplicas", 0)),
                int(spec.get("maxReplicas", 0)),
            )
            target = spec.get("scaleTargetRef", {})
            metrics = []
            for metric in status.get("currentMetrics") or []:
                resource = metric.get("resource") or {}
                now = resource.get("current", {})
                if "averageUtilization" in now:
                    metrics.append(f"{resource.get('name')} {now['averageUtilization']}%")
            wanted = [
                f"{m['resource']['name']} {m['resource']['target'].get('averageUtilization')}%"
                for m in spec.get("metrics") or []
                if m.get("type") == "Resource" and "averageUtilization" in m["resource"]["target"]
            ]
            row = {
                "name": f"{namespace_of(item)}/{name_of(item)}",
                "target": f"{target.get('kind', '').lower()}/{target.get('name', '')}",
                "current_replicas": current,
                "min_replicas": int(spec.get("minReplicas", 1)),
                "max_replicas": maximum,
                "metrics": metrics,
                "targets": wanted,
            }
            line = (
                f"hpa/{row['name']} -> {row['target']}: {current} replicas (min "
                f"{row['min_replicas']}, max {maximum}); now {', '.join(metrics) or '?'}, "
                f"target {', '.join(wanted) or '?'}"
            )
            evidence.append(line)
            if maximum and current >= maximum:
                at_max.append(row)
        first = at_max[0] if at_max else None
        facts = {
            "hpas": len(items),
            "at_max": [row["name"] for row in at_max],
            "targets_at_max": [row["target"] for row in at_max],
            "current_replicas": first["current_replicas"] if first else None,
            "max_replicas": first["max_replicas"] if first else None,
            "metrics": first["metrics"] if first else [],
        }
        if first:
            return Finding(
                CheckStatus.WARN,
                f"hpa/{first['name']} at its maximum: {first['current_replicas']}/"
                f"{first['max_replicas']} replicas ({', '.join(first['metrics']) or 'no metrics'})",
                facts,
                tuple(evidence),
            )
        return Finding(
            CheckStatus.PASS,
            f"{counted(len(items), 'HPA')} below their maximum",
            facts,
            tuple(evidence),
        )

    @check(
        "k8s.service_endpoints",
        "Services without ready endpoints",
        "Services with a selector whose Endpoints hold no ready address: nothing behind them "
        "receives traffic (502/503 at the ingress).",
        applies_to=(*GROUP_KINDS, "k8s.deployment"),
        params={"namespace": NAMESPACE, "name": NAME},
    )
    async def service_endpoints(self, params: Mapping[str, Any]) -> Finding:
        ns, name = params["namespace"], params["name"]
        if name:
            services = [await self._get("services", ns, name)]
            endpoints = [await self._get("endpoints", ns, name)]
        else:
            services, endpoints = await asyncio.gather(
                self.list_in("services", ns), self.list_in("endpoints", ns)
            )
        by_name = {(namespace_of(e), name_of(e)): e for e in endpoints}
        empty, evidence = [], []
        checked = 0
        for service in services:
            spec = service.get("spec", {})
            if spec.get("type") == "ExternalName" or not spec.get("selector"):
                continue
            checked += 1
            found = by_name.get((namespace_of(service), name_of(service)), {})
            ready = sum(len(s.get("addresses") or []) for s in found.get("subsets") or [])
            not_ready = sum(
                len(s.get("notReadyAddresses") or []) for s in found.get("subsets") or []
            )
            selector = ",".join(f"{k}={v}" for k, v in sorted(spec["selector"].items()))
            line = (
                f"service/{namespace_of(service)}/{name_of(service)} (selector {selector}): "
                f"{ready} ready, {not_ready} not ready addresses"
            )
            evidence.append(line)
            if not ready:
                empty.append(
                    {
                        "name": f"{namespace_of(service)}/{name_of(service)}",
                        "selector": selector,
                        "not_ready_addresses": not_ready,
                    }
                )
        first = empty[0] if empty else None
        facts = {
            "services_checked": checked,
            "without_endpoints": [row["name"] for row in empty],
            "selector": first["selector"] if first else "",
            "not_ready_addresses": first["not_ready_addresses"] if first else 0,
        }
        if first:
            why = (
                f"{first['not_ready_addresses']} addresses not ready"
                if first["not_ready_addresses"]
                else f"no pod matches {first['selector']}"
            )
            return Finding(
                CheckStatus.FAIL,
                f"service/{first['name']} has no ready endpoints ({why})",
                facts,
                tuple(evidence),
            )
        return Finding(
            CheckStatus.PASS, f"{checked} services have ready endpoints", facts, tuple(evidence)
        )
