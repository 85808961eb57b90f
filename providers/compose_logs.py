"""Log streams, mixed into ComposeProvider: container logs followed, and the engine's events.

The docker SDK's streams block, so each one is read in a daemon thread of its own (never the
default executor, which short checks need); the threads hand their lines to the event loop in
batches (`ThreadPump`), one wake-up per batch. Closing the async generator closes every stream,
which ends its thread.

- a container node: its stdout and stderr, followed with timestamps, marked `out` and `err`;
  when the container stops, a line says how (its exit code, the signal or the OOM kill that
  ended it) and the stream's state is "stopped" until it runs again, when a line says so and
  the stream follows again;
- a service or project node: the same for each of its containers, merged as lines arrive;
- the root node: the engine's event stream told as lines (died with exit code N, killed: out of
  memory, health check turned unhealthy, restarted), the live signal that keeps the tree fresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from providers.compose_model import PROJECT_LABEL, ContainerView, parse_time
from providers.contract import FOLLOWING, LogLine, utc_now
from providers.redact import redact_lines
from providers.stamps import precise_stamp
from providers.streams import MAX_PENDING, LineBatch, ThreadPump, batched
from providers.text import sanitize

if TYPE_CHECKING:
    from docker import DockerClient

TAIL_LINES = 100  # lines of history a followed container log starts with
REFOLLOW_SECONDS = 1.0  # how soon to follow again after a container stopped
EVENT_RETRY_SECONDS = 2.0
READ_BYTES = 1 << 18  # the most a followed log reads from its socket at once
EVENTS = ("die", "oom", "health_status", "start", "destroy", "pause", "unpause")


def read_log(client: DockerClient, view: ContainerView, params: dict[str, Any]) -> Any:
    """A container's log followed with timestamps, as blocks of whole lines of text, one per
    network chunk read; closing it (from another thread) ends the read.

    The SDK's own stream reads each frame with two calls through urllib3, and urllib3 each HTTP
    chunk (the engine sends one per log write) with three: a flood woke this thread, and took
    the GIL from the UI, several times a line. Here a read takes whatever the socket holds and
    the chunks and frames in it are undone on bytes, in bulk.
    """
    import requests
    from docker.errors import create_api_error_from_http_exception
    from docker.types import CancellableStream

    api = client.api
    url = f"{api.base_url}/v{api.api_version}/containers/{view.id}/logs"
    query = {**params, "follow": 1, "timestamps": 1}
    response = api.get(url, params=query, stream=True)
    try:
        response.raise_for_status()
    except requests.exceptions.HTTPError as error:
        response.close()
        create_api_error_from_http_exception(error)  # raises NotFound and the others
    reader = response.raw._fp.fp  # http.client's buffered reader of the socket
    reads = iter(lambda: reader.read1(READ_BYTES), b"")  # what the socket holds, at once
    chunks = unchunk(reads) if response.raw.chunked else reads
    return CancellableStream(chunks if view.tty else frames(chunks), response)


def unchunk(reads: Iterable[bytes]) -> Iterator[bytes]:
    """The body of an HTTP/1.1 chunked response, one block per read: the data of every chunk
    complete in what was read (the engine flushes a chunk per log write, so a flood reads
    hundreds of chunks at once; urllib3 reads each with three calls)."""
    pending = b""
    for read in reads:
        data = pending + read if pending else read
        parts: list[bytes] = []
        at, end = 0, len(data)
        while (eol := data.find(b"\r\n", at)) >= 0:
            size = int(data[at:eol].partition(b";")[0], 16)
            start = eol + 2
            if size == 0:  # the last chunk: the body is over
                if parts:
                    yield b"".join(parts)
                return
            if end - start < size + 2:
                break
            parts.append(data[start : start + size])
            at = start + size + 2
        pending = data[at:]
        if parts:
            yield b"".join(parts)


def frames(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The payloads of a multiplexed stream (frames of an 8-byte header, its last four bytes
    the size, then the payload), one block per chunk read. The engine splits long lines into
    frames without a newline at the end; each frame ends a line here, as the SDK's do."""
    pending = b""
    for chunk in chunks:
        data = pending + chunk if pending else chunk
        payloads = []
        at, end = 0, len(data)
        while end - at >= 8:
            start = at + 8
            size = int.from_bytes(data[at + 4 : start], "big")
            if end - start < size:
                break
            if size:
                payload = data[start : start + size]
                payloads.append(payload if payload.endswith(b"\n") else payload + b"\n")
            at = start + size
        pending = data[at:]
        if payloads:
            yield b"".join(payloads)


