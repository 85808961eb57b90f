"""The gate: read-only blocks everything, every change needs its typed word (never `yes`), the
audit line comes first, refusals are recorded, and output that says "failed" is a failure."""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

import pytest

from providers.base import ActionPlan
from providers.contract import ActionOutcome, ActionPreview
from providers.inventory import Target
from providers.redis_provider import RedisProvider
from providers.registry import action_catalogue
from runbooks.gate import ActionBlocked, AuditLog, Gate, Unconfirmed

# A provider only for its run_action; no server is contacted by these plans.
PROVIDER = RedisProvider(Target(kind="redis", name="cache", url="redis://127.0.0.1:1/0"))


def plan_for(name: str, *, destructive: bool, calls: list[str]) -> ActionPlan:
    async def apply() -> ActionOutcome:
        calls.append(name)
        return ActionOutcome(name, "orders", True, f"{name} done")

    preview = ActionPreview(name, "orders", f"{name} on orders", destructive, counts={"n": 3})
    return ActionPlan(preview, apply)


def gate(tmp_path: Path, *, read_only: bool) -> Gate:
    return Gate(
        "prod",
        read_only=read_only,
        audit=AuditLog(tmp_path / "audit.jsonl"),
        user="oncall",
        host="bastion",
    )


def entries(tmp_path: Path) -> list[dict[str, object]]:
    return AuditLog(tmp_path / "audit.jsonl").entries()


@pytest.mark.parametrize("name", sorted(action_catalogue()))
async def test_read_only_blocks_every_registered_action(tmp_path: Path, name: str) -> None:
    _, spec = action_catalogue()[name]
    calls: list[str] = []
    plan = plan_for(name, destructive=spec.destructive, calls=calls)
    with pytest.raises(ActionBlocked, match=r"^prod is read-only: .* was not run"):
        await gate(tmp_path, read_only=True).run_action(
            PROVIDER, plan, confirmation=plan.confirmation_word(), params={}
        )
    assert calls == []
    (refusal,) = entries(tmp_path)  # the refusal is recorded, nothing else
    assert (refusal["phase"], refusal["outcome"], refusal["action"]) == ("refused", "refused", name)
    assert "read-only" in str(refusal["reason"])


