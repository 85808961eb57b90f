"""Log search, mixed into KubernetesProvider: `kubectl logs -l app=web --tail N | grep -i error`.

The pods of the scope (a namespace, a label selector, or one pod) are read once each, every
container, through the pod's `log` subresource (`read_namespaced_pod_log`) with `tailLines`
and, when given, `sinceSeconds`; never followed. At most MAX_PODS pods are read, so a selector
that matches a thousand pods costs a bounded number of calls; the summary says when it cut.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from providers.base import Finding, check
from providers.contract import CheckStatus, ParamSpec
from providers.kubernetes_client import KubernetesBase, api_status, path_of
from providers.kubernetes_pod_checks import POD_KINDS, SCOPE, scope_text
from providers.kubernetes_state import name_of, namespace_of
from providers.log_search import (
    SEARCH_PARAMS,
    LogSearch,
    compile_pattern,
    line_count,
    since_seconds,
    window_text,
)
from providers.units import counted

MAX_PODS = 20


class KubernetesLogChecks(KubernetesBase):
    """The log search check of pods and workloads."""

    @check(
        "k8s.log_search",
        "Log lines matching a pattern",
        "Reads the recent log lines of the pods in scope, every container (kubectl logs -l "
        "SELECTOR --tail N --since D, not followed), and reports the lines that match a "
        "case-insensitive pattern.",
        applies_to=POD_KINDS,
        params={
            **SCOPE,
            "container": ParamSpec("Only this container of each pod", str, ""),
            "previous": ParamSpec(
                "Read the previous (crashed) run of each container (kubectl logs --previous)",
                bool,
                False,
            ),
            **SEARCH_PARAMS,
        },
    )
    async def log_search(self, params: Mapping[str, Any]) -> Finding:
        search = LogSearch(compile_pattern(params.get("pattern")))
        lines = line_count(params.get("lines"))
        since = since_seconds(params.get("since"))
        scope = scope_text(params)
        pods = await self.pods(params["namespace"], params["selector"], params["pod"])
        if not pods:
            return Finding(CheckStatus.FAIL, f"no {scope}", {"count": 0, "pods": 0})
        read = pods[:MAX_PODS]
        wanted = str(params.get("container") or "")
        sources = [
            (pod, container)
            for pod in read
            for container in [c["name"] for c in pod.get("spec", {}).get("containers") or []]
            if not wanted or container == wanted
        ]
        if not sources:
            return Finding(CheckStatus.FAIL, f"{scope}: no container named {wanted}", {"count": 0})
        texts = await asyncio.gather(
            *(
                self._recent_log(pod, container, lines, since, bool(params.get("previous")))
                for pod, container in sources
            )
        )
        several = len(sources) > 1
        no_previous = []
        for (pod, container), text in zip(sources, texts, strict=True):
            many = len(pod["spec"]["containers"]) > 1
            source = f"{name_of(pod)}/{container}" if many else name_of(pod)
            if text is None:
                no_previous.append(source)
                continue
            search.feed(source if several else "", text.splitlines())
        window = window_text(lines, since)
        if params.get("previous"):
            window += f"; previous runs, {len(no_previous)} containers had none"
        if len(pods) > len(read):
            window += f"; {len(read)} of {counted(len(pods), 'pod')} read"
        return search.finding(scope, window, pods=len(read), no_previous_run=no_previous)

    async def _recent_log(
        self, pod: Mapping[str, Any], container: str, lines: int, since: int | None, previous: bool
    ) -> str | None:
        """The lines of one container; None when `previous` and it has no previous run."""
        query: dict[str, Any] = {"container": container, "tailLines": lines}
        if previous:
            query["previous"] = True
        if since is not None:
            query["sinceSeconds"] = since
        path = path_of("pods", namespace_of(pod), name_of(pod), "log")
        try:
            return await self._text(path, query)
        except Exception as error:
            if previous and api_status(error) == 400:  # this container never restarted
                return None
            raise
