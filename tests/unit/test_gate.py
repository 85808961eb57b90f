"""The gate: read-only blocks everything, destructive needs the exact name, audit comes first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from providers.base import ActionPlan, ConfirmationRequired
from providers.contract import ActionOutcome, ActionPreview
from providers.inventory import Target
from providers.redis_provider import RedisProvider
from providers.registry import action_catalogue
from runbooks.gate import ActionBlocked, AuditLog, Gate

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
    assert not (tmp_path / "audit.jsonl").exists()


async def test_read_only_blocks_commands(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    with pytest.raises(ActionBlocked):
        await gate(tmp_path, read_only=True).run_command(
            f"touch {marker}", target="orders", destructive=False, confirmation="yes"
        )
    assert not marker.exists()


@pytest.mark.parametrize("typed", [None, "", "yes", "Orders", "orders ", "order"])
async def test_destructive_needs_the_exact_target_name(tmp_path: Path, typed: str | None) -> None:
    calls: list[str] = []
    plan = plan_for("queue.purge", destructive=True, calls=calls)
    with pytest.raises(ConfirmationRequired, match="type 'orders' to run it"):
        await gate(tmp_path, read_only=False).run_action(
            PROVIDER, plan, confirmation=typed, params={}
        )
    assert calls == []
    assert AuditLog(tmp_path / "audit.jsonl").entries() == []


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
    entries = AuditLog(audit_path).entries()
    assert [entry["phase"] for entry in entries] == ["started", "completed"]
    assert entries[1]["outcome"] == "ok" and entries[1]["id"] == started["id"]
    assert "hunter2" not in audit_path.read_text()


async def test_a_command_runs_after_yes_with_its_output_captured_and_redacted(
    tmp_path: Path,
) -> None:
    ran = await gate(tmp_path, read_only=False).run_command(
        "echo connecting to postgres://app:s3cr3t@db/app; exit 3",
        target="db",
        destructive=False,
        confirmation="yes",
    )
    assert (ran.ok, ran.exit_code, ran.summary) == (False, 3, "exited 3")
    assert ran.output == ("connecting to postgres://app:***@db/app",)
    assert "s3cr3t" not in (tmp_path / "audit.jsonl").read_text()


async def test_a_hung_command_is_stopped_at_its_timeout(tmp_path: Path) -> None:
    ran = await gate(tmp_path, read_only=False).run_command(
        "sleep 30", target="db", destructive=False, confirmation="yes", timeout=0.3
    )
    assert not ran.ok and ran.summary == "stopped after 0.3s without finishing"
