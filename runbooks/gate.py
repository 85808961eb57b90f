"""The gate every action and command goes through.

It enforces read-only mode, demands the typed word the preview asks for (never a bare `yes`),
writes an audit line to disk before anything runs and completes it after (and a third once the
fix's effect is seen or not), records every refusal, and redacts secrets from what it records
and returns.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from providers.base import ActionPlan, CommandTarget, ConfirmationRequired, Provider
from providers.contract import utc_now
from providers.redact import redact, redact_texts, redact_value
from runbooks.commands import failure_in, run_shell

COMMAND_OUTPUT_LINES = 500


class Refused(Exception):
    """A change was not made, and the message says why; every refusal is in the audit log."""


class ActionBlocked(Refused):
    """Read-only mode stopped an action or command; the message says which and why."""


class Unconfirmed(Refused, ConfirmationRequired):
    """The word typed is not the one the preview asks for."""


class FixRefused(Refused):
    """The diagnosis does not back the fix: its cause is ruled out, or unknown without force."""


def state_folder() -> Path:
    """triage's own state (audit log, transcripts, its log file): `$XDG_STATE_HOME/triage`,
    ~/.local/state/triage by default."""
    state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return state / "triage"


def default_audit_path() -> Path:
    return state_folder() / "audit.jsonl"


class AuditLog:
    """JSON lines, append-only; each line is on disk (fsync) before the change it records."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_audit_path()

    def write(self, entry: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(entry, default=str, sort_keys=True)
        with self.path.open("a", encoding="utf-8") as audit:
            audit.write(line + "\n")
            audit.flush()
            os.fsync(audit.fileno())

    def entries(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8") as audit:
            return [json.loads(line) for line in audit if line.strip()]


@dataclass(frozen=True, slots=True)
class GateRun:
    """How a change that the gate let through ended, and its audit entry (`audit_id`)."""

    ok: bool
    summary: str
    output: tuple[str, ...]
    duration: float
    audit_id: str
    exit_code: int | None = None
    kind: str = ""
    action: str = ""
    target: str = ""


class Gate:
    """Where changes are allowed, confirmed and recorded, for one environment."""

    def __init__(
        self,
        environment: str,
        *,
        read_only: bool,
        audit: AuditLog,
        user: str | None = None,
        host: str | None = None,
    ) -> None:
        self.environment = environment
        self.read_only = read_only
        self.audit = audit
        self.user = user or getpass.getuser()
        self.host = host or socket.gethostname()

    def _entry(
        self, phase: str, kind: str, name: str, target: str, **details: Any
    ) -> dict[str, Any]:
        return {
            "id": uuid.uuid4().hex,
            "phase": phase,
            "time": utc_now().isoformat(),
            "user": self.user,
            "host": self.host,
            "environment": self.environment,
            "kind": kind,
            "action": name,
            "target": target,
            **details,
        }

    def _begin(self, kind: str, name: str, target: str, **details: Any) -> dict[str, Any]:
        entry = self._entry("started", kind, name, target, **details)
        self.audit.write(entry)
        return entry

    def _complete(self, entry: dict[str, Any], ok: bool, summary: str, duration: float) -> None:
        self.audit.write(
            {
                **entry,
                "phase": "completed",
                "time": utc_now().isoformat(),
                "outcome": "ok" if ok else "failed",
                "summary": redact(summary),
                "duration": round(duration, 3),
            }
        )

    def refuse(self, kind: str, name: str, target: str, reason: str, **details: Any) -> str:
        """Record that a change was refused, and why; returns the reason, redacted."""
        reason = redact(reason)
        self.audit.write(
            self._entry(
                "refused", kind, redact(name), target, outcome="refused", reason=reason, **details
            )
        )
        return reason

    def record_effect(self, run: GateRun, *, outcome: str, reason: str) -> None:
        """After a change ran: whether its effect was seen (`done`) or not (`not verified`)."""
        self.audit.write(
            {
                "id": run.audit_id,
                "phase": "verified",
                "time": utc_now().isoformat(),
                "user": self.user,
                "host": self.host,
                "environment": self.environment,
                "kind": run.kind,
                "action": run.action,
                "target": run.target,
                "outcome": outcome,
                "summary": redact(reason),
            }
        )

    def _refuse_if_read_only(self, kind: str, name: str, target: str, what: str) -> None:
        if self.read_only:
            raise ActionBlocked(
                self.refuse(
                    kind,
                    name,
                    target,
                    f"{self.environment} is read-only: {what} was not run "
                    "(read_only in the inventory, or --read-only)",
                )
            )

    async def run_action(
        self,
        provider: Provider,
        plan: ActionPlan,
        *,
        confirmation: str | None,
        params: dict[str, Any],
    ) -> GateRun:
        """Run a planned action if allowed and confirmed; record it however it ends."""
        preview = plan.preview
        target = preview.server or preview.target
        self._refuse_if_read_only("action", preview.action, target, redact(preview.summary))
        expected = plan.confirmation_word()
        if confirmation != expected:
            raise Unconfirmed(
                self.refuse(
                    "action",
                    preview.action,
                    target,
                    f"{preview.summary}: not run; type {expected!r} to run it",
                    typed=bool(confirmation),
                )
            )
        entry = self._begin(
            "action",
            preview.action,
            target,
            params={key: redact_value(key, value) for key, value in params.items()},
            preview=redact(preview.summary),
            counts=dict(preview.counts),
            destructive=preview.destructive,
        )
        started = time.monotonic()
        outcome = await provider.run_action(plan, confirmation=confirmation)
        duration = time.monotonic() - started
        self._complete(entry, outcome.ok, outcome.summary, duration)
        return GateRun(
            outcome.ok,
            outcome.summary,
            outcome.output,
            duration,
            entry["id"],
            None,
            "action",
            preview.action,
            target,
        )

    async def run_command(
        self,
        command: str,
        *,
        server: str,
        word: str,
        destructive: bool,
        confirmation: str | None,
        environment: Mapping[str, str],
        targets: Sequence[CommandTarget] = (),
        cwd: str | None = None,
        timeout: float = 120.0,
    ) -> GateRun:
        """Run a fix's shell command after confirmation, with its targets' environment; its
        output captured and redacted. Output that says it failed makes it failed at exit 0."""
        shown = redact(command)
        self._refuse_if_read_only("command", shown, server, f"command `{shown}`")
        if confirmation != word:
            raise Unconfirmed(
                self.refuse(
                    "command",
                    shown,
                    server,
                    f"`{shown}`: not run; type {word!r} to run it",
                    typed=bool(confirmation),
                )
            )
        entry = self._begin("command", shown, server, destructive=destructive)
        started = time.monotonic()
        ran = await run_shell(
            command,
            environment=environment,
            targets=targets,
            cwd=cwd,
            timeout=timeout,
            keep_lines=COMMAND_OUTPUT_LINES,
        )
        output = tuple(redact_texts(ran.output))  # a key printed across lines, masked whole
        failure = failure_in(output)
        if ran.exit_code is None:
            ok, summary = False, f"stopped after {timeout:g}s without finishing"
        elif ran.exit_code != 0:
            ok, summary = False, f"exited {ran.exit_code}" + (f": {failure}" if failure else "")
        elif failure:
            ok, summary = False, f"exited 0 but its output says it failed: {failure}"
        else:
            ok, summary = True, "exited 0"
        duration = time.monotonic() - started
        self._complete(entry, ok, summary, duration)
        return GateRun(
            ok, summary, output, duration, entry["id"], ran.exit_code, "command", shown, server
        )
