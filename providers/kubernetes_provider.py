"""Kubernetes through the official client: namespaces, their workloads and pods, checks, logs.

One target is one cluster context (`options: {context, kubeconfig, namespaces}`). This module
holds discovery's calls (all namespaces: one cluster-wide list per kind; else per namespace);
the tree they make is `kubernetes_tree`, the connection `kubernetes_client`, the checks
`kubernetes_pod_checks` and `kubernetes_workload_checks`, the fixes `kubernetes_actions`, the
streams `kubernetes_logs`, and what an object's JSON means `kubernetes_state`. Importing it does
not import `kubernetes`.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Mapping
from typing import Any

from providers.base import CommandTarget, Provider
from providers.contract import CheckCall, Health, Node, Status
from providers.kubernetes_actions import KubernetesActions
from providers.kubernetes_client import KubernetesBase, api_status, kubeconfig_paths
from providers.kubernetes_event_checks import KubernetesEventChecks
from providers.kubernetes_log_checks import KubernetesLogChecks
from providers.kubernetes_logs import KubernetesLogs
from providers.kubernetes_pod_checks import KubernetesPodChecks
from providers.kubernetes_state import namespace_of, worst
from providers.kubernetes_tree import NAMESPACE_CHECKS, WORKLOADS, namespace_node
from providers.kubernetes_workload_checks import KubernetesWorkloadChecks

# What discovery lists in each namespace: pods, then the workloads in the order of WORKLOADS.
LISTED = ("pods", *(f"{resource}s" for resource, _ in WORKLOADS))
# resource -> namespace -> its objects, from cluster-wide lists; None where one was forbidden.
ClusterLists = dict[str, dict[str, list[Any]] | None]


# The catalogue lists checks and actions in the order of these mixins.
class KubernetesProvider(
    KubernetesPodChecks,
    KubernetesWorkloadChecks,
    KubernetesEventChecks,
    KubernetesLogChecks,
    KubernetesActions,
    KubernetesLogs,
    KubernetesBase,
    Provider,
):
    """One cluster context; its namespaces, their workloads and their pods are the tree."""

    kind = "kubernetes"
    root_logs_are_changes = True  # engine events / pod watches
    command_tools = ("kubectl", "helm")
    command_variables = ("KUBECONFIG",)
    command_shadows = ("KUBECONFIG",)

    async def command_target(self, params: Mapping[str, Any]) -> CommandTarget:
        """KUBECONFIG with, first, a file that only names this target's context: kubectl takes
        current-context from the first file that sets it, and reads no variable for it."""
        paths = kubeconfig_paths(self.target.options)
        _, context = await asyncio.to_thread(self._configuration)
        url = self.target.url if isinstance(self.target.url, str) else None
        chooser: dict[str, Any] = {"apiVersion": "v1", "kind": "Config"}
        if paths:
            chooser.update(
                {"current-context": context, "clusters": [], "contexts": [], "users": []}
            )
        elif url:  # no kubeconfig: the API server's address alone, as discovery used it
            chooser.update(
                {
                    "current-context": context,
                    "clusters": [{"name": context, "cluster": {"server": url}}],
                    "contexts": [{"name": context, "context": {"cluster": context}}],
                    "users": [],
                }
            )
        else:  # in the cluster: kubectl finds its service account by itself
            return CommandTarget(self.target.name, self.kind, self.address)
        files = {"kubeconfig-context.json": json.dumps(chooser)}
        joined = os.pathsep.join(["{files}/kubeconfig-context.json", *map(str, paths)])
        return CommandTarget(
            self.target.name,
            self.kind,
            f"{self.address}, context {context}",
            variables={"KUBECONFIG": joined},
            files=files,
        )

    def root_checks(self) -> tuple[CheckCall, ...]:
        return tuple(CheckCall(name) for name in NAMESPACE_CHECKS)

    async def discover(self) -> Node:
        name = f"{self.target.name} ({self.context or '?'} @ {self.address})"
        try:
            async with asyncio.timeout(self.timeout):
                version, namespaces, cluster = await first_error(
                    self._request("GET", "/version/"), self.namespaces(), self._cluster_lists()
                )
                contents = await asyncio.gather(*(self._contents(ns, cluster) for ns in namespaces))
                # 2,000 pods take a while to turn into nodes: not on the loop that draws the UI.
                children = await asyncio.to_thread(self._namespaces, namespaces, contents)
        except TimeoutError:
            status = Status(Health.FAILING, f"{self.address}: no answer within {self.timeout:g}s")
            return self._root(name, status, ())
        except Exception as error:  # the tree shows why, instead of failing discovery
            return self._root(name, Status(Health.FAILING, self.describe_error(error)), ())
        health = worst(child.status.health for child in children)
        troubled = [child for child in children if child.status.health is not Health.OK]
        reason = f"Kubernetes {version.get('gitVersion', '?')}, {len(children)} namespaces"
        if troubled:
            reason = "; ".join(f"{child.name}: {child.status.reason}" for child in troubled[:2])
        return self._root(name, Status(health, reason), tuple(children))

    def _root(self, name: str, status: Status, children: tuple[Node, ...]) -> Node:
        return Node(
            id=self.root_id,
            kind="k8s.cluster",
            name=name,
            status=status,
            children=children,
            checks=self.root_checks(),
            has_logs=True,
            detail=self.context,
        )

    async def _cluster_lists(self) -> ClusterLists:
        """Pods and workloads of all namespaces, a list of each, unless namespaces are set.

        One list per kind instead of one per kind and namespace (50 namespaces: 4 lists, not
        200). A list the account may not make cluster-wide (403) is None: its objects are then
        listed in each namespace, as they would be with namespaces set.
        """
        if self.namespaces_option():
            return {}
        lists = await asyncio.gather(*(self._cluster_list(resource) for resource in LISTED))
        return dict(zip(LISTED, lists, strict=True))

    async def _cluster_list(self, resource: str) -> dict[str, list[Any]] | None:
        try:
            items = await self._items(resource)
        except Exception as error:
            if api_status(error) != 403:
                raise
            return None  # forbidden cluster-wide: the caller lists it in each namespace
        grouped: dict[str, list[Any]] = {}
        for item in items:
            grouped.setdefault(namespace_of(item), []).append(item)
        return grouped

    async def _contents(self, namespace: str, cluster: ClusterLists) -> list[list[Any]]:
        """The namespace's pods, deployments, statefulsets and daemonsets (in LISTED order)."""

        async def listed(resource: str) -> list[Any]:
            grouped = cluster.get(resource)
            if grouped is None:
                return await self._items(resource, namespace)
            return grouped.get(namespace, [])

        return list(await asyncio.gather(*(listed(resource) for resource in LISTED)))

    def _namespaces(self, namespaces: list[str], contents: list[list[list[Any]]]) -> list[Node]:
        """The namespaces' nodes (in a worker thread: pure work on the listed objects)."""
        children = []
        for namespace, (pods, *lists) in zip(namespaces, contents, strict=True):
            workloads = [
                (resource, item)
                for (resource, _), found in zip(WORKLOADS, lists, strict=True)
                for item in found
            ]
            children.append(namespace_node(self.root_id, namespace, pods, workloads))
        return children


async def first_error(*calls: Awaitable[Any]) -> list[Any]:
    """The answers of calls made at once; if any failed, the error of the first that did.

    All are awaited, so which error shows does not depend on which failed soonest: a server
    that refuses /version is reported for /version, as when the calls were made in turn.
    """
    answers = await asyncio.gather(*calls, return_exceptions=True)
    for answer in answers:
        if isinstance(answer, BaseException):
            raise answer
    return answers
