"""Kubernetes actions, mixed into KubernetesProvider: rollout restart, scale, delete a pod.

Planning reads the object (its replicas, its pods, its owner) so the preview says exactly what
will change; only `apply` writes, the way kubectl does it (the restartedAt annotation on the pod
template, the /scale subresource, a DELETE of the pod).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from providers.base import ActionPlan, action
from providers.contract import ActionOutcome, ActionPreview, ParamSpec
from providers.kubernetes_client import KubernetesBase, owner, path_of
from providers.kubernetes_state import selector_string, workload_counts
from providers.units import counted

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
KIND = ParamSpec("deployment, statefulset or daemonset", str, "deployment")
NAMESPACE = ParamSpec("Namespace", str, required=True)
NAME = ParamSpec("Workload name", str, required=True)
RESOURCES = ("deployment", "statefulset", "daemonset")


def _resource(params: Mapping[str, Any], allowed: tuple[str, ...] = RESOURCES) -> str:
    resource = str(params.get("kind") or "deployment").lower()
    if resource not in allowed:
        raise ValueError(f"kind is one of {', '.join(allowed)}, not {resource!r}")
    return resource


class KubernetesActions(KubernetesBase):
    """Fixes: rollout restart, scale, delete a pod."""

    async def _pods_of(self, workload: Mapping[str, Any], namespace: str) -> list[str]:
        selector = selector_string(workload.get("spec", {}).get("selector"))
        if not selector:
            return []
        return [p["metadata"]["name"] for p in await self.pods(namespace, selector)]

    @action(
        "k8s.rollout_restart",
        "Rollout restart (replace every pod, one by one)",
        destructive=False,
        params={"namespace": NAMESPACE, "name": NAME, "kind": KIND},
    )
    async def rollout_restart(self, params: Mapping[str, Any]) -> ActionPlan:
        """kubectl rollout restart: sets the restartedAt annotation of the pod template."""
        resource, ns, name = _resource(params), params["namespace"], params["name"]
        workload = await self._get(f"{resource}s", ns, name)
        pods = await self._pods_of(workload, ns)
        desired, ready = workload_counts(workload)
        target = f"{resource}/{name}"
        summary = (
            f"rollout restart {target} in {ns}: replace its {counted(len(pods), 'pod')} "
            f"({ready}/{desired} ready now)"
        )

        async def apply() -> ActionOutcome:
            stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            patch = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}
            await self._request("PATCH", path_of(f"{resource}s", ns, name), body=patch)
            return ActionOutcome(
                "k8s.rollout_restart", target, True, f"{target} in {ns} restarted at {stamp}"
            )

        preview = ActionPreview(
            "k8s.rollout_restart",
            target,
            summary,
            destructive=False,
            touches=tuple(f"pod/{pod}" for pod in pods),
            counts={"pods": len(pods)},
        )
        return ActionPlan(preview, apply)

    @action(
        "k8s.scale",
        "Scale a deployment or statefulset",
        destructive=False,
        params={
            "namespace": NAMESPACE,
            "name": NAME,
            "replicas": ParamSpec("The new number of replicas", int, required=True),
            "kind": KIND,
        },
    )
    async def scale(self, params: Mapping[str, Any]) -> ActionPlan:
        """kubectl scale: writes spec.replicas through the /scale subresource."""
        resource = _resource(params, ("deployment", "statefulset"))
        ns, name, replicas = params["namespace"], params["name"], int(params["replicas"])
        if replicas < 0:
            raise ValueError("replicas must be 0 or more")
        current = await self._get(f"{resource}s", ns, name, "scale")
        before = int(current.get("spec", {}).get("replicas", 0))
        target = f"{resource}/{name}"
        summary = f"scale {target} in {ns} from {before} to {replicas} replicas"
        if before == replicas:
            summary = f"{target} in {ns} already has {replicas} replicas; nothing changes"

        async def apply() -> ActionOutcome:
            body = {"spec": {"replicas": replicas}}
            done = await self._request(
                "PATCH", path_of(f"{resource}s", ns, name, "scale"), body=body
            )
            now = int(done.get("spec", {}).get("replicas", -1))
            return ActionOutcome(
                "k8s.scale",
                target,
                now == replicas,
                f"{target} in {ns} scaled from {before} to {now} replicas",
            )

        preview = ActionPreview(
            "k8s.scale",
            target,
            summary,
            destructive=False,
            touches=(f"{target} in {ns}",),
            counts={"from": before, "to": replicas},
        )
        return ActionPlan(preview, apply)

    @action(
        "k8s.delete_pod",
        "Delete a pod (its controller, if any, makes a new one)",
        destructive=True,
        params={"namespace": NAMESPACE, "pod": ParamSpec("Pod name", str, required=True)},
    )
    async def delete_pod(self, params: Mapping[str, Any]) -> ActionPlan:
        """kubectl delete pod. Preview target (the word to type): the pod's name."""
        ns, name = params["namespace"], params["pod"]
        pod = await self._get("pods", ns, name)
        controller = owner(pod)
        phase = pod.get("status", {}).get("phase", "Unknown")
        if controller:
            after = f"{controller[0]} {controller[1]} will create a replacement"
        else:
            after = "no controller owns it: it will NOT come back"
        summary = f"delete pod {name} in {ns} ({phase}); {after}"

        async def apply() -> ActionOutcome:
            await self._request("DELETE", path_of("pods", ns, name))
            return ActionOutcome("k8s.delete_pod", name, True, f"pod {name} in {ns} deleted")

        preview = ActionPreview(
            "k8s.delete_pod",
            name,
            summary,
            destructive=True,
            touches=(f"pod/{name} in {ns}",),
            counts={"pods": 1},
        )
        return ActionPlan(preview, apply)
