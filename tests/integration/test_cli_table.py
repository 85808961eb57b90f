"""`triage check`'s table: a header over its columns, and a TARGET column that tells a server
from each of its databases; `--json` says the same as `label`, its other keys unchanged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers.postgres import SUPERUSER_PASSWORD, PostgresServer

pytestmark = pytest.mark.integration

MACHINE_VARIABLES = ("REDIS_URL", "DATABASE_URL", "AMQP_URL", "TRIAGE_CONFIG", "DOCKER_HOST")
PASSWORD_ENV = "TRIAGE_TEST_TABLE_PG_PASSWORD"
RESULT_KEYS = [
    "check",
    "target",
    "label",
    "node",
    "status",
    "summary",
    "facts",
    "evidence",
    "duration",
    "started_at",
]


def triage(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in MACHINE_VARIABLES}
    environment[PASSWORD_ENV] = SUPERUSER_PASSWORD
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        timeout=60,
    )


@pytest.fixture
def orders(postgres_server: PostgresServer) -> Iterator[PostgresServer]:
    """The shared server with an `orders` database of this test's own."""
    postgres_server.execute("drop database if exists orders")
    postgres_server.execute("create database orders")
    yield postgres_server
    postgres_server.execute("drop database if exists orders with (force)")


@pytest.fixture
def inventory(orders: PostgresServer, tmp_path: Path) -> Path:
    path = tmp_path / "triage.yaml"
    path.write_text(
        textwrap.dedent(
            f"""
            environments:
              prod:
                targets:
                  - kind: postgres
                    name: orders-db
                    url: "postgresql://postgres@127.0.0.1:{orders.port}/postgres"
                    password: {{env: {PASSWORD_ENV}}}
            """
        )
    )
    return path


def test_the_table_has_a_header_and_tells_the_server_from_each_database(
    inventory: Path, tmp_path: Path
) -> None:
    completed = triage("check", "--config", str(inventory), cwd=tmp_path)
    assert completed.returncode in (0, 1), completed.stderr
    assert "Traceback" not in completed.stderr
    lines = completed.stdout.splitlines()
    assert lines[0] == f"environment prod ({inventory})"
    header, rows = lines[1], lines[2:-1]
    assert header.split() == ["STATUS", "CHECK", "TARGET", "TIME", "SUMMARY"]
    # Every row's cells start where the header's titles do.
    starts = [header.index(title) for title in ("CHECK", "TARGET", "SUMMARY")]
    for row in rows:
        assert all(row[start - 2 : start] == "  " and row[start] != " " for start in starts), row
    by_target: dict[str, set[str]] = {}
    for row in rows:
        _, check, target, _ = row.split(maxsplit=3)
        by_target.setdefault(target, set()).add(check)
    assert {"postgres.ready", "postgres.connections"} <= by_target["orders-db"]
    assert by_target["orders-db/orders"] == {
        "postgres.database_size",
        "postgres.long_queries",
        "postgres.blocked",
        "postgres.slow_statements",
    }
    assert by_target["orders-db/postgres"] == by_target["orders-db/orders"]


def test_json_keeps_its_keys_and_adds_the_label(inventory: Path, tmp_path: Path) -> None:
    completed = triage("check", "--json", "--config", str(inventory), cwd=tmp_path)
    document = json.loads(completed.stdout)
    assert list(document) == ["environment", "source", "results", "exit_code", "counts"]
    assert document["exit_code"] == completed.returncode
    assert sum(document["counts"].values()) == len(document["results"])
    # Written as it comes, yet the same text json.dump writes for the whole document.
    assert completed.stdout == json.dumps(document, indent=2) + "\n"
    labels = {}
    for result in document["results"]:
        assert list(result) == RESULT_KEYS
        labels[result["node"]] = result["label"]
    assert labels["postgres:orders-db"] == "orders-db"
    assert labels["postgres:orders-db/orders"] == "orders-db/orders"
