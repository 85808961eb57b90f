"""Pod checks, mixed into KubernetesProvider: what k8sgpt's pod analyzer and guide 004 look for.

Each takes the same scope: `namespace` (empty: every configured namespace), `selector` (a
label selector such as `app=planner-app`) and `pod` (one pod, within `namespace`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from providers.base import Finding, check
from providers.contract import CheckStatus, ParamSpec
from providers.kubernetes_client import KubernetesBase
from providers.kubernetes_state import (
    CONFIG_REASONS,
    PULL_REASONS,
    age_seconds,
    container_problems,
    crash_looping,
    is_ready,
    last_termination,
    name_of,
    namespace_of,
    optional_env,
    ready_counts,
    references,
    restarts,
    unschedulable,
)
from providers.units import counted

SCOPE = {
    "namespace": ParamSpec("Namespace; empty for every configured namespace", str, ""),
    "selector": ParamSpec("Label selector of the pods, such as app=web", str, ""),
    "pod": ParamSpec("One pod's name (with namespace)", str, ""),
}
POD_KINDS = (
    "k8s.cluster",
    "k8s.namespace",
    "k8s.deployment",
    "k8s.statefulset",
    "k8s.daemonset",
    "k8s.pod",
)


def scope_text(params: Mapping[str, Any]) -> str:
    parts = [f"pod/{params['pod']}" if params.get("pod") else "pods"]
    if params.get("selector"):
        parts.append(f"with {params['selector']}")
    parts.append(f"in {params['namespace']}" if params.get("namespace") else "in all namespaces")
    return " ".join(parts)


def _qualified(pod: Mapping[str, Any]) -> str:
    return f"{namespace_of(pod)}/{name_of(pod)}"


class KubernetesPodChecks(KubernetesBase):
    """Checks of pods: waiting reasons, pending, restarts, readiness, missing references."""

    async def _scoped_pods(self, params: Mapping[str, Any]) -> list[Any]:
        return await self.pods(params["namespace"], params["selector"], params["pod"])

    @check(
        "k8s.pod_waiting_reasons",
        "Containers waiting: CrashLoopBackOff, ImagePullBackOff, config errors",
        "Containers waiting for a reason other than starting, with the last termination reason "
        "and exit code (OOMKilled, Error 1) and the kubelet's message (kubectl describe pod).",
        applies_to=POD_KINDS,
        params=SCOPE,
    )
    async def pod_waiting_reasons(self, params: Mapping[str, Any]) -> Finding:
        pods = await self._scoped_pods(params)
        problems = [problem for pod in pods for problem in container_problems(pod)]
        oom = [
            f"{_qualified(pod)}"
            for pod in pods
            if "OOMKilled"
            in (last_termination(pod)[0], *(p.reason for p in container_problems(pod)))
        ]
        reasons = sorted({problem.reason for problem in problems})
        first = problems[0] if problems else None
        facts: dict[str, Any] = {
            "pods_checked": len(pods),
            "reasons": reasons,
            "pods": sorted({f"{p.namespace}/{p.pod}" for p in problems}),
            "containers": [problem.as_fact() for problem in problems],
            "last_termination_reasons": sorted(
                {p.last_termination_reason for p in problems if p.last_termination_reason}
            ),
            "oom_killed": bool(oom),
            "oom_killed_pods": oom,
            "reason": first.reason if first else "",
            "message": first.message if first else "",
            "last_termination_reason": first.last_termination_reason if first else "",
            "exit_code": first.exit_code if first else None,
            "restart_count": first.restart_count if first else 0,
            "image_pull": any(p.reason in PULL_REASONS for p in problems),
            "config_error": any(p.reason in CONFIG_REASONS for p in problems),
        }
        evidence = tuple(problem.describe() for problem in problems[:10])
        if not problems:
            if oom:
                return Finding(
                    CheckStatus.WARN,
                    f"no container waiting, but {', '.join(oom)} was OOMKilled last time",
                    facts,
                    tuple(f"{name}: last termination OOMKilled" for name in oom),
                )
            return Finding(
                CheckStatus.PASS,
                f"no container waiting among {len(pods)} {scope_text(params)}",
                facts,
            )
        summary = (
            f"{counted(len(facts['pods']), 'pod')} in trouble: {first.describe() if first else ''}"
        )
        return Finding(CheckStatus.FAIL, summary, facts, evidence)

    @check(
        "k8s.pending_pods",
        "Pods pending or unschedulable",
        "Pods in phase Pending; unschedulable ones with the scheduler's message "
        "(PodScheduled False, reason Unschedulable).",
        applies_to=POD_KINDS,
        params={
            **SCOPE,
            "grace_seconds": ParamSpec("Pending for longer than this warns", float, 120.0),
        },
    )
    async def pending_pods(self, params: Mapping[str, Any]) -> Finding:
        pods = await self._scoped_pods(params)
        pending = [pod for pod in pods if pod.get("status", {}).get("phase") == "Pending"]
        blocked = [(pod, unschedulable(pod)) for pod in pending if unschedulable(pod)]
        waited = [
            pod
            for pod in pending
            if not unschedulable(pod)
            and age_seconds(pod["metadata"].get("creationTimestamp")) > params["grace_seconds"]
        ]
        messages = [str(cond.get("message", "")) for _, cond in blocked if cond]
        facts = {
            "pods_checked": len(pods),
            "pending": len(pending),
            "pending_pods": [_qualified(pod) for pod in pending],
            "unschedulable": [_qualified(pod) for pod, _ in blocked],
            "reasons": sorted({str(cond.get("reason", "")) for _, cond in blocked if cond}),
            "message": messages[0] if messages else "",
            "messages": messages,
        }
        evidence = tuple(
            f"pod/{name_of(pod)}: PodScheduled=False {cond.get('reason')}: {cond.get('message')}"
            for pod, cond in blocked
            if cond
        ) + tuple(f"pod/{name_of(pod)}: Pending (scheduled, not started)" for pod in waited)
        if blocked:
            return Finding(
                CheckStatus.FAIL,
                f"{counted(len(blocked), 'pod')} unschedulable: {messages[0] if messages else ''}",
                facts,
                evidence,
            )
        if waited:
            return Finding(
                CheckStatus.WARN,
                f"{counted(len(waited), 'pod')} pending for over {params['grace_seconds']:g}s",
                facts,
                evidence,
            )
        return Finding(CheckStatus.PASS, f"no pod pending among {len(pods)}", facts)

    @check(
        "k8s.restarts",
        "Container restarts over a threshold",
        "Pods whose containers restarted more than `threshold` times, with the last termination "
        "reason and exit code (kubectl get pods RESTARTS).",
        applies_to=POD_KINDS,
        params={**SCOPE, "threshold": ParamSpec("Restarts above which to warn", int, 3)},
    )
    async def restarts(self, params: Mapping[str, Any]) -> Finding:
        pods = await self._scoped_pods(params)
        counts = {_qualified(pod): restarts(pod) for pod in pods}
        over = [pod for pod in pods if restarts(pod) > int(params["threshold"])]
        worst_pod = max(pods, key=restarts, default=None)
        reason, code = last_termination(worst_pod) if worst_pod else ("", None)
        facts = {
            "pods_checked": len(pods),
            "restart_count": restarts(worst_pod) if worst_pod else 0,
            "restarts": counts,
            "over_threshold": [_qualified(pod) for pod in over],
            "threshold": int(params["threshold"]),
            "last_termination_reason": reason,
            "exit_code": code,
        }
        evidence = tuple(
            f"pod/{name_of(pod)}: {restarts(pod)} restarts, last termination "
            f"{last_termination(pod)[0] or '?'} (exit code {last_termination(pod)[1]})"
            for pod in sorted(over, key=restarts, reverse=True)[:10]
        )
        if over:
            top = max(over, key=restarts)
            return Finding(
                CheckStatus.WARN,
                f"{counted(len(over), 'pod')} restarted over {params['threshold']} times; "
                f"pod/{name_of(top)}: {restarts(top)} (last: {reason or '?'}, exit code {code})",
                facts,
                evidence,
            )
        return Finding(CheckStatus.PASS, f"restarts within {params['threshold']}", facts)

    @check(
        "k8s.unready_pods",
        "Running pods that are not ready",
        "Running pods whose Ready condition is False, with the latest Unhealthy event (the "
        "failing readiness or liveness probe).",
        applies_to=POD_KINDS,
        params=SCOPE,
    )
    async def unready_pods(self, params: Mapping[str, Any]) -> Finding:
        pods = await self._scoped_pods(params)
        running = [pod for pod in pods if pod.get("status", {}).get("phase") == "Running"]
        unready = [pod for pod in running if not is_ready(pod)]
        events = await asyncio.gather(
            *(
                self._items(
                    "events",
                    namespace_of(pod),
                    fieldSelector=f"involvedObject.name={name_of(pod)},reason=Unhealthy",
                )
                for pod in unready
            )
        )
        latest: list[str] = []
        evidence: list[str] = []
        for pod, found in zip(unready, events, strict=True):
            ready, total = ready_counts(pod)
            line = f"pod/{name_of(pod)}: Running, {ready}/{total} containers ready"
            found = sorted(found, key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime")))
            if found:
                message = str(found[-1].get("message", ""))
                latest.append(message)
                line += f"; Unhealthy: {message} (x{found[-1].get('count', 1)})"
            evidence.append(line)
        message = latest[0] if latest else ""
        facts = {
            "pods_checked": len(pods),
            "running": len(running),
            "ready": len(running) - len(unready),
            "unready": [_qualified(pod) for pod in unready],
            "unhealthy_message": message,
            "probe": message.split(" probe", 1)[0] if " probe" in message else "",
        }
        if unready:
            tail = f"; {message}" if message else ""
            return Finding(
                CheckStatus.FAIL,
                f"{len(unready)} of {len(running)} running pods not ready{tail}",
                facts,
                tuple(evidence),
            )
        return Finding(CheckStatus.PASS, f"all {len(running)} running pods ready", facts)

    @check(
        "k8s.missing_references",
        "Pods referencing secrets or configmaps that do not exist",
        "Secrets and configmaps (and their keys) that pods mount or read into their environment "
        "but that are missing (CreateContainerConfigError). Names and keys only, never values.",
        applies_to=POD_KINDS,
        params=SCOPE,
    )
    async def missing_references(self, params: Mapping[str, Any]) -> Finding:
        pods = await self._scoped_pods(params)
        namespaces = sorted({namespace_of(pod) for pod in pods})
        secrets: dict[tuple[str, str], set[str]] = {}
        configmaps: dict[tuple[str, str], set[str]] = {}
        for ns in namespaces:
            secret_items, configmap_items = await asyncio.gather(
                self._items("secrets", ns),
                self._items("configmaps", ns),
            )
            for item in secret_items:  # keep names and keys; the values are dropped here
                keys = set(item.get("data") or {}) | set(item.get("stringData") or {})
                secrets[(ns, name_of(item))] = keys
            for item in configmap_items:
                keys = set(item.get("data") or {}) | set(item.get("binaryData") or {})
                configmaps[(ns, name_of(item))] = keys
            del secret_items
        missing_secrets: set[str] = set()
        missing_configmaps: set[str] = set()
        missing_keys: set[str] = set()
        evidence: list[str] = []
        affected: set[str] = set()
        for pod in pods:
            ns = namespace_of(pod)
            for kind, name, key in references(pod):
                store = secrets if kind == "secret" else configmaps
                found = store.get((ns, name))
                if found is None:
                    (missing_secrets if kind == "secret" else missing_configmaps).add(name)
                    evidence.append(
                        f"pod/{name_of(pod)} needs {kind} {ns}/{name}, which does not exist"
                    )
                elif key and key not in found:
                    missing_keys.add(f"{kind}/{name}:{key}")
                    evidence.append(
                        f"pod/{name_of(pod)} needs key {key!r} of {kind} {ns}/{name}: not in it "
                        f"(it has {', '.join(sorted(found)) or 'no keys'})"
                    )
                else:
                    continue
                affected.add(_qualified(pod))
        # Optional references may be missing; but a pod that crashes without what one would
        # have filled in tells why (an application that reads the variable anyway).
        crashing_without: set[str] = set()
        for pod in pods:
            if not crash_looping(pod):
                continue
            ns = namespace_of(pod)
            for (kind, name), variables in optional_env(pod).items():
                if (ns, name) not in (secrets if kind == "secret" else configmaps):
                    crashing_without.update(variables)
                    evidence.append(
                        f"pod/{name_of(pod)} crashes, and the optional {kind} {ns}/{name} it "
                        f"reads {', '.join(variables)} from does not exist"
                    )
        facts = {
            "pods_checked": len(pods),
            "missing_secrets": sorted(missing_secrets),
            "missing_configmaps": sorted(missing_configmaps),
            "missing_keys": sorted(missing_keys),
            "pods": sorted(affected),
            "crashing_without": sorted(crashing_without),
        }
        if affected:
            what = [f"secret {n}" for n in sorted(missing_secrets)]
            what += [f"configmap {n}" for n in sorted(missing_configmaps)]
            what += [f"key {k}" for k in sorted(missing_keys)]
            return Finding(
                CheckStatus.FAIL,
                f"{counted(len(affected), 'pod')} reference what does not exist: {', '.join(what)}",
                facts,
                tuple(dict.fromkeys(evidence)),
            )
        if crashing_without:
            return Finding(
                CheckStatus.WARN,
                "pods crash while an optional secret or configmap they read does not exist "
                f"({', '.join(sorted(crashing_without))} left unset)",
                facts,
                tuple(dict.fromkeys(evidence)),
            )
        return Finding(
            CheckStatus.PASS,
            f"every secret and configmap {counted(len(pods), 'pod')} reference exists",
            facts,
        )
