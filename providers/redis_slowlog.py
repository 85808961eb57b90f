"""Redis's log: its slow log, polled, as the log pane shows it.

Redis writes no log a client can read; the slow log (SLOWLOG GET) is what the guides read
instead: which commands took longest, when, and from which client.

Entries are told apart by their id, which grows by one per entry for the server's life. A
restart begins the ids again at 0 (and SLOWLOG RESET empties the log, keeping the ids on Redis
but not necessarily on servers that speak its protocol): each poll reads the server's run id
with the log, and a new run id, ids that went back or a log emptied under the follower start
the follow again, so the new entries show at once instead of after the old last id.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from providers.contract import LogLine, utc_now
from providers.inventory import SecretError

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from providers.inventory import Target

SLOWLOG_POLL_SECONDS = 2.0
# A slow log with nothing new for this long is polled less often: its entries stay in Redis
# (the newest 128 are read) and carry their own times, so a slower poll loses nothing, and an
# idle screen costs less. The first new entry brings the 2 s pace back.
SLOWLOG_QUIET_AFTER_SECONDS = 30.0
SLOWLOG_QUIET_POLL_SECONDS = 10.0
SLOWLOG_BATCH = 128


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


@dataclass(frozen=True)
class SlowLogSeen:
    """What the last poll of a slow log saw: the server's run id, how many entries the log
    held (up to the batch read) and their ids."""

    run_id: str | None = None
    held: int = 0
    ids: frozenset[int] = frozenset()

    def reset(self, ids: list[int], run_id: str | None, last_id: int, address: str) -> str | None:
        """Why the log of the server at `address` began again since this poll, or None: what
        it holds now is the same log, with newer entries or none."""
        if self.run_id is not None and run_id is not None and run_id != self.run_id:
            return f"{address} restarted (a new run id): following its slow log from the start"
        if ids and max(ids) < last_id:
            return f"the slow log of {address} began again (its ids went back): following it"
        if self.held and last_id in self.ids and last_id not in ids and len(ids) < self.held:
            return (
                f"the slow log of {address} was emptied (SLOWLOG RESET or a restart): "
                "following its new entries"
            )
        return None


class RedisSlowLog:
    """Mixed into RedisProvider; relies on its `client()`, `target`, `timeout`, `address` and
    `describe_error`."""

    if TYPE_CHECKING:  # the provider's own; defined here, they would come first in its MRO
        target: Target
        timeout: float

        @property
        def address(self) -> str: ...

        def client(self, db: int | None = None) -> Redis: ...

        def describe_error(self, error: BaseException) -> str: ...

    async def logs(self, node_id: str, *, since: datetime | None = None) -> AsyncIterator[LogLine]:
        """The slow log, polled: everything it holds first, then only new entries (every
        2 s; every 10 s once nothing new came for 30 s)."""
        import redis.exceptions as errors

        last_id = -1
        seen = SlowLogSeen()
        failing = False
        announced = False
        last_new = time.monotonic()
        while True:
            try:
                async with asyncio.timeout(self.timeout):
                    entries, run_id = await self._slowlog_read()
                    if not announced:
                        announced = True
                        yield LogLine(
                            utc_now(), self.target.name, "info", await self._slowlog_banner()
                        )
            except (TimeoutError, errors.RedisError, SecretError) as error:
                if not failing:
                    failing = True
                    yield LogLine(
                        utc_now(),
                        self.target.name,
                        "error",
                        f"slow log unavailable: {self.describe_error(error)}; retrying",
                    )
            else:
                if failing:
                    failing = False
                    yield LogLine(utc_now(), self.target.name, "info", "slow log reachable again")
                ids = [int(entry["id"]) for entry in entries]
                if (reset := seen.reset(ids, run_id, last_id, self.address)) is not None:
                    last_id = -1  # every entry there now came after it
                    yield LogLine(utc_now(), self.target.name, "info", reset)
                seen = SlowLogSeen(run_id or seen.run_id, len(ids), frozenset(ids))
                for entry in sorted(entries, key=lambda item: int(item["id"])):
                    if int(entry["id"]) <= last_id:
                        continue
                    last_id = int(entry["id"])
                    last_new = time.monotonic()
                    line = self._slowlog_line(entry)
                    if since is None or line.time >= since:
                        yield line
            quiet = not failing and time.monotonic() - last_new >= SLOWLOG_QUIET_AFTER_SECONDS
            await asyncio.sleep(SLOWLOG_QUIET_POLL_SECONDS if quiet else SLOWLOG_POLL_SECONDS)

    async def _slowlog_read(self) -> tuple[list[Mapping[str, Any]], str | None]:
        """The newest entries and the server's run id (None where INFO is not allowed), in one
        round trip."""
        async with self.client().pipeline(transaction=False) as pipe:
            pipe.slowlog_get(SLOWLOG_BATCH)
            pipe.info("server")
            entries, info = await pipe.execute(raise_on_error=False)
        if isinstance(entries, Exception):
            raise entries
        run_id = info.get("run_id") if isinstance(info, Mapping) else None
        return list(entries), None if run_id is None else _text(run_id)

    async def _slowlog_banner(self) -> str:
        import redis.exceptions as errors

        try:
            threshold = (await self.client().config_get("slowlog-log-slower-than")).get(
                "slowlog-log-slower-than"
            )
        except errors.ResponseError:  # CONFIG is often disabled on managed Redis
            threshold = None
        if threshold is None:
            return f"following the slow log of {self.address}"
        return (
            f"following the slow log of {self.address}: commands slower than "
            f"{int(threshold) / 1000:g} ms (slowlog-log-slower-than)"
        )

    def _slowlog_line(self, entry: Mapping[str, Any]) -> LogLine:
        micros = int(entry.get("duration", 0))
        level = "warn" if micros >= 100_000 else "info"
        client = _text(entry.get("client_address", b""))
        name = _text(entry.get("client_name", b""))
        origin = f"{client} {name}".strip()
        took = f"{micros} µs" if micros < 1000 else f"{micros / 1000:.1f} ms"
        text = f"slow {took}  {_text(entry.get('command', b''))}"
        if origin:
            text = f"{text}  ({origin})"
        when = datetime.fromtimestamp(int(entry.get("start_time", 0)), UTC)
        return LogLine(when, f"{self.target.name} slowlog", level, text)