_seconds: dict[str, datetime] = {}  # the engine's UTC stamps to the second, parsed once


def split_stamp(raw: bytes) -> tuple[datetime, str]:
    """`2024-05-01T10:00:00.123456789Z text` (docker logs --timestamps) -> time, text.

    A flood shares each second among thousands of lines: the second is parsed once and the
    fraction added, which costs a tenth of parsing every stamp in full."""
    text = raw.decode("utf-8", errors="replace").rstrip("\r")
    stamp, _, rest = text.partition(" ")
    fraction = stamp[20:-1]
    if len(stamp) > 21 and stamp[19] == "." and stamp[-1] == "Z" and fraction.isdigit():
        second = _seconds.get(stamp[:19]) or parse_time(stamp[:19] + "Z")
        if second is not None:
            if len(_seconds) > 1_000:
                _seconds.clear()
            _seconds[stamp[:19]] = second
            return second + timedelta(microseconds=int(fraction[:6].ljust(6, "0"))), rest
    parsed = parse_time(stamp)
    if parsed is None:
        return utc_now(), text
    return parsed, rest


def stamp_of(raw: bytes) -> tuple[str, int]:
    """A followed line's stamp, ordered to the nanosecond (providers/stamps.py)."""
    return precise_stamp(raw.partition(b" ")[0].decode("ascii", errors="replace"))


_SIGNAL_NAMES = {int(number): number.name for number in signal.Signals}


def how_it_ended(view: ContainerView) -> str:
    """How a stopped container ended, as the engine tells it: `container exited (0)`,
    `container killed by SIGKILL (137)`, `container killed: out of memory (137)`."""
    code = view.exit_code
    if view.oom_killed:
        return f"container killed: out of memory ({code})"
    if code > 128 and (code - 128) in _SIGNAL_NAMES:  # else the process chose that code
        return f"container killed by {_SIGNAL_NAMES[code - 128]} ({code})"
    error = f": {sanitize(view.error)}" if view.error else ""
    return f"container exited ({code}){error}"


@dataclass
class _StreamReader:
    """One output of one container, read into the pump from where the last read stopped: a
    stream opened again starts at the last line sent to the microsecond, and the lines up to it
    (to the nanosecond) are not sent twice; within one stream every line is new, however many
    share a microsecond."""

    pump: ThreadPump[LogLine]
    client: DockerClient
    view: ContainerView
    stream: str
    prefix: str
    last: datetime | None = None  # the last line sent
    last_raw: bytes | None = None  # that line as read, its stamp to the nanosecond

    def read(self, *, since: float | None) -> bool:
        """Read the stream until it ends (a running container's: when it stops). False when
        the pump stopped (the pane closed)."""
        query: dict[str, Any] = {
            "stdout": int(self.stream == "out"),
            "stderr": int(self.stream == "err"),
        }
        if self.last is not None:
            query["since"] = self.last.timestamp()
        elif since is not None:
            query["since"] = since
        else:
            query["tail"] = TAIL_LINES
        blocks = read_log(self.client, self.view, query)
        if not self.pump.register(blocks):
            return False
        sent_up_to = None if self.last_raw is None else stamp_of(self.last_raw)
        buffer = b""
        for block in blocks:
            buffer += block
            *complete, buffer = buffer.split(b"\n")
            if sent_up_to is not None and complete:
                fresh = next(
                    (i for i, raw in enumerate(complete) if stamp_of(raw) > sent_up_to),
                    len(complete),
                )
                if fresh < len(complete):
                    sent_up_to = None
                complete = complete[fresh:]
            read = []
            for raw in complete:
                when, text = split_stamp(raw)
                safe = text if text.isprintable() else sanitize(text)  # most lines are
                read.append(LogLine(when, self.view.name, self.stream, self.prefix + safe))
            if read:
                self.last, self.last_raw = read[-1].time, complete[-1]
            self.pump.put_many(redact_lines(read))  # here, in the reader's thread
        return True


