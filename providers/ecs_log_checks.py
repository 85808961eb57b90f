"""Log search, mixed into the ecs provider: `aws logs tail GROUP --since 1h | grep -i error`.

One FilterLogEvents read of a log group (or the awslogs group of a service's task definition)
from a start time (`since`, default 1h) to now, following nextToken for at most MAX_PAGES
pages; never followed. `filter_pattern`, when given, is CloudWatch's own filter syntax and is
applied by the service; `pattern` is a case-insensitive regular expression applied here. The
newest `lines` events of the window are searched; the summary says when the read was cut.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from providers.aws_session import AwsSession
from providers.base import Finding, check
from providers.contract import ParamSpec
from providers.ecs_api import log_config
from providers.log_search import (
    SEARCH_PARAMS,
    LogSearch,
    compile_pattern,
    line_count,
    since_seconds,
    window_text,
)

MAX_PAGES = 10
PAGE_LIMIT = 1000
DEFAULT_SINCE = "1h"


class EcsLogChecks(AwsSession):
    """Mixed into the ecs provider."""

    async def _service_log_group(self, cluster: str, service: str) -> tuple[str, str]:
        """(group, stream prefix) of the first awslogs container of the service's definition."""
        answer = await self.aws("ecs", "describe_services", cluster=cluster, services=[service])
        services = answer.get("services") or []
        if not services:
            raise LookupError(f"no service {service} in cluster {cluster}")
        described = await self.aws(
            "ecs", "describe_task_definition", taskDefinition=services[0]["taskDefinition"]
        )
        for container in described["taskDefinition"].get("containerDefinitions", []):
            config = log_config(container)
            if config.get("group"):
                return config["group"], config["prefix"]
        raise LookupError(f"{cluster}/{service}: no container logs to CloudWatch (awslogs)")

    @check(
        "cloudwatch.log_search",
        "CloudWatch log events matching a pattern",
        "Reads a log group's events of the last hour (or `since`), or those of an ECS service's "
        "awslogs group (aws logs filter-log-events / aws logs tail --since, not followed), and "
        "reports the events that match a case-insensitive pattern.",
        applies_to=("ecs.service", "aws.account"),
        params={
            "group": ParamSpec("Log group name; default: the ECS service's awslogs group", str, ""),
            "stream_prefix": ParamSpec("Only streams whose name starts with this", str, ""),
            "filter_pattern": ParamSpec(
                "CloudWatch filter pattern, applied by the service", str, ""
            ),
            "cluster": ParamSpec("ECS cluster (with service, when no group is given)", str, ""),
            "service": ParamSpec("ECS service (with cluster, when no group is given)", str, ""),
            **SEARCH_PARAMS,
            "since": ParamSpec("Events newer than this (30s, 15m, 1h, 2d)", str, DEFAULT_SINCE),
        },
    )
    async def cloudwatch_log_search(self, params: Mapping[str, Any]) -> Finding:
        search = LogSearch(compile_pattern(params.get("pattern")))
        lines = line_count(params.get("lines"))
        since = since_seconds(params.get("since") or DEFAULT_SINCE) or 3600
        group, prefix = str(params.get("group") or ""), str(params.get("stream_prefix") or "")
        if not group:
            if not (params.get("cluster") and params.get("service")):
                raise ValueError("give group, or cluster and service")
            group, found_prefix = await self._service_log_group(
                str(params["cluster"]), str(params["service"])
            )
            prefix = prefix or found_prefix
        call: dict[str, Any] = {
            "logGroupName": group,
            "startTime": int((time.time() - since) * 1000),
            "limit": PAGE_LIMIT,
        }
        if prefix:
            call["logStreamNamePrefix"] = prefix
        if params.get("filter_pattern"):
            call["filterPattern"] = str(params["filter_pattern"])
        events, cut = await self._bounded_events(call)
        events.sort(key=lambda e: (int(e.get("timestamp", 0)), str(e.get("eventId", ""))))
        recent = events[-lines:]
        search.feed("", (str(e.get("message", "")).rstrip("\n") for e in recent))
        window = window_text(lines, since).replace(" per source", "")
        if cut:
            window += f"; the first {MAX_PAGES} pages only"
        return search.finding(group, window, group=group, truncated=cut)

    async def _bounded_events(self, call: dict[str, Any]) -> tuple[list[dict[str, Any]], bool]:
        """Events of at most MAX_PAGES pages, and whether more were left unread."""
        events: list[dict[str, Any]] = []
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            page = await self.aws("logs", "filter_log_events", **call)
            events.extend(page.get("events", []))
            token = page.get("nextToken")
            if not token or token in seen:
                return events, False
            seen.add(token)
            call = dict(call, nextToken=token)
        return events, True
