"""Log search, mixed into ComposeProvider: `docker compose logs SERVICE | grep -i error`, bounded.

Each container of the scope is read once (`follow=False`) with `tail` and, when given, `since`:
a window of recent history, read within the check's timeout, never a stream. Both stdout and
stderr are read, in the order they were written (by their timestamps).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from providers.base import Finding, check
from providers.compose_checks import APPLIES_TO, SCOPE, no_containers
from providers.compose_model import ContainerView
from providers.log_search import (
    SEARCH_PARAMS,
    LogSearch,
    compile_pattern,
    line_count,
    since_seconds,
    window_text,
)

if TYPE_CHECKING:
    from docker import DockerClient


class ComposeLogChecks:
    """Mixed into ComposeProvider; relies on its `select`, `scope_name` and `client`."""

    if TYPE_CHECKING:

        def client(self) -> DockerClient: ...

        async def select(self, params: Mapping[str, Any]) -> list[ContainerView]: ...

        @staticmethod
        def scope_name(params: Mapping[str, Any]) -> str: ...

    @check(
        "compose.log_search",
        "Log lines matching a pattern",
        "Reads each container's recent log lines (docker compose logs --tail N --since D, not "
        "followed) and reports the lines that match a case-insensitive pattern.",
        applies_to=APPLIES_TO,
        params={**SCOPE, **SEARCH_PARAMS},
    )
    async def log_search(self, params: Mapping[str, Any]) -> Finding:
        search = LogSearch(compile_pattern(params.get("pattern")))
        lines = line_count(params.get("lines"))
        since = since_seconds(params.get("since"))
        views = await self.select(params)
        scope = self.scope_name(params)
        if not views:
            return no_containers(scope)
        read = await asyncio.gather(
            *(asyncio.to_thread(self._recent_lines, view.id, lines, since) for view in views)
        )
        for view, text in zip(views, read, strict=True):
            search.feed(view.name if len(views) > 1 else "", text)
        return search.finding(scope, window_text(lines, since))

    def _recent_lines(self, ident: str, lines: int, since: int | None) -> list[str]:
        """The container's last `lines` lines (stdout and stderr), oldest first."""
        kwargs: dict[str, Any] = {"stdout": True, "stderr": True, "tail": lines}
        if since is not None:
            kwargs["since"] = int(time.time()) - since
        raw = self.client().api.logs(ident, timestamps=True, follow=False, stream=False, **kwargs)
        text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)
        stamped = [line.partition(" ")[::2] for line in text.splitlines() if line]
        stamped.sort(key=lambda pair: _stamp_key(pair[0]))
        return [line for _, line in stamped[-lines:]]


def _stamp_key(stamp: str) -> str:
    """An RFC 3339 time with its fraction padded to nanoseconds, so it sorts as text: docker
    trims trailing zeros (`.1Z` is later than `.12Z`, but sorts after it as written)."""
    whole, _, fraction = stamp.rstrip("Z").partition(".")
    return f"{whole}.{fraction:0<9}"