class FollowedContainers:
    """The containers a log pane follows, as their streams find them stopped or running: the
    pane stops following when every one of them stopped (one of three replicas stopping is a
    line in the log, not the pane's state), and follows again when one runs again."""

    def __init__(self, count: int) -> None:
        self._count = count
        self._stopped: dict[str, str] = {}
        self._lock = threading.Lock()

    def stopped(self, name: str, how: str) -> str | None:
        """The pane's new state once `name` stopped, or None while others still run."""
        with self._lock:
            self._stopped[name] = how
            if len(self._stopped) < self._count:
                return None
            return (
                f"stopped: {how}" if self._count == 1 else f"stopped: all {self._count} containers"
            )

    def running(self, name: str) -> str | None:
        """FOLLOWING when `name` is the first to run again after every one stopped."""
        with self._lock:
            every = len(self._stopped) == self._count
            self._stopped.pop(name, None)
            return FOLLOWING if every else None


def event_line(event: Mapping[str, Any], died: dict[str, str]) -> LogLine | None:
    """One engine event as an operator reads it; None for events not worth a line."""
    action = str(event.get("Action") or event.get("status") or "")
    actor = event.get("Actor") or {}
    attributes = actor.get("Attributes") or {}
    ident = str(actor.get("ID") or event.get("id") or "")  # names are reused, ids are not
    name = sanitize(str(attributes.get("name") or str(event.get("id", ""))[:12]))
    nanos = int(event.get("timeNano") or 0)
    when = datetime.fromtimestamp(nanos / 1e9, UTC) if nanos else utc_now()
    project = attributes.get(PROJECT_LABEL)
    source = f"{project}/{name}" if project else name
    level, text = "info", ""
    if action == "die":
        code = str(attributes.get("exitCode", "?"))
        died[ident] = code
        if code == "0":
            text = f"{name} exited (exit code 0)"
        else:
            level, text = "error", f"{name} died with exit code {code}"
    elif action == "oom":
        level, text = "error", f"{name} killed: out of memory (OOM)"
    elif action.startswith("health_status"):
        status = action.partition(":")[2].strip()
        if status == "unhealthy":
            level, text = "error", f"{name} health check turned unhealthy"
        elif status == "healthy":
            text = f"{name} is healthy"
    elif action == "start":
        if ident in died:
            level = "warn"
            text = f"{name} restarted (after exit code {died.pop(ident)})"
        else:
            text = f"{name} started"
    elif action == "destroy":
        died.pop(ident, None)
        text = f"{name} removed"
    elif action in ("pause", "unpause"):
        level, text = "warn" if action == "pause" else "info", f"{name} {action}d"
    return LogLine(when, source, level, text) if text else None


