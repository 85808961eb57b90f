"""The gate's paths end to end: what a command and an action record before and after they run,
what they hand back, how long they took and when they ended, how a refusal names what was
refused, the third line that says whether a fix's effect was seen, and the diagnosis's veto on
a fix it does not back.

Commands are real shell commands run in the test's own folder; actions are plans of a provider
that reaches no server.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import runbooks.gate as gate_module
from providers.base import ActionPlan, Provider
from providers.contract import ActionOutcome, ActionPreview, CheckCall, Node
from providers.environment import LiveEnvironment
from providers.inventory import Environment, Inventory, Target
from runbooks.engine import Diagnosis, Verdict
from runbooks.fixing import FixOutcome, PlannedFix, apply_fix
from runbooks.gate import (
    COMMAND_OUTPUT_LINES,
    ActionBlocked,
    AuditLog,
    FixRefused,
    Gate,
    GateRun,
    Unconfirmed,
)
from runbooks.model import Cause, Fix, Runbook
from tests.redaction_corpus import PEM_BODY, SECRETS_PEM_LINES

SECRET = "hunter2hunter2"
HINT = "(read_only in the inventory, or --read-only)"


class PlannedOnlyProvider(Provider):
    """Runs the plans it is handed and nothing else: no server is ever contacted."""

    kind = "rabbitmq"

    @property
    def address(self) -> str:
        return "127.0.0.1:5672"

    def root_checks(self) -> tuple[CheckCall, ...]:
        return ()

    async def discover(self) -> Node:
        raise AssertionError("the gate never discovers")


PROVIDER = PlannedOnlyProvider(Target(kind="rabbitmq", name="orders-mq"))


def make_gate(tmp_path: Path, *, read_only: bool = False) -> Gate:
    return Gate(
        "prod",
        read_only=read_only,
        audit=AuditLog(tmp_path / "audit.jsonl"),
        user="oncall",
        host="bastion",
    )


def audit_lines(tmp_path: Path) -> list[dict[str, Any]]:
    return AuditLog(tmp_path / "audit.jsonl").entries()


def shell_environment() -> dict[str, str]:
    """Only what finds `sh`, `seq` and `cat`: nothing of the operator's shell besides."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}


def purge_plan(
    outcome: ActionOutcome,
    *,
    server: str = "orders-mq (127.0.0.1:5672)",
    summary: str = "purge 3 messages from orders",
    during: Callable[[], None] = lambda: None,
) -> ActionPlan:
    async def apply() -> ActionOutcome:
        during()
        return outcome

    preview = ActionPreview(
        "queue.purge", "orders", summary, True, counts={"messages": 3}, server=server
    )
    return ActionPlan(preview, apply)


PURGED = ActionOutcome("queue.purge", "orders", True, "purged 3 messages", ("3 messages",))


async def run_echo(gate: Gate, command: str, **overrides: Any) -> GateRun:
    arguments: dict[str, Any] = {
        "server": "cache (127.0.0.1:6379)",
        "word": "cache",
        "destructive": False,
        "confirmation": "cache",
        "environment": shell_environment(),
        **overrides,
    }
    return await gate.run_command(command, **arguments)


def ticking(*readings: float) -> Callable[[], float]:
    """A monotonic clock that reads these values in turn, and fails a test that reads more."""
    values: Iterator[float] = iter(readings)
    return lambda: next(values)


# The command path


async def test_a_command_keeps_only_its_last_lines_of_output(tmp_path: Path) -> None:
    printed = COMMAND_OUTPUT_LINES + 20
    ran = await run_echo(make_gate(tmp_path), f"seq 1 {printed}")
    assert ran.ok
    assert len(ran.output) == COMMAND_OUTPUT_LINES
    assert (ran.output[0], ran.output[-1]) == ("21", str(printed))


