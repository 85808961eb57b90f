"""RabbitMQ: the node, its queues and their backlogs, over AMQP (pika) and the management API.

pika is blocking, so every AMQP call runs in a thread with socket and handshake timeouts. The
management API (httpx) is used when it answers: it knows every queue, unacked counts, rates and
the node's alarms. Without it, the queues named in `options.queues` are watched by passive
declare, which gives their ready depth and consumer count, exact and without delay. This module
reaches the broker, builds the tree and follows the log stream; the checks and the purge action
are in `rabbitmq_checks`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from providers.addresses import url_port_problem
from providers.base import CommandTarget, Provider
from providers.contract import CheckCall, Health, LogLine, Node, Status, utc_now
from providers.inventory import SecretError
from providers.rabbitmq_amqp import (
    DEFAULT_URL,
    Endpoint,
    channel_error,
    classify,
    from_declared,
    open_and_close,
    passive_declare,
    sample_depths,
)
from providers.rabbitmq_checks import RabbitMQChecks
from providers.rabbitmq_management import (
    MANAGEMENT_PORT,
    Management,
    ManagementUnavailable,
    consumer_names,
    merge_queue_rows,
    quote_segment,
)
from providers.rabbitmq_state import DepthTrend, QueueState, alarms_of, with_consumers
from providers.rabbitmq_watch import Snapshot, changes
from providers.redact import redact
from providers.sweep import shared

POLL_SECONDS = 5.0
DEFAULT_BACKLOG_THRESHOLD = 1000
MANAGEMENT_RETRY_SECONDS = 30.0  # after a management API timeout, do not wait on it again soon


class RabbitMQProvider(RabbitMQChecks, Provider):
    """One RabbitMQ node (or cluster entry point), reached by an amqp:// URL."""

    kind = "rabbitmq"
    command_tools = ("rabbitmqctl", "rabbitmqadmin", "rabbitmq-diagnostics")
    command_variables = ("AMQP_URL",)
    command_shadows = ("AMQP_URL", "RABBITMQ_URL", "RABBITMQ_NODENAME", "RABBITMQ_PASSWORD")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._http: Management | None = None
        self._trend = DepthTrend()

    # -- where and who ---------------------------------------------------------------------

    def endpoint(self, vhost: str | None = None) -> Endpoint:
        found = Endpoint.from_url(
            self.target.resolve_url(DEFAULT_URL),
            username=self.target.username,
            password=self.target.resolve_password(),
        )
        return found if vhost is None else found.with_vhost(vhost)

    async def command_target(self, params: Mapping[str, Any]) -> CommandTarget:
        """AMQP_URL without its password (given as RABBITMQ_PASSWORD, for tools that take it)."""
        endpoint = self.endpoint(str(params["vhost"]) if params.get("vhost") else None)
        scheme = "amqps" if endpoint.tls else "amqp"
        vhost = quote(endpoint.vhost, safe="")
        host = f"[{endpoint.host}]" if ":" in endpoint.host else endpoint.host
        url = f"{scheme}://{quote(endpoint.user, safe='')}@{host}:{endpoint.port}/{vhost}"
        secrets = {"RABBITMQ_PASSWORD": endpoint.password} if endpoint.password else {}
        return CommandTarget(
            self.target.name,
            self.kind,
            self.address,
            variables={"AMQP_URL": url},
            secrets=secrets,
        )

    @property
    def address(self) -> str:
        return self._address_of(None)

    def _address_of(self, vhost: str | None) -> str:
        try:
            return self.endpoint(vhost).address
        except SecretError as error:
            return f"{self.target.name} ({error})"
        except ValueError:  # a port urllib refuses: said with the value, never raised from here
            url = self.target.resolve_url(DEFAULT_URL)
            return f"{self.target.name} ({url_port_problem(url) or 'invalid URL'})"

    @property
    def management_url(self) -> str | None:
        configured = self.target.options.get("management_url")
        if configured is False or configured == "":
            return None
        if configured:
            return str(configured).rstrip("/")
        try:
            host = self.endpoint().host
        except SecretError:
            host = "127.0.0.1"
        return f"http://{host}:{MANAGEMENT_PORT}"

    @property
    def backlog_threshold(self) -> int:
        return int(self.target.options.get("backlog_threshold", DEFAULT_BACKLOG_THRESHOLD))

    @property
    def named_queues(self) -> list[tuple[str, str]]:
        """(vhost, queue) of `options.queues`; "vhost/queue" names another vhost's queue."""
        default = self.endpoint().vhost
        found = []
        for entry in self.target.options.get("queues", ()):
            text = str(entry)
            vhost, _, name = text.rpartition("/") if "/" in text[1:] else ("", "", text)
            found.append((vhost or default, name))
        return found

    @property
    def vhosts(self) -> list[str]:
        configured = self.target.options.get("vhosts")
        return [str(v) for v in configured] if configured else [self.endpoint().vhost]

    def describe_error(self, error: BaseException) -> str:
        import pika.exceptions
        from pika.adapters.utils.connection_workflow import AMQPConnectorException

        if isinstance(error, SecretError):
            return f"{self.target.name}: {error}"
        if isinstance(error, ManagementUnavailable | LookupError):
            return redact(str(error.args[0] if error.args else error))
        if isinstance(error, pika.exceptions.ChannelClosedByBroker):
            return redact(f"{self.address}: {channel_error(error)}")
        if isinstance(error, pika.exceptions.AMQPError | OSError | AMQPConnectorException):
            reason, text = classify(error)
            if reason == "timeout":
                text = f"no answer within {self.timeout:g}s"
            return redact(f"{self.address}: {text}")
        return super().describe_error(error)

    async def close(self) -> None:
        client, self._http = self._http, None
        if client is not None:
            await client.aclose()

    # -- the management API ----------------------------------------------------------------

    async def management(
        self, path: str, params: Mapping[str, str] | None = None, *, fresh: bool = False
    ) -> Any:
        """GET one management API path (see `rabbitmq_management.Management.get`); within a
        sweep, discovery and the checks share one GET of each (providers/sweep.py), unless
        `fresh` (a sample taken to compare with an earlier one)."""
        if self._http is None:
            endpoint = self.endpoint()
            self._http = Management(
                self.management_url, endpoint, max(self.timeout / 2, 0.1), MANAGEMENT_RETRY_SECONDS
            )
        http = self._http
        if fresh:
            return await http.get(path, params)
        key = (self, "management", path, tuple(sorted((params or {}).items())))
        return await shared(key, lambda: http.get(path, params))

    async def _management_queues(
        self, vhost: str, name: str | None = None, *, fresh: bool = False
    ) -> list[QueueState]:
        """Queues of a vhost ("*" for all): exact totals, plus consumers and rates from stats."""
        path = "/api/queues" if vhost == "*" else f"/api/queues/{quote_segment(vhost)}"
        totals_params = {"disable_stats": "true", "enable_queue_totals": "true"}
        stats_params = {"columns": "name,vhost,consumers,message_stats"}
        if name is not None:
            filtered = {"page": "1", "page_size": "500", "name": name, "use_regex": "false"}
            totals_params |= filtered
            stats_params |= filtered
        totals, stats = await asyncio.gather(
            self.management(path, totals_params, fresh=fresh),
            self.management(path, stats_params, fresh=fresh),
        )
        return merge_queue_rows(totals, stats, vhost, name)

    # -- AMQP, in threads ------------------------------------------------------------------

    async def _declared(self, queues: Sequence[tuple[str, str]]) -> list[QueueState]:
        by_vhost: dict[str, list[str]] = {}
        for vhost, name in queues:
            by_vhost.setdefault(vhost, []).append(name)
        found: list[QueueState] = []
        for vhost, names in by_vhost.items():
            answers = await asyncio.to_thread(
                passive_declare, self.endpoint(vhost), names, self.timeout
            )
            found.extend(from_declared(answer) for answer in answers if answer.error == "")
        return found

    async def _one_queue(
        self, vhost: str, queue: str, samples: int, interval: float
    ) -> list[QueueState]:
        """`samples` states of one queue: from the management API when it answers, else AMQP."""
        with contextlib.suppress(ManagementUnavailable):  # then AMQP below answers instead
            return await self._managed_queue(vhost, queue, samples, interval)
        answers = await asyncio.to_thread(
            sample_depths, self.endpoint(vhost), queue, samples, interval, self.timeout
        )
        if answers and answers[0].error:
            raise LookupError(f"{self._address_of(vhost)}: {answers[0].error}")
        return [from_declared(answer) for answer in answers]

    async def _managed_queue(
        self, vhost: str, queue: str, samples: int, interval: float
    ) -> list[QueueState]:
        states: list[QueueState] = []
        for index in range(samples):
            if index:
                await asyncio.sleep(interval)
            found = await self._management_queues(vhost, queue, fresh=True)  # a new sample
            if not found:
                raise LookupError(f"{self._address_of(vhost)}: no queue {queue!r}")
            states.append(found[0])
        if states[-1].consumers is None:  # stats not emitted yet: ask the queue itself
            declared = await self._declared([(vhost, queue)])
            if declared:
                states[-1] = with_consumers(states[-1], declared[0].consumers)
        return states

    # -- the tree --------------------------------------------------------------------------

    def root_checks(self) -> tuple[CheckCall, ...]:
        return (
            CheckCall("rabbitmq.connect"),
            CheckCall("rabbitmq.alarms"),
            CheckCall("rabbitmq.queues"),
        )

    async def discover(self) -> Node:
        name = f"{self.target.name} ({self.address})"
        try:
            async with asyncio.timeout(self.answer_budget):
                deadline = asyncio.get_running_loop().time() + self.answer_budget
                status, queues = await self._observe(deadline)
        except TimeoutError:
            budget = self.answer_budget
            status = Status(Health.FAILING, f"{self.address}: no answer within {budget:g}s")
            queues = []
        except Exception as error:  # the tree shows why, instead of failing discovery
            status, queues = Status(Health.FAILING, self.describe_error(error)), []
        by_management = any(state.source == "management" for state in queues)
        consumers = await self._consumer_names() if by_management else {}
        children = tuple(
            self._queue_node(state, consumers.get((state.vhost, state.name), ()))
            for state in queues
        )
        return Node(
            id=self.root_id,
            kind="rabbitmq.node",
            name=name,
            status=status,
            children=children,
            checks=self.root_checks(),
            has_logs=True,
        )

    async def _observe(self, deadline: float) -> tuple[Status, list[QueueState]]:
        """The broker's state from its management API, else over AMQP; an AMQP call in a
        thread is given what is left until `deadline` (a thread outlives its cancelled await,
        and the process waits for it on the way out)."""
        try:
            nodes, overview = await asyncio.gather(
                self.management("/api/nodes"), self.management("/api/overview")
            )
            queues: list[QueueState] = []
            for vhost in self.vhosts:
                queues.extend(await self._management_queues(vhost))
        except ManagementUnavailable as unavailable:
            left = max(0.05, deadline - asyncio.get_running_loop().time())
            handshake = await asyncio.to_thread(open_and_close, self.endpoint(), left)
            queues = await self._declared(self.named_queues)
            version = f"{handshake.product} {handshake.version}".strip()
            return Status(Health.OK, f"{version} reachable over AMQP; {unavailable}"), queues
        alarms = alarms_of(nodes)
        if alarms:
            return Status(Health.FAILING, "; ".join(alarms)), queues
        totals = overview.get("object_totals", {})
        version = overview.get("rabbitmq_version", "")
        return (
            Status(
                Health.OK,
                f"RabbitMQ {version}, {len(queues)} queues, "
                f"{totals.get('connections', 0)} connections, no alarms",
            ),
            queues,
        )

    async def _consumer_names(self) -> dict[tuple[str, str], tuple[str, ...]]:
        """Who consumes each queue, by the names their connections give (management API only;
        without it, or if it does not answer in time, nobody is named)."""
        try:
            async with asyncio.timeout(self.answer_budget):
                consumers, connections = await asyncio.gather(
                    self.management("/api/consumers"),
                    self.management(
                        "/api/connections",
                        {"columns": "name,user_provided_name,client_properties"},
                    ),
                )
        except Exception:  # the queues are shown either way; who consumes them is extra
            return {}
        return consumer_names(consumers, connections)

    def _queue_node(self, state: QueueState, consumed_by: tuple[str, ...] = ()) -> Node:
        consumers = "?" if state.consumers is None else str(state.consumers)
        text = f"{state.messages:,} messages, {consumers} consumers"
        if state.backlog_no_consumers:
            status = Status(Health.DEGRADED, f"backlog with no consumers: {text}")
        elif state.messages > self.backlog_threshold:
            status = Status(Health.DEGRADED, f"backlog over {self.backlog_threshold:,}: {text}")
        else:
            status = Status(Health.OK, text)
        return Node(
            id=f"{self.root_id}/{state.vhost}/{state.name}",
            kind="rabbitmq.queue",
            name=state.name,
            status=status,
            checks=(CheckCall("rabbitmq.queue", {"queue": state.name, "vhost": state.vhost}),),
            has_logs=True,
            detail=f"{state.messages:,} msgs",
            params=(("vhost", state.vhost), ("queue", state.name)),
            clients=consumed_by,
        )

    # -- the log stream --------------------------------------------------------------------

    async def logs(self, node_id: str, *, since: datetime | None = None) -> AsyncIterator[LogLine]:
        """Changes seen by polling: alarms, backlogs crossing the threshold, lost consumers,
        jumps in the connection count; one error line when unreachable, one when back."""
        only = node_id[len(self.root_id) + 1 :] if node_id.startswith(f"{self.root_id}/") else None
        source = self.target.name
        previous: Snapshot | None = None
        failing = False
        while True:
            try:
                async with asyncio.timeout(self.timeout):
                    current = await self._snapshot()
            except Exception as error:
                if not failing:
                    failing = True
                    reason = (
                        f"{self.address}: no answer within {self.timeout:g}s"
                        if isinstance(error, TimeoutError)
                        else self.describe_error(error)
                    )
                    yield LogLine(utc_now(), source, "error", f"unreachable: {reason}; retrying")
            else:
                if failing:
                    failing = False
                    yield LogLine(utc_now(), source, "info", f"{self.address} reachable again")
                for level, key, text in changes(previous, current, self.backlog_threshold):
                    if only is None or key == only:
                        yield LogLine(utc_now(), source, level, text)
                previous = current
            await asyncio.sleep(POLL_SECONDS)

    async def _snapshot(self) -> Snapshot:
        try:
            nodes, overview = await asyncio.gather(
                self.management("/api/nodes"), self.management("/api/overview")
            )
            queues: list[QueueState] = []
            for vhost in self.vhosts:
                queues.extend(await self._management_queues(vhost))
            connections: int | None = int(overview.get("object_totals", {}).get("connections", 0))
            alarms = frozenset(alarms_of(nodes))
        except ManagementUnavailable:
            await asyncio.to_thread(open_and_close, self.endpoint(), self.timeout)
            queues = await self._declared(self.named_queues)
            connections, alarms = None, frozenset()
        return Snapshot(alarms, {q.key: q for q in queues}, connections)