class ComposeLogs:
    """Mixed into ComposeProvider; relies on its `root_id`, `client`, `new_client`, `select`,
    `parse_node`, `project_option`, `timeout` and `describe_error`."""

    if TYPE_CHECKING:
        timeout: float

        @property
        def root_id(self) -> str: ...

        @property
        def project_option(self) -> str | None: ...

        def client(self) -> DockerClient: ...

        def new_client(self, timeout: float | None, version: str | None = None) -> DockerClient: ...

        async def select(self, params: Mapping[str, Any]) -> list[ContainerView]: ...

        def parse_node(self, node_id: str) -> dict[str, str]: ...

        def describe_error(self, error: BaseException) -> str: ...

    log_backlog = MAX_PENDING  # lines that wait for a consumer that fell behind

    async def logs(self, node_id: str, *, since: datetime | None = None) -> AsyncIterator[LogLine]:
        if node_id == self.root_id:
            async for line in self._events(since):
                yield line
            return
        async for batch in self.log_batches(node_id, since=since):
            if batch.dropped:
                yield LogLine(utc_now(), node_id, "warn", f"{batch.dropped:,} lines dropped")
            for line in batch.lines:
                yield line

    async def log_batches(
        self, node_id: str, *, since: datetime | None = None
    ) -> AsyncIterator[LineBatch]:
        """The reader threads' lines as they hand them over: a list per wake-up of the loop."""
        if node_id == self.root_id:
            async for events in batched(self._events(since)):
                yield LineBatch(events.items, events.dropped)
            return
        params = self.parse_node(node_id)
        try:
            async with asyncio.timeout(self.timeout):
                views = await self.select(params)
                stream_client = await asyncio.to_thread(self._stream_client)
        except Exception as error:  # the pane says why there is nothing to show
            said = f"logs unavailable: {self._said(error)}"
            yield LineBatch([LogLine(utc_now(), node_id, "error", said)])
            return
        if not views:
            yield LineBatch([LogLine(utc_now(), node_id, "warn", "no containers to follow")])
            return
        pump: ThreadPump[LogLine] = ThreadPump(limit=self.log_backlog)
        start = since.timestamp() if since else None
        followed = FollowedContainers(len(views))
        for view in views:
            for stream in ("out", "err"):
                label = view.name if len(views) > 1 else ""
                pump.start(self._follow, pump, stream_client, view, stream, start, label, followed)
        try:
            async for batch in pump.batches():
                lines = batch.items
                for failure in batch.errors:
                    said = f"log stream: {self._said(failure)}"  # describe_error redacts
                    lines.append(LogLine(utc_now(), node_id, "error", said))
                yield LineBatch(lines, batch.dropped, redacted=True)
        finally:
            pump.stop()
            await asyncio.to_thread(stream_client.close)

    def _said(self, error: BaseException) -> str:
        return self.describe_error(error) if isinstance(error, Exception) else str(error)

    def _stream_client(self) -> DockerClient:
        """A client without a read timeout, since a followed stream may be quiet for long."""
        version = self.client().api.api_version  # asked once, within the timeout
        return self.new_client(None, version)

    def _follow(
        self,
        pump: ThreadPump[LogLine],
        client: DockerClient,
        view: ContainerView,
        stream: str,
        since: float | None,
        label: str,
        followed: FollowedContainers,
    ) -> None:
        """Follow one output of one container, again each time it stops and starts. The `out`
        stream says when the container stopped and when it runs again (once per container)."""
        import docker.errors

        reader = _StreamReader(pump, client, view, stream, f"{label} | " if label else "")
        mark = since
        while not pump.stopped.is_set():
            opened = time.time()
            try:
                if not reader.read(since=mark):
                    return
            except docker.errors.NotFound:
                if stream == "out":
                    self._tell_removed(pump, view, followed)
                return
            if mark is None and reader.last is None:
                mark = max(1.0, opened - 1)
            if not self._until_running(pump, view, followed, reader, mark):
                return

    def _until_running(
        self,
        pump: ThreadPump[LogLine],
        view: ContainerView,
        followed: FollowedContainers,
        reader: _StreamReader,
        mark: float | None,
    ) -> bool:
        """After a container's stream ended: at once if it runs (the stream ended for another
        reason, or it restarted already), else once it runs again, saying so on the `out`
        stream. Found stopped, its log is read once more first: an engine may end a follow
        before its last lines (the log of a stopped container is read to its end at once).
        False when the follow is over (the pane closed, the container removed)."""
        import docker.errors

        teller = reader.stream == "out"
        stopped = False
        run = ""  # when the run that stopped began: a later start is a new run, even one that
        # ended already (a short job between two looks)
        while not pump.stopped.wait(0 if not stopped else REFOLLOW_SECONDS):
            try:
                now = ContainerView.from_inspect(
                    self.client().api.inspect_container(view.id)  # the client with a timeout
                )
            except docker.errors.NotFound:
                if teller:
                    self._tell_removed(pump, view, followed)
                return False
            except Exception:  # the engine did not answer: ask again, or read the log again
                if stopped:
                    continue
                return not pump.stopped.wait(REFOLLOW_SECONDS)
            if now.state in ("running", "paused", "restarting") or (
                stopped and now.started_at != run
            ):
                if not stopped:  # the stream ended while it ran: read it again shortly
                    return not pump.stopped.wait(REFOLLOW_SECONDS)
                if teller:
                    text = f"{view.name} started again: following its log"
                    when = parse_time(now.started_at) or utc_now()
                    pump.put(LogLine(when, view.name, "info", text, followed.running(view.name)))
                return True
            if not stopped:
                stopped, run = True, now.started_at
                with contextlib.suppress(Exception):  # the lines read so far stay; it goes on
                    if not reader.read(since=mark):
                        return False
                if teller:
                    how = how_it_ended(now)
                    level = "info" if now.exit_code == 0 and not now.oom_killed else "error"
                    text = f"{view.name} stopped: {how}"
                    state = followed.stopped(view.name, how)
                    when = parse_time(now.finished_at) or utc_now()
                    pump.put(LogLine(when, view.name, level, text, state))
        return False

    @staticmethod
    def _tell_removed(
        pump: ThreadPump[LogLine], view: ContainerView, followed: FollowedContainers
    ) -> None:
        state = followed.stopped(view.name, "container removed")
        pump.put(LogLine(utc_now(), view.name, "warn", f"{view.name} removed", state))

    async def _events(self, since: datetime | None) -> AsyncIterator[LogLine]:
        """The engine's container events, again after the engine comes back."""
        filters: dict[str, Any] = {"type": "container", "event": list(EVENTS)}
        if self.project_option:
            filters["label"] = [f"{PROJECT_LABEL}={self.project_option}"]
        start = since.timestamp() if since else None
        died: dict[str, str] = {}
        failing = False
        while True:
            pump: ThreadPump[dict[str, Any]] = ThreadPump()
            stream_client: DockerClient | None = None
            try:
                async with asyncio.timeout(self.timeout):
                    stream_client = await asyncio.to_thread(self._stream_client)
                opened = time.time()
                pump.start(self._read_events, pump, stream_client, start, filters)
                if failing:
                    failing = False
                    yield LogLine(utc_now(), self.root_id, "info", "engine events reachable again")
                async for batch in pump.batches():
                    if batch.dropped:
                        said = f"{batch.dropped:,} engine events dropped"
                        yield LogLine(utc_now(), self.root_id, "warn", said)
                    for event in batch.items:
                        line = event_line(event, died)
                        if line is not None:
                            yield line
                    if batch.errors:
                        raise batch.errors[0]
                start = opened
            except Exception as error:  # told once, then retried
                if not failing:
                    failing = True
                    said = self._said(error)
                    yield LogLine(
                        utc_now(), self.root_id, "error", f"engine events lost: {said}; retrying"
                    )
            finally:
                pump.stop()
                if stream_client is not None:
                    await asyncio.to_thread(stream_client.close)
            await asyncio.sleep(EVENT_RETRY_SECONDS)

    @staticmethod
    def _read_events(
        pump: ThreadPump[dict[str, Any]],
        client: DockerClient,
        since: float | None,
        filters: dict[str, Any],
    ) -> None:
        events = client.api.events(since=since, filters=filters, decode=True)
        if not pump.register(events):
            return
        for event in events:
            pump.put(event)