async def test_a_failing_command_says_its_exit_code_and_the_line_that_said_why(
    tmp_path: Path,
) -> None:
    why = 'ERROR:  relation "users" does not exist'
    ran = await run_echo(make_gate(tmp_path), f"echo '{why}'; exit 1")
    assert (ran.ok, ran.exit_code) == (False, 1)
    assert ran.summary == f"exited 1: {why}"
    completed = audit_lines(tmp_path)[-1]
    assert (completed["outcome"], completed["summary"]) == ("failed", f"exited 1: {why}")


async def test_a_command_runs_in_the_folder_it_is_given(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "compose.yaml").write_text("services: {}\n", encoding="utf-8")
    ran = await run_echo(make_gate(tmp_path), "cat compose.yaml", cwd=str(project))
    assert ran.ok and ran.output == ("services: {}",)


async def test_a_command_run_says_what_ran_where_under_which_audit_entry(tmp_path: Path) -> None:
    ran = await run_echo(make_gate(tmp_path), f"echo password={SECRET} >/dev/null")
    started, completed = audit_lines(tmp_path)
    assert ran.ok and ran.exit_code == 0
    assert ran.audit_id == started["id"] == completed["id"]
    assert (ran.kind, ran.target) == ("command", "cache (127.0.0.1:6379)")
    assert ran.action == started["action"] == "echo password=*** >/dev/null"
    assert SECRET not in repr(ran)


async def test_the_time_a_command_took_is_handed_back_and_recorded_to_the_millisecond(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gate_module, "time", SimpleNamespace(monotonic=ticking(100.0, 102.34567)))
    ran = await run_echo(make_gate(tmp_path), "true")
    assert ran.duration == pytest.approx(2.34567)
    assert audit_lines(tmp_path)[-1]["duration"] == 2.346


@pytest.mark.parametrize(("typed", "said"), [(None, False), ("", False), ("yes", True)])
async def test_a_refused_command_is_recorded_as_a_command_with_whether_a_word_was_typed(
    tmp_path: Path, typed: str | None, said: bool
) -> None:
    with pytest.raises(Unconfirmed):
        await run_echo(make_gate(tmp_path), f"echo password={SECRET}", confirmation=typed)
    (refusal,) = audit_lines(tmp_path)
    assert (refusal["kind"], refusal["action"], refusal["target"]) == (
        "command",
        "echo password=***",
        "cache (127.0.0.1:6379)",
    )
    assert refusal["typed"] is said


async def test_a_command_blocked_by_read_only_says_how_to_lift_it(tmp_path: Path) -> None:
    with pytest.raises(ActionBlocked) as blocked:
        await run_echo(make_gate(tmp_path, read_only=True), "redis-cli config set save ''")
    assert str(blocked.value) == (
        f"prod is read-only: command `redis-cli config set save ''` was not run {HINT}"
    )
    (refusal,) = audit_lines(tmp_path)
    assert (refusal["kind"], refusal["reason"]) == ("command", str(blocked.value))


async def test_a_blocked_command_holding_a_password_reads_whole_with_the_value_masked(
    tmp_path: Path,
) -> None:
    with pytest.raises(ActionBlocked) as blocked:
        await run_echo(make_gate(tmp_path, read_only=True), "psql -c vacuum password=hunter2")
    assert str(blocked.value) == (
        f"prod is read-only: command `psql -c vacuum password=***` was not run {HINT}"
    )
    (refusal,) = audit_lines(tmp_path)
    assert refusal["reason"] == str(blocked.value)
    assert "hunter2" not in (tmp_path / "audit.jsonl").read_text()


# The action path


async def test_an_actions_started_line_records_what_it_will_touch(tmp_path: Path) -> None:
    await make_gate(tmp_path).run_action(
        PROVIDER, purge_plan(PURGED), confirmation="orders", params={"queue": "orders"}
    )
    started, completed = audit_lines(tmp_path)
    assert {key: started[key] for key in ("kind", "action", "target", "params")} == {
        "kind": "action",
        "action": "queue.purge",
        "target": "orders-mq (127.0.0.1:5672)",
        "params": {"queue": "orders"},
    }
    assert (started["counts"], started["destructive"]) == ({"messages": 3}, True)
    assert (completed["phase"], completed["outcome"]) == ("completed", "ok")