async def test_read_only_blocks_commands_and_says_so_in_the_audit(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    with pytest.raises(ActionBlocked):
        await gate(tmp_path, read_only=True).run_command(
            f"touch {marker}",
            server="orders (127.0.0.1:5672)",
            word="orders",
            destructive=False,
            confirmation="orders",
            environment={},
        )
    assert not marker.exists()
    (refusal,) = entries(tmp_path)
    assert refusal["phase"] == "refused" and refusal["target"] == "orders (127.0.0.1:5672)"


@pytest.mark.parametrize("typed", [None, "", "yes", "Orders", "orders ", "order", "*"])
async def test_destructive_needs_the_exact_word(tmp_path: Path, typed: str | None) -> None:
    calls: list[str] = []
    plan = plan_for("queue.purge", destructive=True, calls=calls)
    with pytest.raises(Unconfirmed, match="type 'orders' to run it"):
        await gate(tmp_path, read_only=False).run_action(
            PROVIDER, plan, confirmation=typed, params={}
        )
    assert calls == []
    (refusal,) = entries(tmp_path)
    assert refusal["phase"] == "refused" and refusal["typed"] == bool(typed)


@pytest.mark.parametrize("typed", [None, "", "yes", "y"])
async def test_a_change_that_destroys_nothing_is_not_run_on_yes(
    tmp_path: Path, typed: str | None
) -> None:
    calls: list[str] = []
    plan = plan_for("service.restart", destructive=False, calls=calls)
    assert plan.confirmation_word() == "orders"
    with pytest.raises(Unconfirmed):
        await gate(tmp_path, read_only=False).run_action(
            PROVIDER, plan, confirmation=typed, params={}
        )
    assert calls == []


@pytest.mark.parametrize("typed", [None, "yes", "*", "cache"])
async def test_a_command_is_not_run_without_its_word(tmp_path: Path, typed: str | None) -> None:
    marker = tmp_path / "ran"
    with pytest.raises(Unconfirmed, match="type 'cache/rm' to run it"):
        await gate(tmp_path, read_only=False).run_command(
            f"rm -f {marker}; touch {marker}",
            server="cache (127.0.0.1:6379)",
            word="cache/rm",
            destructive=True,
            confirmation=typed,
            environment={},
        )
    assert not marker.exists()
    assert [entry["phase"] for entry in entries(tmp_path)] == ["refused"]


async def test_the_audit_line_is_on_disk_before_the_action_runs(tmp_path: Path) -> None:
    audit_path = tmp_path / "audit.jsonl"
    seen_while_running: list[dict[str, object]] = []

    async def apply() -> ActionOutcome:
        seen_while_running.extend(json.loads(line) for line in audit_path.read_text().splitlines())
        return ActionOutcome("queue.purge", "orders", True, "purged 3 messages")

    preview = ActionPreview("queue.purge", "orders", "purge 3 messages from orders", True)
    outcome = await gate(tmp_path, read_only=False).run_action(
        PROVIDER,
        ActionPlan(preview, apply),
        confirmation="orders",
        params={"queue": "orders", "password": "hunter2", "url": "amqp://u:pw@mq/"},
    )
    assert outcome.ok
    (started,) = seen_while_running
    assert started["phase"] == "started"
    assert (started["user"], started["host"], started["environment"]) == (
        "oncall",
        "bastion",
        "prod",
    )
    assert started["preview"] == "purge 3 messages from orders"
    assert started["params"] == {"queue": "orders", "password": "***", "url": "amqp://u:***@mq/"}
    audit = AuditLog(audit_path).entries()
    assert [entry["phase"] for entry in audit] == ["started", "completed"]
    assert audit[1]["outcome"] == "ok" and audit[1]["id"] == started["id"]
    assert "hunter2" not in audit_path.read_text()


async def test_the_command_audit_line_is_on_disk_before_the_command_runs(tmp_path: Path) -> None:
    audit_path = tmp_path / "audit.jsonl"
    seen = tmp_path / "seen"
    ran = await gate(tmp_path, read_only=False).run_command(
        f"cp {audit_path} {seen}",
        server="db (127.0.0.1:5432)",
        word="db",
        destructive=False,
        confirmation="db",
        environment=dict(os.environ),
    )
    assert ran.ok
    (started,) = [json.loads(line) for line in seen.read_text().splitlines()]
    assert (started["phase"], started["target"]) == ("started", "db (127.0.0.1:5432)")


async def test_a_command_runs_with_its_output_captured_and_redacted(tmp_path: Path) -> None:
    ran = await gate(tmp_path, read_only=False).run_command(
        "echo connecting to postgres://app:s3cr3t@db/app; exit 3",
        server="db (127.0.0.1:5432)",
        word="db",
        destructive=False,
        confirmation="db",
        environment=dict(os.environ),
    )
    assert (ran.ok, ran.exit_code, ran.summary) == (False, 3, "exited 3")
    assert ran.output == ("connecting to postgres://app:***@db/app",)
    assert "s3cr3t" not in (tmp_path / "audit.jsonl").read_text()


@pytest.mark.parametrize(
    "printed",
    [
        "WRONGPASS invalid username-password pair or user is disabled.",
        "NOAUTH Authentication required.",
        "(error) NOPERM User triage has no permissions to run the 'config|set' command",
        "ERR unknown command 'CONFIG', with args beginning with: ",
        "ERROR:  permission denied for table users",
        'psql: error: connection to server at "127.0.0.1", port 5432 failed',
        "Error response from daemon: No such container: web",
        'Error from server (NotFound): deployments.apps "web" not found',
        "An error occurred (AccessDeniedException) when calling the UpdateService operation",
        "sh: 1: redis-cli: not found",
    ],
)
async def test_a_command_that_says_it_failed_is_failed_at_exit_0(
    tmp_path: Path, printed: str
) -> None:
    ran = await gate(tmp_path, read_only=False).run_command(
        f"printf '%s\\n' {shlex.quote(printed)}",
        server="cache (127.0.0.1:6379)",
        word="cache",
        destructive=False,
        confirmation="cache",
        environment=dict(os.environ),
    )
    assert ran.exit_code == 0 and not ran.ok
    assert ran.summary.startswith("exited 0 but its output says it failed: ")
    completed = entries(tmp_path)[-1]
    assert (completed["phase"], completed["outcome"]) == ("completed", "failed")


@pytest.mark.parametrize(
    "printed",
    [
        "OK",
        "web-1  | ERROR: the application logged an error",
        "maxmemory-policy",
        "0 errors",
        "UPDATE 1",
    ],
)
async def test_ordinary_output_is_not_a_failure(tmp_path: Path, printed: str) -> None:
    ran = await gate(tmp_path, read_only=False).run_command(
        f"printf '%s\\n' {shlex.quote(printed)}",
        server="cache (127.0.0.1:6379)",
        word="cache",
        destructive=False,
        confirmation="cache",
        environment=dict(os.environ),
    )
    assert ran.ok and ran.summary == "exited 0"


async def test_a_hung_command_is_stopped_at_its_timeout(tmp_path: Path) -> None:
    ran = await gate(tmp_path, read_only=False).run_command(
        "sleep 30",
        server="db",
        word="db",
        destructive=False,
        confirmation="db",
        environment=dict(os.environ),
        timeout=0.3,
    )
    assert not ran.ok and ran.summary == "stopped after 0.3s without finishing"


async def test_an_audit_record_says_who_did_what_where_and_how_it_went(tmp_path: Path) -> None:
    """Each line a JSON object on its own line, keys sorted; a started line and a completed line
    with the same id, the completed one with its outcome, redacted summary and duration."""
    secret = "hunter2hunter2"
    ran = await gate(tmp_path, read_only=False).run_command(
        f"echo password={secret}; echo orders-db purged",
        server="orders-db (127.0.0.1:5432)",
        word="orders-db",
        destructive=True,
        confirmation="orders-db",
        environment=dict(os.environ),
    )
    assert ran.ok
    lines = (tmp_path / "audit.jsonl").read_text(encoding="utf-8").splitlines()
    started, completed = (json.loads(line) for line in lines)
    assert lines[0] == json.dumps(started, sort_keys=True)
    shown = "echo password=*** echo orders-db purged"  # the masked value runs to a space
    assert {k: v for k, v in started.items() if k not in ("id", "time")} == {
        "phase": "started",
        "user": "oncall",
        "host": "bastion",
        "environment": "prod",
        "kind": "command",
        "action": shown,
        "target": "orders-db (127.0.0.1:5432)",
        "destructive": True,
    }
    assert completed["id"] == started["id"] and completed["phase"] == "completed"
    assert (completed["outcome"], completed["summary"]) == ("ok", "exited 0")
    assert completed["action"] == shown and secret not in "\n".join(lines)
    assert completed["duration"] == round(completed["duration"], 3) >= 0
    assert started["time"] <= completed["time"]


def test_the_audit_log_lives_in_the_state_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from runbooks.gate import default_audit_path, state_folder

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert state_folder() == tmp_path / "state" / "triage"
    assert default_audit_path() == tmp_path / "state" / "triage" / "audit.jsonl"
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_audit_path() == tmp_path / "home" / ".local" / "state" / "triage" / "audit.jsonl"


def test_an_audit_log_in_a_folder_not_made_yet_is_made(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "a" / "b" / "audit.jsonl")
    log.write({"phase": "refused", "note": "né à Zürich"})
    assert log.entries() == [{"phase": "refused", "note": "né à Zürich"}]
