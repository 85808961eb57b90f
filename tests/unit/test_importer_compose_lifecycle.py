"""Compose scale and down commands the importer has never seen become compose.scale/compose.down.

The commands are written here, not taken from the five guides: the rules follow the shape of a
command (`--scale SERVICE=N`, `down`, `-v`/`--volumes`, `-p`), not a guide's wording.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from providers.registry import action_catalogue, check_catalogue
from runbooks.importer import import_guide
from runbooks.importer.commands import Command, split_block
from runbooks.importer.mapping import map_command

CHECKS, ACTIONS = check_catalogue(), action_catalogue()


def one(text: str) -> Command:
    commands, unknown = split_block(text, "bash", 0)
    assert len(commands) == 1 and not unknown, (commands, unknown)
    return commands[0]


def mapped(text: str) -> tuple[str, dict[str, object]]:
    result = map_command(one(text), CHECKS, ACTIONS)
    assert result.rule is not None, result.reason
    return result.rule.name, {name: arg.value for name, arg in result.args.items()}


@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("docker compose up -d --scale billing=5", {"service": "billing", "replicas": 5}),
        ("docker-compose up --scale billing=2", {"service": "billing", "replicas": 2}),
        ("docker compose up -d --scale=billing=2 billing", {"service": "billing", "replicas": 2}),
        ("docker-compose scale mailer=4", {"service": "mailer", "replicas": 4}),
        (
            "docker compose -p ledger up -d --no-recreate --scale mailer=3",
            {"service": "mailer", "replicas": 3, "project": "ledger"},
        ),
        ("docker compose up -d --scale mailer=$COUNT", {"service": "mailer", "replicas": "$COUNT"}),
    ],
)
def test_scale_commands_become_compose_scale_with_service_and_replicas(
    command: str, args: dict[str, object]
) -> None:
    assert mapped(command) == ("compose.scale", args)


@pytest.mark.parametrize(
    ("command", "args", "destructive"),
    [
        ("docker compose down", {}, False),
        ("docker-compose down --remove-orphans", {}, False),
        ("docker compose --project-name ledger down", {"project": "ledger"}, False),
        ("docker-compose down -v", {"volumes": True}, True),
        ("docker compose -p ledger down --volumes", {"project": "ledger", "volumes": True}, True),
    ],
)
def test_down_becomes_compose_down_and_its_volumes_flag_is_kept(
    command: str, args: dict[str, object], destructive: bool
) -> None:
    assert mapped(command) == ("compose.down", args)
    assert one(command).destructive is destructive
    assert ACTIONS["compose.down"][1].destructive is True  # even without -v: never a safe action


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        ("docker compose down --rmi all", "also removes images"),
        ("docker compose up -d --scale web=2 --scale mailer=3", "scales several services"),
    ],
)
def test_what_the_actions_do_not_do_stays_a_manual_step(command: str, reason: str) -> None:
    result = map_command(one(command), CHECKS, ACTIONS)
    assert result.rule is None and reason in result.reason


def test_a_guide_s_scale_and_down_fixes_become_actions_with_parameters(tmp_path: Path) -> None:
    guide = tmp_path / "ledger.md"
    guide.write_text(
        textwrap.dedent(
            """\
            # Ledger operations

            ## Mail backlog grows

            **Symptom**: outgoing mail waits for minutes.

            ```bash
            docker compose ps mailer
            ```

            **Fix**: add senders.

            ```bash
            docker compose up -d --scale mailer=6
            ```

            ## Ledger database will not start

            **Symptom**: the ledger database restarts in a loop after an upgrade.

            ```bash
            docker compose ps ledgerdb
            ```

            **Fix**: start from an empty volume (loses the data).

            ```bash
            docker compose down -v
            ```
            """
        ),
        encoding="utf-8",
    )
    result = import_guide(guide)
    assert result.errors == []
    docs = [yaml.safe_load(text) for text in result.yaml.values()]
    fixes = [fix for doc in docs for cause in doc["causes"] for fix in cause["fixes"]]
    actions = {fix["action"]: fix.get("with", {}) for fix in fixes if "action" in fix}
    assert actions["compose.scale"] == {"service": "$service", "replicas": "$replicas"}
    assert actions["compose.down"] == {"volumes": True}
    scaled = next(doc for doc in docs if "compose.scale" in str(doc))
    assert scaled["params"]["replicas"]["default"] == 6
    assert scaled["params"]["service"]["default"] == "mailer"
    records = {record.text: record for record in result.coverage.commands}
    assert records["docker compose down -v"].outcome == "action"
    assert records["docker compose down -v"].destructive is True
    assert records["docker compose up -d --scale mailer=6"].outcome == "action"