async def test_an_action_hands_back_the_providers_outcome_under_its_audit_entry(
    tmp_path: Path,
) -> None:
    failed = ActionOutcome("queue.purge", "orders", False, "refused: queue is exclusive", ("x",))
    ran = await make_gate(tmp_path).run_action(
        PROVIDER, purge_plan(failed), confirmation="orders", params={}
    )
    started, completed = audit_lines(tmp_path)
    assert (ran.ok, ran.summary, ran.output, ran.exit_code) == (False, failed.summary, ("x",), None)
    assert ran.audit_id == started["id"] == completed["id"]
    assert (ran.kind, ran.action, ran.target) == (
        "action",
        "queue.purge",
        "orders-mq (127.0.0.1:5672)",
    )
    assert (completed["outcome"], completed["summary"]) == ("failed", failed.summary)


async def test_a_private_key_a_command_or_an_action_prints_across_lines_is_masked_whole(
    tmp_path: Path,
) -> None:
    key = "\n".join(SECRETS_PEM_LINES)
    script = tmp_path / "print-key"
    script.write_text(
        f"printf '%s\\n' 'before' {' '.join(repr(line) for line in SECRETS_PEM_LINES)}\n"
    )
    command = await run_echo(make_gate(tmp_path), f"sh {script}")
    printed = ActionOutcome("queue.purge", "orders", True, "purged", ("before", *key.split("\n")))
    action = await make_gate(tmp_path).run_action(
        PROVIDER, purge_plan(printed), confirmation="orders", params={}
    )
    for output in (command.output, action.output):
        assert output[0] == "before"
        assert not any(body in line for line in output for body in PEM_BODY), output
        assert any("PRIVATE KEY" in line for line in output), output  # what it was is said


async def test_an_action_with_no_server_named_is_recorded_against_what_it_touches(
    tmp_path: Path,
) -> None:
    gate = make_gate(tmp_path)
    plan = purge_plan(PURGED, server="")
    with pytest.raises(Unconfirmed):
        await gate.run_action(PROVIDER, plan, confirmation="yes", params={})
    ran = await gate.run_action(PROVIDER, plan, confirmation="orders", params={})
    assert ran.target == "orders"
    assert [line["target"] for line in audit_lines(tmp_path)] == ["orders"] * 3


async def test_an_unconfirmed_action_is_recorded_as_an_action_on_its_server(
    tmp_path: Path,
) -> None:
    with pytest.raises(Unconfirmed):
        await make_gate(tmp_path).run_action(
            PROVIDER, purge_plan(PURGED), confirmation="orders-mq", params={}
        )
    (refusal,) = audit_lines(tmp_path)
    assert (refusal["kind"], refusal["action"], refusal["target"], refusal["typed"]) == (
        "action",
        "queue.purge",
        "orders-mq (127.0.0.1:5672)",
        True,
    )


async def test_an_action_blocked_by_read_only_says_what_it_would_have_done(tmp_path: Path) -> None:
    summary = f"purge 3 messages from orders on amqp://app:{SECRET}@mq/"
    with pytest.raises(ActionBlocked) as blocked:
        await make_gate(tmp_path, read_only=True).run_action(
            PROVIDER, purge_plan(PURGED, summary=summary), confirmation="orders", params={}
        )
    assert str(blocked.value) == (
        f"prod is read-only: purge 3 messages from orders on amqp://app:***@mq/ was not run {HINT}"
    )
    (refusal,) = audit_lines(tmp_path)
    assert (refusal["kind"], refusal["target"]) == ("action", "orders-mq (127.0.0.1:5672)")
    assert SECRET not in (tmp_path / "audit.jsonl").read_text(encoding="utf-8")


