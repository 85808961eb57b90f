"""Tail CloudWatch Logs (the awslogs driver's streams) without duplicates and without gaps.

`aws logs tail --follow` polls FilterLogEvents; so does this, following every nextToken of each
poll. Events are ingested late (a few seconds, sometimes more), so each poll starts a little
before the newest event already shown, and events already shown are skipped by their stream
and eventId. When the API offers StartLiveTail, new events come from it once the backlog is
shown; if the live session fails or ends, polling resumes from the newest event seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from providers.aws_session import AwsSession
from providers.contract import LogLine, utc_now
from providers.redact import redact
from providers.text import sanitize

POLL_SECONDS = 2.0
OVERLAP_MS = 60_000  # how late an event may be ingested and still be shown
BACKLOG_SECONDS = 600
PAGE_LIMIT = 1000
_LEVELS = (("error", ("ERROR", "FATAL", "Traceback", "Exception")), ("warn", ("WARN",)))


def level_of(message: str) -> str:
    for level, words in _LEVELS:
        if any(word in message for word in words):
            return level
    return "info"


def event_key(event: dict[str, Any]) -> tuple[str, int, str]:
    return (str(event.get("logStreamName", "")), int(event["timestamp"]), str(event["message"]))


class LogTail(AwsSession):
    """Mixed into the ecs provider."""

    async def _filter_pages(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """One poll: every page of filter_log_events, following nextToken to the end."""
        events: list[dict[str, Any]] = []
        token: str | None = None
        seen_tokens: set[str] = set()
        while True:
            call = dict(params, limit=PAGE_LIMIT)
            if token:
                call["nextToken"] = token
            page = await self.aws("logs", "filter_log_events", **call)
            events.extend(page.get("events", []))
            token = page.get("nextToken")
            if not token or token in seen_tokens:
                break
            seen_tokens.add(token)
        events.sort(
            key=lambda e: (int(e["timestamp"]), str(e.get("logStreamName")), str(e.get("eventId")))
        )
        return events

    async def tail_events(
        self,
        group: str,
        *,
        streams: list[str] | None = None,
        prefix: str | None = None,
        since: datetime | None = None,
        follow: bool = True,
        poll_seconds: float | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Events of a log group (some streams, or a stream prefix), oldest first."""
        start_ms = int((since.timestamp() if since else time.time() - BACKLOG_SECONDS) * 1000)
        base: dict[str, Any] = {"logGroupName": group}
        if streams:
            base["logStreamNames"] = streams
        elif prefix:
            base["logStreamNamePrefix"] = prefix
        cursor = start_ms
        shown_ids: dict[tuple[str, str], int] = {}  # (stream, eventId) -> timestamp
        shown_keys: dict[tuple[str, int, str], int] = {}  # for live-tail events (no eventId)
        live_allowed = bool(self.aws_options.get("live_tail", True)) and follow
        while True:
            window = max(start_ms, cursor - OVERLAP_MS)
            for event in await self._filter_pages(dict(base, startTime=window)):
                ident = (str(event.get("logStreamName", "")), str(event.get("eventId", "")))
                if ident in shown_ids or event_key(event) in shown_keys:
                    continue
                shown_ids[ident] = int(event["timestamp"])
                cursor = max(cursor, int(event["timestamp"]))
                yield event
            floor = cursor - 2 * OVERLAP_MS
            shown_ids = {k: v for k, v in shown_ids.items() if v >= floor}
            shown_keys = {k: v for k, v in shown_keys.items() if v >= floor}
            if not follow:
                return
            if live_allowed:
                live_allowed = False  # one attempt; polling takes over when it ends or fails
                async for event in self._live_tail(group, streams, prefix):
                    key = event_key(event)
                    if key in shown_keys:
                        continue
                    shown_keys[key] = key[1]
                    cursor = max(cursor, key[1])
                    yield event
            await asyncio.sleep(POLL_SECONDS if poll_seconds is None else poll_seconds)

    async def _live_tail(
        self, group: str, streams: list[str] | None, prefix: str | None
    ) -> AsyncIterator[dict[str, Any]]:
        """StartLiveTail's events until the session ends; nothing when the API refuses it."""
        answer = await self.aws("logs", "describe_log_groups", logGroupNamePrefix=group)
        arn = next(
            (g.get("arn", "") for g in answer.get("logGroups", []) if g["logGroupName"] == group),
            "",
        )
        if not arn:
            return
        params: dict[str, Any] = {"logGroupIdentifiers": [arn.removesuffix(":*")]}
        if streams:
            params["logStreamNames"] = streams
        elif prefix:
            params["logStreamNamePrefixes"] = [prefix]
        lines: queue.Queue[dict[str, Any] | None] = queue.Queue()
        stop = threading.Event()

        def pump() -> None:
            try:
                response = self._client_sync("logs").start_live_tail(**params)
                for message in response["responseStream"]:
                    if stop.is_set():
                        break
                    for event in message.get("sessionUpdate", {}).get("sessionResults", []):
                        lines.put(event)
            except Exception as error:  # the API refused or the stream broke: say so, then poll
                reason = sanitize(redact(str(error) or type(error).__name__))
                lines.put(
                    {
                        "message": f"live tail unavailable ({reason}); polling instead",
                        "timestamp": int(utc_now().timestamp() * 1000),
                        "logStreamName": "triage",
                        "eventId": f"triage-live-tail-{id(error)}",
                    }
                )
            finally:
                lines.put(None)

        thread = threading.Thread(target=pump, name="triage-live-tail", daemon=True)
        thread.start()
        try:
            while True:
                event = await asyncio.to_thread(lines.get)
                if event is None:
                    return
                yield event
        finally:
            stop.set()
            with contextlib.suppress(Exception):
                await asyncio.to_thread(thread.join, 0.1)

    def log_line(self, event: dict[str, Any], source: str) -> LogLine:
        message = sanitize(redact(str(event.get("message", "")).rstrip("\n")))
        stamp = event.get("timestamp")
        when = datetime.fromtimestamp(int(stamp) / 1000, UTC) if stamp else utc_now()
        return LogLine(when, source, level_of(message), message)
