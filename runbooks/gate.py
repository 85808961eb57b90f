"""The gate every action and command goes through.

It enforces read-only mode, demands the right confirmation (the target's name, typed, for a
destructive change), writes an audit line to disk before anything runs and completes it after,
and redacts secrets from what it records and returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import json
import os
import signal
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from providers.base import ActionPlan, ConfirmationRequired, Provider
from providers.contract import ActionOutcome, utc_now
from providers.redact import redact, redact_value

COMMAND_OUTPUT_LINES = 500


class ActionBlocked(Exception):
    """Read-only mode stopped an action or command; the message says which and why."""


def default_audit_path() -> Path:
    state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return state / "triage" / "audit.jsonl"


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
class CommandOutcome:
    command: str
    ok: bool
    exit_code: int | None
    output: tuple[str, ...]
    duration: float
    summary: str


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

    def _begin(self, kind: str, name: str, target: str, **details: Any) -> dict[str, Any]:
        entry = {
            "id": uuid.uuid4().hex,
            "phase": "started",
            "time": utc_now().isoformat(),
            "user": self.user,
            "host": self.host,
            "environment": self.environment,
            "kind": kind,
            "action": name,
            "target": target,
            **details,
        }
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

    def _refuse_if_read_only(self, what: str) -> None:
        if self.read_only:
            raise ActionBlocked(
                f"{self.environment} is read-only: {what} was not run "
                "(read_only in the inventory, or --read-only)"
            )

    async def run_action(
        self,
        provider: Provider,
        plan: ActionPlan,
        *,
        confirmation: str | None,
        params: dict[str, Any],
    ) -> ActionOutcome:
        """Run a planned action if allowed and confirmed; record it either way it ends."""
        self._refuse_if_read_only(plan.preview.summary)
        if confirmation != plan.confirmation_word():
            # The provider would refuse too; refusing here keeps a refusal out of the audit log.
            await provider.run_action(plan, confirmation=confirmation)
        entry = self._begin(
            "action",
            plan.preview.action,
            plan.preview.target,
            params={key: redact_value(key, value) for key, value in params.items()},
            preview=redact(plan.preview.summary),
            destructive=plan.preview.destructive,
        )
        started = time.monotonic()
        outcome = await provider.run_action(plan, confirmation=confirmation)
        self._complete(entry, outcome.ok, outcome.summary, time.monotonic() - started)
        return outcome

    async def run_command(
        self,
        command: str,
        *,
        target: str,
        destructive: bool,
        confirmation: str | None,
        timeout: float = 120.0,
    ) -> CommandOutcome:
        """Run a fix's shell command after confirmation, its output captured and redacted."""
        self._refuse_if_read_only(f"command `{redact(command)}`")
        expected = target if destructive else "yes"
        if confirmation != expected:
            what = f"type {expected!r}" if destructive else "confirm with 'yes'"
            raise ConfirmationRequired(f"`{redact(command)}`: not run; {what} to run it")
        entry = self._begin("command", redact(command), target, destructive=destructive)
        started = time.monotonic()
        process = await asyncio.create_subprocess_shell(
            command,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            stdin=asyncio.subprocess.DEVNULL,
            start_new_session=True,  # its own process group, so a timeout stops its children
        )
        try:
            async with asyncio.timeout(timeout):
                raw, _ = await process.communicate()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
            outcome = CommandOutcome(
                redact(command),
                False,
                None,
                (),
                time.monotonic() - started,
                f"stopped after {timeout:g}s without finishing",
            )
        else:
            lines = raw.decode("utf-8", "replace").splitlines()[-COMMAND_OUTPUT_LINES:]
            code = process.returncode
            outcome = CommandOutcome(
                redact(command),
                code == 0,
                code,
                tuple(redact(line) for line in lines),
                time.monotonic() - started,
                f"exited {code}",
            )
        self._complete(entry, outcome.ok, outcome.summary, outcome.duration)
        return outcome