async def test_the_time_an_action_took_is_handed_back_and_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [500.0]
    monkeypatch.setattr(gate_module, "time", SimpleNamespace(monotonic=lambda: now[0]))

    def takes_a_while() -> None:
        now[0] += 1.25

    ran = await make_gate(tmp_path).run_action(
        PROVIDER, purge_plan(PURGED, during=takes_a_while), confirmation="orders", params={}
    )
    assert ran.duration == pytest.approx(1.25)
    assert audit_lines(tmp_path)[-1]["duration"] == 1.25


# The audit log


async def test_the_completed_line_is_stamped_when_the_change_ended(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    began = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    ended = began + timedelta(minutes=2)
    stamps = iter([began, ended])
    monkeypatch.setattr(gate_module, "utc_now", lambda: next(stamps))
    await run_echo(make_gate(tmp_path), "true")
    started, completed = audit_lines(tmp_path)
    assert (started["time"], completed["time"]) == (began.isoformat(), ended.isoformat())


def test_a_detail_json_cannot_hold_is_recorded_as_its_text(tmp_path: Path) -> None:
    when = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    reason = make_gate(tmp_path).refuse(
        "command", "rm -rf data", "db", "not run", folder=tmp_path / "data", asked=when
    )
    (refusal,) = audit_lines(tmp_path)
    assert reason == refusal["reason"] == "not run"
    assert (refusal["folder"], refusal["asked"]) == (str(tmp_path / "data"), str(when))


def test_each_audit_line_is_written_out_and_synced_before_write_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "audit.jsonl"
    on_disk_at_sync: list[str] = []
    sync = os.fsync

    def watched_fsync(fd: int) -> None:
        on_disk_at_sync.append(path.read_text(encoding="utf-8"))
        sync(fd)

    monkeypatch.setattr(os, "fsync", watched_fsync)
    log = AuditLog(path)
    log.write({"phase": "started", "id": "a"})
    log.write({"id": "a", "phase": "completed"})
    first = '{"id": "a", "phase": "started"}\n'
    assert on_disk_at_sync == [first, first + '{"id": "a", "phase": "completed"}\n']


def test_an_empty_state_home_means_the_default_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", "")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert AuditLog().path == tmp_path / "home" / ".local" / "state" / "triage" / "audit.jsonl"


async def test_a_gate_with_the_default_log_writes_under_the_state_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    gate = Gate("prod", read_only=False, audit=AuditLog(), user="oncall", host="bastion")
    await run_echo(gate, "true")
    written = (tmp_path / "state" / "triage" / "audit.jsonl").read_text(encoding="utf-8")
    assert [json.loads(line)["phase"] for line in written.splitlines()] == ["started", "completed"]


# The third line: whether the fix's effect was seen


async def test_the_verified_line_follows_the_run_under_the_same_entry(tmp_path: Path) -> None:
    gate = make_gate(tmp_path)
    ran = await run_echo(gate, "echo maxmemory set")
    gate.record_effect(ran, outcome="done", reason=f"seen: maxmemory is 2gb; password={SECRET}")
    started, _, verified = audit_lines(tmp_path)
    assert {key: value for key, value in verified.items() if key != "time"} == {
        "id": started["id"],
        "phase": "verified",
        "user": "oncall",
        "host": "bastion",
        "environment": "prod",
        "kind": "command",
        "action": "echo maxmemory set",
        "target": "cache (127.0.0.1:6379)",
        "outcome": "done",
        "summary": "seen: maxmemory is 2gb; password=***",
    }
    assert verified["time"] >= started["time"]


async def test_an_actions_verified_line_names_the_action(tmp_path: Path) -> None:
    gate = make_gate(tmp_path)
    ran = await gate.run_action(PROVIDER, purge_plan(PURGED), confirmation="orders", params={})
    gate.record_effect(ran, outcome="not verified", reason="still failing: queue depth is 3")
    verified = audit_lines(tmp_path)[-1]
    assert (verified["id"], verified["kind"], verified["action"], verified["target"]) == (
        ran.audit_id,
        "action",
        "queue.purge",
        "orders-mq (127.0.0.1:5672)",
    )
    assert (verified["outcome"], verified["summary"]) == (
        "not verified",
        "still failing: queue depth is 3",
    )


# The diagnosis's veto: a fix runs only when the diagnosis backs it (or is forced)


def command_fix(tmp_path: Path, verdict: Verdict) -> tuple[PlannedFix, Diagnosis]:
    command = f"touch {tmp_path / 'ran'}"
    fix = Fix(title="Drop the stale lock", run=command)
    cause = Cause(id="stale-lock", title="A stale lock file", fixes=[fix])
    runbook = Runbook(id="deploy-stuck", title="Deploys hang", causes=[cause])
    planned = PlannedFix(
        cause,
        fix,
        command,
        False,
        "web",
        verdict=verdict,
        verdict_why=("the lock check could not read /var/lock",),
        server="web (127.0.0.1:8080)",
        command=command,
        environment=shell_environment(),
    )
    diagnosis = Diagnosis(runbook, "prod", {}, {}, [])
    return planned, diagnosis


def no_targets() -> LiveEnvironment:
    return LiveEnvironment(Inventory(environments={"prod": Environment()}))


async def test_a_ruled_out_causes_fix_is_refused_even_when_confirmed_and_forced(
    tmp_path: Path,
) -> None:
    planned, diagnosis = command_fix(tmp_path, Verdict.RULED_OUT)
    gate = make_gate(tmp_path)
    with pytest.raises(FixRefused, match="cause stale-lock is ruled out by the diagnosis"):
        await apply_fix(planned, diagnosis, no_targets(), gate, "web", force=True)
    assert not (tmp_path / "ran").exists()
    (refusal,) = audit_lines(tmp_path)
    assert (refusal["phase"], refusal["kind"], refusal["target"]) == (
        "refused",
        "command",
        "web (127.0.0.1:8080)",
    )
    assert (refusal["cause"], refusal["verdict"]) == ("stale-lock", "ruled out")
    assert refusal["reason"].endswith(": the lock check could not read /var/lock")


async def test_an_unknown_causes_fix_is_refused_unless_forced(tmp_path: Path) -> None:
    planned, diagnosis = command_fix(tmp_path, Verdict.UNKNOWN)
    gate = make_gate(tmp_path)
    with pytest.raises(FixRefused, match=r"runs only when forced \(--force"):
        await apply_fix(planned, diagnosis, no_targets(), gate, "web")
    assert not (tmp_path / "ran").exists()
    assert [(line["phase"], line["verdict"]) for line in audit_lines(tmp_path)] == [
        ("refused", "unknown")
    ]


async def test_a_forced_fix_runs_and_its_unseen_effect_is_the_third_line(tmp_path: Path) -> None:
    planned, diagnosis = command_fix(tmp_path, Verdict.UNKNOWN)
    gate = make_gate(tmp_path)
    report = await apply_fix(planned, diagnosis, no_targets(), gate, "web", force=True)
    assert (tmp_path / "ran").exists()
    assert (report.ran, report.outcome) == (True, FixOutcome.NOT_VERIFIED)
    started, completed, verified = audit_lines(tmp_path)
    assert [line["phase"] for line in (started, completed, verified)] == [
        "started",
        "completed",
        "verified",
    ]
    assert started["id"] == completed["id"] == verified["id"]
    assert (verified["outcome"], verified["summary"]) == (
        "not verified",
        "nothing here can see its effect",
    )


async def test_a_confirmed_causes_fix_still_needs_its_word(tmp_path: Path) -> None:
    planned, diagnosis = command_fix(tmp_path, Verdict.CONFIRMED)
    gate = make_gate(tmp_path)
    with pytest.raises(Unconfirmed, match="type 'web' to run it"):
        await apply_fix(planned, diagnosis, no_targets(), gate, "yes")
    assert not (tmp_path / "ran").exists()
    report = await apply_fix(planned, diagnosis, no_targets(), gate, "web")
    assert report.ran and (tmp_path / "ran").exists()
    assert [line["phase"] for line in audit_lines(tmp_path)] == [
        "refused",
        "started",
        "completed",
        "verified",
    ]
