"""`triage check` given an inventory with unusable ports, as a script or cron job runs it: a real
process, the other targets' output intact."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.servers.redis import RedisServer

pytestmark = pytest.mark.integration

# What a command must not inherit from the machine running the tests.
MACHINE_VARIABLES = ("REDIS_URL", "DATABASE_URL", "AMQP_URL", "TRIAGE_CONFIG", "DOCKER_HOST")


def triage(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in MACHINE_VARIABLES}
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        timeout=60,
    )


@pytest.fixture
def inventory(redis_server: RedisServer, tmp_path: Path) -> Path:
    path = tmp_path / "triage.yaml"
    path.write_text(
        textwrap.dedent(
            f"""
            environments:
              prod:
                targets:
                  - {{kind: redis, name: cache, url: "redis://127.0.0.1:99999/0"}}
                  - {{kind: postgres, name: orders-db, url: "postgresql://h:-5/db"}}
                  - {{kind: http, name: api, url: "http://127.0.0.1:abc/health"}}
                  - {{kind: redis, name: sessions, url: "{redis_server.url}"}}
            """
        )
    )
    return path


def test_bad_ports_are_said_once_each_and_the_other_target_is_still_checked(
    inventory: Path, tmp_path: Path
) -> None:
    completed = triage("check", "--config", str(inventory), cwd=tmp_path)
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert completed.stderr.splitlines() == [
        "triage: environment prod: target cache: port 99999 is out of range 1-65535",
        "triage: environment prod: target orders-db: port -5 is out of range 1-65535",
        "triage: environment prod: target api: port 'abc' is not a number",
    ]
    rows = [line.split(maxsplit=4) for line in completed.stdout.splitlines()[2:-1]]
    said = {(row[0], row[1], row[2]) for row in rows}
    assert {
        ("ERROR", "target.url", "cache"),
        ("ERROR", "target.url", "orders-db"),
        ("ERROR", "target.url", "api"),
    } <= said
    sessions = [(row[0], row[1]) for row in rows if row[2] == "sessions"]
    assert sessions == [
        ("PASS", "redis.ping"),
        ("PASS", "redis.memory"),
        ("PASS", "redis.clients"),
        ("PASS", "redis.persistence"),
        ("PASS", "redis.replication"),
    ]
    assert completed.stdout.splitlines()[-1] == "8 checks: 5 pass, 3 error"


def test_bad_ports_in_json_are_results_like_any_other(inventory: Path, tmp_path: Path) -> None:
    completed = triage("check", "--json", "--config", str(inventory), cwd=tmp_path)
    assert completed.returncode == 1, completed.stderr
    assert "Traceback" not in completed.stderr
    document = json.loads(completed.stdout)
    assert (document["environment"], document["exit_code"]) == ("prod", 1)
    assert document["counts"] == {"pass": 5, "warn": 0, "fail": 0, "error": 3, "skipped": 0}
    unusable = {r["target"]: r["summary"] for r in document["results"] if r["status"] == "error"}
    assert unusable == {
        "cache": "target cache: port 99999 is out of range 1-65535",
        "orders-db": "target orders-db: port -5 is out of range 1-65535",
        "api": "target api: port 'abc' is not a number",
    }
