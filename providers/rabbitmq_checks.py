"""RabbitMQ checks and actions: connection, queue depth and trend, backlogs, alarms, purge.

Mixed into RabbitMQProvider, which reaches the broker: these bodies read through its management
API and AMQP helpers and turn what they answer into findings and action plans.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from providers.base import ActionPlan, Finding, action, check
from providers.contract import ActionOutcome, ActionPreview, CheckStatus, ParamSpec
from providers.inventory import SecretError
from providers.rabbitmq_amqp import Endpoint, classify, open_and_close, passive_declare, purge
from providers.rabbitmq_management import ManagementUnavailable
from providers.rabbitmq_state import DepthTrend, QueueState, alarms_of, node_line

TOP = 5


class RabbitMQChecks:
    """Mixed into RabbitMQProvider; relies on its endpoint, options and broker reads below."""

    # -- what RabbitMQProvider supplies ---------------------------------------------------

    timeout: float
    _trend: DepthTrend

    @property
    def answer_budget(self) -> float:
        """How long the broker may take to answer before it is "no answer": less than a check's
        own timeout, so the connect check says so itself; discovery gives up then too, so a hung
        broker costs a sweep this, once."""
        return self.timeout * 0.8

    @property
    def address(self) -> str:
        raise NotImplementedError

    @property
    def management_url(self) -> str | None:
        raise NotImplementedError

    @property
    def backlog_threshold(self) -> int:
        raise NotImplementedError

    @property
    def named_queues(self) -> list[tuple[str, str]]:
        raise NotImplementedError

    @property
    def vhosts(self) -> list[str]:
        raise NotImplementedError

    def endpoint(self, vhost: str | None = None) -> Endpoint:
        raise NotImplementedError

    async def management(
        self, path: str, params: Mapping[str, str] | None = None, *, fresh: bool = False
    ) -> Any:
        raise NotImplementedError

    async def _management_queues(
        self, vhost: str, name: str | None = None, *, fresh: bool = False
    ) -> list[QueueState]:
        raise NotImplementedError

    async def _declared(self, queues: Sequence[tuple[str, str]]) -> list[QueueState]:
        raise NotImplementedError

    async def _one_queue(
        self, vhost: str, queue: str, samples: int, interval: float
    ) -> list[QueueState]:
        raise NotImplementedError

    # -- checks ----------------------------------------------------------------------------

    @check(
        "rabbitmq.connect",
        "RabbitMQ accepts a connection",
        "Opens an AMQP connection (TCP, handshake, login, vhost) and tells apart a refused "
        "port, failed authentication, a missing vhost and a broker that does not answer.",
        applies_to=("rabbitmq.node",),
        params={
            "vhost": ParamSpec(
                "The virtual host to open (a client's, from its URL or error); empty: the "
                "target's own",
                str,
                "",
            )
        },
    )
    async def connect(self, params: Mapping[str, Any]) -> Finding:
        endpoint = self.endpoint(str(params["vhost"]) if params.get("vhost") else None)
        budget = self.answer_budget
        facts: dict[str, Any] = {"address": endpoint.address, "vhost": endpoint.vhost}
        facts["user"] = endpoint.user
        try:
            handshake = await asyncio.wait_for(
                asyncio.to_thread(open_and_close, endpoint, budget), budget + 0.05
            )
        except TimeoutError:
            reason, text = "timeout", "no answer"
        except SecretError:
            raise
        except Exception as error:  # every failure to connect is the answer, not an error
            reason, text = classify(error)
        else:
            facts |= {"reason": "ok", "connect_ms": round(handshake.seconds * 1000, 2)}
            facts |= {"product": handshake.product, "version": handshake.version}
            server = f"{handshake.product} {handshake.version}".strip() or "the broker"
            return Finding(
                CheckStatus.PASS,
                f"connected to {server} in {handshake.seconds * 1000:.1f} ms",
                facts,
                (f"AMQP {endpoint.user}@{endpoint.address} vhost {endpoint.vhost!r} -> open",),
            )
        facts["reason"] = reason
        summary = {
            "refused": f"{endpoint.address}: connection refused (nothing listening)",
            "auth_failed": f"{endpoint.address}: authentication failed for user {endpoint.user!r}",
            "vhost_missing": f"{endpoint.address}: vhost {endpoint.vhost!r} not found",
            "timeout": f"{endpoint.address}: no answer within {budget:g}s",
        }.get(reason, f"{endpoint.address}: {text}")
        return Finding(
            CheckStatus.FAIL,
            summary,
            facts,
            (f"AMQP {endpoint.user}@{endpoint.address} vhost {endpoint.vhost!r} -> {text}",),
        )

    @check(
        "rabbitmq.queue",
        "RabbitMQ queue depth and consumers",
        "Depth (ready and unacked), consumers, publish and deliver rates of one queue, and "
        "whether its backlog grows; a backlog with no consumer fails.",
        applies_to=("rabbitmq.queue", "rabbitmq.node"),
        params={
            "queue": ParamSpec("Queue name", str, required=True),
            "vhost": ParamSpec("Virtual host", str, "/"),
            "samples": ParamSpec("Depth samples to take now (for the trend)", int, 1),
            "interval": ParamSpec("Seconds between samples", float, 0.5),
            "backlog_threshold": ParamSpec("Depth above which to warn", int, None),
        },
    )
    async def queue(self, params: Mapping[str, Any]) -> Finding:
        queue, vhost = str(params["queue"]), str(params.get("vhost") or "/")
        if not queue:
            raise ValueError("rabbitmq.queue needs a queue name")
        threshold = int(params.get("backlog_threshold") or self.backlog_threshold)
        samples = max(1, int(params.get("samples") or 1))
        states = await self._one_queue(vhost, queue, samples, float(params["interval"]))
        growing = False
        for state in states:
            growing = self._trend.remember(state)
        state = states[-1]
        facts: dict[str, Any] = {
            "queue": queue,
            "vhost": vhost,
            "messages": state.messages,
            "ready": state.ready,
            "unacked": state.unacked,
            "consumers": state.consumers,
            "backlog_no_consumers": state.backlog_no_consumers,
            "growing": growing,
            "publish_rate": state.publish_rate,
            "deliver_rate": state.deliver_rate,
            "backlog_threshold": threshold,
            "source": state.source,
            "samples": self._trend.depths(state.key),
        }
        unacked = "?" if state.unacked is None else f"{state.unacked:,}"
        consumers = "?" if state.consumers is None else str(state.consumers)
        evidence = [
            f"{queue} ({vhost}): messages {state.messages:,}  ready {state.ready:,}  "
            f"unacked {unacked}  consumers {consumers}  (via {state.source})",
        ]
        if state.publish_rate is not None or state.deliver_rate is not None:
            evidence.append(
                f"publish {state.publish_rate or 0:.1f}/s  deliver {state.deliver_rate or 0:.1f}/s"
            )
        if len(facts["samples"]) > 1:
            evidence.append("depth samples: " + " -> ".join(f"{d:,}" for d in facts["samples"]))
        if state.source == "amqp":
            evidence.append("passive declare counts ready messages only (management API off)")
        text = f"{state.messages:,} messages, {consumers} consumers"
        if state.backlog_no_consumers:
            return Finding(
                CheckStatus.FAIL, f"{queue}: backlog with no consumers: {text}", facts, (*evidence,)
            )
        if state.messages > threshold:
            summary = f"{queue}: backlog over {threshold:,}: {text}"
            if growing:
                summary += ", growing"
            return Finding(CheckStatus.WARN, summary, facts, (*evidence,))
        if growing:
            return Finding(
                CheckStatus.WARN, f"{queue}: backlog growing: {text}", facts, (*evidence,)
            )
        return Finding(CheckStatus.PASS, f"{queue}: {text}", facts, (*evidence,))

    @check(
        "rabbitmq.queues",
        "RabbitMQ backlogs across queues",
        "Every queue of the vhost(s) through the management API, or the named queues by passive "
        "declare without it: the largest backlogs and the queues with backlog and no consumer.",
        applies_to=("rabbitmq.node",),
        params={"vhost": ParamSpec("Virtual host ('*' for all); default: the target's", str)},
    )
    async def queues(self, params: Mapping[str, Any]) -> Finding:
        vhosts = [str(params["vhost"])] if params.get("vhost") else self.vhosts
        try:
            states: list[QueueState] = []
            for vhost in vhosts:
                states.extend(await self._management_queues(vhost))
            source = "management"
        except ManagementUnavailable as unavailable:
            named = [(v, q) for v, q in self.named_queues if not params.get("vhost") or v in vhosts]
            if not named:
                return Finding(
                    CheckStatus.SKIPPED,
                    f"{unavailable}; name queues in options.queues to watch them over AMQP",
                    {"source": "none", "address": self.address},
                )
            states, source = await self._declared(named), "amqp"
        threshold = self.backlog_threshold
        top = sorted(states, key=lambda s: (-s.messages, s.key))[:TOP]
        stuck = [s for s in states if s.backlog_no_consumers]
        over = [s for s in states if s.messages > threshold]
        facts = {
            "source": source,
            "queues": len(states),
            "total_messages": sum(s.messages for s in states),
            "top_backlogs": [
                {
                    "vhost": s.vhost,
                    "queue": s.name,
                    "messages": s.messages,
                    "consumers": s.consumers,
                }
                for s in top
                if s.messages
            ],
            "no_consumer_backlogs": [s.name for s in stuck],
            "over_threshold": [s.name for s in over],
            "backlog_threshold": threshold,
        }
        evidence = tuple(
            f"{s.messages:>10,}  {'?' if s.consumers is None else s.consumers:>3} consumers  "
            f"{s.vhost}/{s.name}"
            for s in top
        )
        if stuck:
            names = ", ".join(f"{s.name} ({s.messages:,})" for s in stuck[:TOP])
            return Finding(
                CheckStatus.FAIL,
                f"{len(stuck)} queue(s) with backlog and no consumers: {names}",
                facts,
                evidence,
            )
        if over:
            names = ", ".join(f"{s.name} ({s.messages:,})" for s in over[:TOP])
            return Finding(
                CheckStatus.WARN, f"backlog over {threshold:,}: {names}", facts, evidence
            )
        return Finding(
            CheckStatus.PASS,
            f"{len(states)} queues, {facts['total_messages']:,} messages, no stuck backlog",
            facts,
            evidence,
        )

    @check(
        "rabbitmq.alarms",
        "RabbitMQ memory and disk alarms",
        "Memory and disk-free alarms of every node (publishers are blocked while one is raised), "
        "memory used against its limit, disk free against its limit, connections and channels.",
        applies_to=("rabbitmq.node",),
    )
    async def alarms(self, params: Mapping[str, Any]) -> Finding:
        try:
            nodes, overview = await asyncio.gather(
                self.management("/api/nodes"), self.management("/api/overview")
            )
        except ManagementUnavailable as unavailable:
            return Finding(
                CheckStatus.SKIPPED,
                str(unavailable),
                {"source": "none", "management_url": self.management_url},
            )
        totals = overview.get("object_totals", {})
        facts: dict[str, Any] = {
            "mem_alarm": any(bool(n.get("mem_alarm")) for n in nodes),
            "disk_free_alarm": any(bool(n.get("disk_free_alarm")) for n in nodes),
            "connections": int(totals.get("connections", 0)),
            "channels": int(totals.get("channels", 0)),
            "nodes": {
                str(n.get("name")): {
                    key: n.get(key)
                    for key in (
                        "running",
                        "mem_alarm",
                        "disk_free_alarm",
                        "mem_used",
                        "mem_limit",
                        "disk_free",
                        "disk_free_limit",
                    )
                }
                for n in nodes
            },
        }
        evidence = [node_line(n) for n in nodes]
        evidence.append(f"{facts['connections']} connections, {facts['channels']} channels")
        raised = alarms_of(nodes)
        if raised:
            return Finding(CheckStatus.FAIL, "; ".join(raised), facts, tuple(evidence))
        down = [str(n.get("name")) for n in nodes if n.get("running") is False]
        if down:
            return Finding(
                CheckStatus.WARN, f"node(s) not running: {', '.join(down)}", facts, tuple(evidence)
            )
        return Finding(
            CheckStatus.PASS,
            f"no alarms on {len(nodes)} node(s); {facts['connections']} connections, "
            f"{facts['channels']} channels",
            facts,
            tuple(evidence),
        )

    # -- actions ---------------------------------------------------------------------------

    @action(
        "rabbitmq.purge_queue",
        "Purge a queue",
        destructive=True,
        params={
            "queue": ParamSpec("Queue name", str, required=True),
            "vhost": ParamSpec("Virtual host", str, "/"),
        },
    )
    async def purge_queue(self, params: Mapping[str, Any]) -> ActionPlan:
        queue, vhost = str(params["queue"]), str(params.get("vhost") or "/")
        endpoint = self.endpoint(vhost)
        answers = await asyncio.to_thread(passive_declare, endpoint, [queue], self.timeout)
        if answers[0].error:
            raise LookupError(f"{endpoint.address}: {answers[0].error}")
        count = int(answers[0].ready or 0)
        preview = ActionPreview(
            action="rabbitmq.purge_queue",
            target=queue,
            summary=f"purge {count:,} messages from {queue} (vhost {vhost}, {endpoint.address})",
            destructive=True,
            touches=(f"{vhost}/{queue}",),
            counts={"messages": count},
        )

        async def apply() -> ActionOutcome:
            purged = await asyncio.to_thread(purge, endpoint, queue, self.timeout)
            self._trend.forget(f"{vhost}/{queue}")
            return ActionOutcome(
                "rabbitmq.purge_queue",
                queue,
                ok=True,
                summary=f"purged {purged:,} messages from {queue}",
                output=(f"queue.purge {vhost}/{queue} -> message_count={purged}",),
            )

        return ActionPlan(preview, apply)
