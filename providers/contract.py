"""The contract every provider implements, and the values that cross it.

The UI and the runbook engine know these types and nothing of any SDK. Every value is immutable,
so a worker can hand one to the UI loop without copying.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


def utc_now() -> datetime:
    return datetime.now(UTC)


class Health(StrEnum):
    """How a node is doing, as the tree shows it."""

    OK = "ok"
    DEGRADED = "degraded"
    FAILING = "failing"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Status:
    """A node's live status: its health, a one-line reason, and when it was observed."""

    health: Health
    reason: str
    observed_at: datetime = field(default_factory=utc_now)

    @classmethod
    def unknown(cls, reason: str = "not observed yet") -> Status:
        return cls(Health.UNKNOWN, reason)


@dataclass(frozen=True, slots=True)
class CheckCall:
    """A check a node offers, with the parameters bound for that node."""

    check: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Node:
    """One thing in the service tree: a group, a service, an instance, a database.

    `params` say what the node is in a runbook's words (`namespace`, `deployment`, `selector`;
    `project`, `service`; `queue`, `vhost`; `cluster`, `service`), so a diagnosis about it binds
    them; `depends_on` holds the `host:port` of what it connects to, read from its configuration
    (an environment's DATABASE_URL, REDIS_HOST...), never the values themselves; `clients` the
    names the applications connected to it right now give themselves (PostgreSQL's
    application_name, the connection names of a queue's consumers), which tie a store to the
    services that use it.
    """

    id: str
    kind: str
    name: str
    status: Status = field(default_factory=Status.unknown)
    children: tuple[Node, ...] = ()
    checks: tuple[CheckCall, ...] = ()
    has_logs: bool = False
    detail: str = ""
    params: tuple[tuple[str, str], ...] = ()
    depends_on: tuple[str, ...] = ()
    clients: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The tree as plain data, for JSON output and reports."""
        document: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "name": self.name,
            "health": self.status.health.value,
            "reason": self.status.reason,
            "observed_at": self.status.observed_at.isoformat(),
            "checks": [call.check for call in self.checks],
        }
        if self.params:
            document["params"] = dict(self.params)
        if self.depends_on:
            document["depends_on"] = list(self.depends_on)
        if self.clients:
            document["clients"] = list(self.clients)
        document["children"] = [child.to_dict() for child in self.children]
        return document

    def walk(self) -> list[Node]:
        """This node and all its descendants, depth first."""
        found = [self]
        for child in self.children:
            found.extend(child.walk())
        return found


class CheckStatus(StrEnum):
    """The outcome of one check. `error` means it could not run, which is not a failure."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """A parameter a check or action takes."""

    description: str
    type: type = str
    default: Any = None
    required: bool = False


@dataclass(frozen=True, slots=True)
class CheckSpec:
    """What a check is: its name (`redis.ping`), what it tells, what it takes."""

    name: str
    title: str
    description: str
    applies_to: tuple[str, ...] = ()
    params: Mapping[str, ParamSpec] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What one run of a check found.

    `facts` are named values runbooks match on; `evidence` is the excerpt a human needs to
    believe the summary.
    """

    check: str
    target: str
    status: CheckStatus
    summary: str
    facts: Mapping[str, Any] = field(default_factory=dict)
    evidence: tuple[str, ...] = ()
    duration: float = 0.0
    started_at: datetime = field(default_factory=utc_now)
    node_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "target": self.target,
            "node": self.node_id,
            "status": self.status.value,
            "summary": self.summary,
            "facts": dict(self.facts),
            "evidence": list(self.evidence),
            "duration": round(self.duration, 4),
            "started_at": self.started_at.isoformat(),
        }


FOLLOWING = "following"  # a stream's state while it follows what it reads


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line of a node's log stream.

    `state`, on the line that says so, is what became of the stream: `"stopped: ..."` once
    what it follows stopped (`"stopped: container killed by SIGKILL (137)"`), `FOLLOWING` when
    it goes on again; None on every other line.
    """

    time: datetime
    source: str
    level: str
    text: str
    state: str | None = None


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """A fix a provider can apply; destructive ones need the target's name typed to confirm."""

    name: str
    title: str
    destructive: bool
    params: Mapping[str, ParamSpec] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ActionPreview:
    """Exactly what an action will touch, said before it runs ("purge 12,408 messages ...").

    `server` names the target and its address ("cache (127.0.0.1:6379)"); `confirm` is what the
    operator types to run it. The provider's `plan_action` fills both when the body leaves them
    empty: a body sets `confirm` itself only when the usual word would say too little (a key
    pattern that matches every key).
    """

    action: str
    target: str
    summary: str
    destructive: bool
    touches: tuple[str, ...] = ()
    counts: Mapping[str, int] = field(default_factory=dict)
    server: str = ""
    confirm: str = ""


@dataclass(frozen=True, slots=True)
class ActionOutcome:
    """What an action did."""

    action: str
    target: str
    ok: bool
    summary: str
    output: tuple[str, ...] = ()
    duration: float = 0.0


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """What a fix's shell command may use of one provider kind: the programs that reach such a
    target by themselves (redis-cli, kubectl), the variables the target gives the command, and
    the variables (a trailing `*`: a prefix) it never inherits from the operator's shell."""

    kind: str
    tools: tuple[str, ...] = ()
    variables: tuple[str, ...] = ()
    shadows: tuple[str, ...] = ()
