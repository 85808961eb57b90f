"""`triage check` and `triage discover` as a script or cron job runs them: a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.servers.process import free_port
from tests.servers.redis import RedisServer

pytestmark = pytest.mark.integration


# `python -m tui.cli`, with local discovery sealed off from this machine as tests/conftest.py
# seals it in the test's own process: the Docker socket it looks for is under the test's own
# HOME (absent), and the usual ports it probes are ports nothing listens on. What a test wants
# discovered, it names (REDIS_URL).
SEALED_CLI = """
import socket, sys
from pathlib import Path
from providers import inventory
from tui.cli import main

def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]

inventory.DOCKER_SOCKET = Path.home() / "docker.sock"
inventory.DEFAULT_LOCAL_PORTS = {kind: closed_port() for kind in inventory.DEFAULT_LOCAL_PORTS}
sys.exit(main())
"""


def triage(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    environment = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "TRIAGE_CONFIG"}}
    environment.update(env or {})
    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "-c", SEALED_CLI, *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        timeout=60,
    )
    return completed, time.monotonic() - started


def inventory_file(tmp_path: Path, *urls: str) -> Path:
    """An inventory naming only the given Redis URLs, so nothing else on the machine counts."""
    targets = "".join(
        f'\n      - {{kind: redis, name: cache{index}, url: "{url}"}}'
        for index, url in enumerate(urls)
    )
    path = tmp_path / "triage.yaml"
    path.write_text(f"environments:\n  test:\n    targets:{targets}\n")
    return path


def test_check_json_on_a_closed_port_exits_1_naming_host_and_port(tmp_path: Path) -> None:
    port = free_port()
    completed, elapsed = triage(
        "check", "--json", env={"REDIS_URL": f"redis://127.0.0.1:{port}/0"}, cwd=tmp_path
    )
    assert completed.returncode == 1, completed.stderr
    document = json.loads(completed.stdout)
    assert document["exit_code"] == 1
    # Discovery finds what REDIS_URL names and nothing of this machine.
    assert {result["target"] for result in document["results"]} == {"redis"}
    assert len(document["results"]) == 5
    for result in document["results"]:
        assert result["status"] == "error"
        assert result["summary"] == f"127.0.0.1:{port}: connection refused"
        assert result["facts"]["address"] == f"127.0.0.1:{port}"
    assert elapsed < 5.0  # the check timeout; refused connections cost far less


def test_check_on_a_healthy_redis_prints_a_table_and_exits_0(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    config = inventory_file(tmp_path, redis_server.url)
    completed, _ = triage("check", "--config", str(config), cwd=tmp_path)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    lines = completed.stdout.splitlines()
    assert lines[0] == f"environment test ({config})"
    assert lines[1].split() == ["STATUS", "CHECK", "TARGET", "TIME", "SUMMARY"]
    assert [line.split()[:3] for line in lines[2:7]] == [
        ["PASS", "redis.ping", "cache0"],
        ["PASS", "redis.memory", "cache0"],
        ["PASS", "redis.clients", "cache0"],
        ["PASS", "redis.persistence", "cache0"],
        ["PASS", "redis.replication", "cache0"],
    ]
    assert lines[-1] == "5 checks: 5 pass"
    assert "\x1b[" not in completed.stdout  # no colour when not on a terminal


def test_check_exits_1_when_a_check_fails(redis_server: RedisServer, tmp_path: Path) -> None:
    redis_server.fill_to_maxmemory()
    config = inventory_file(tmp_path, redis_server.url)
    completed, _ = triage("check", "--json", "--config", str(config), cwd=tmp_path)
    assert completed.returncode == 1
    statuses = {r["check"]: r["status"] for r in json.loads(completed.stdout)["results"]}
    assert statuses == {
        "redis.ping": "pass",
        "redis.memory": "fail",
        "redis.clients": "pass",
        "redis.persistence": "pass",
        "redis.replication": "pass",
        "redis.keys": "pass",  # db0 now has keys, so discovery offers its key check
    }


def test_a_password_in_redis_url_never_reaches_the_output(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    redis_server.client().config_set("requirepass", "Sup3r-Secret")
    url = f"redis://:Sup3r-Secret@{redis_server.address}/0"
    completed, _ = triage("check", "--json", env={"REDIS_URL": url}, cwd=tmp_path)
    results = json.loads(completed.stdout)["results"]
    assert {(r["target"], r["status"]) for r in results} == {("redis", "pass")}
    assert completed.returncode == 0, completed.stderr
    assert "Sup3r-Secret" not in completed.stdout + completed.stderr


def test_a_broken_config_exits_2_with_one_clear_line(tmp_path: Path) -> None:
    config = tmp_path / "triage.yaml"
    config.write_text("environments:\n  prod:\n    targets:\n      - kind: redis\n        nme: x\n")
    completed, _ = triage("check", cwd=tmp_path)
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert completed.stderr.splitlines() == [
        "triage: configuration error: triage.yaml:4:9: "
        "environments.prod.targets.0.name: required field is missing"
    ]
    assert "Traceback" not in completed.stderr


def test_a_usage_error_exits_2(tmp_path: Path) -> None:
    completed, _ = triage("check", "--no-such-flag", cwd=tmp_path)
    assert completed.returncode == 2
    assert "unrecognized arguments: --no-such-flag" in completed.stderr


def test_discover_json_lists_the_tree(redis_server: RedisServer, tmp_path: Path) -> None:
    redis_server.client().set("k", "v")
    config = tmp_path / "triage.yaml"
    config.write_text(
        textwrap.dedent(
            f"""
            environments:
              staging:
                targets:
                  - {{kind: redis, name: sessions, url: "{redis_server.url}"}}
            """
        )
    )
    completed, _ = triage("discover", "--json", "--config", str(config), cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    document = json.loads(completed.stdout)
    assert document["environment"] == "staging"
    (root,) = document["nodes"]
    assert (root["id"], root["kind"], root["health"]) == ("redis:sessions", "redis.instance", "ok")
    assert [child["name"] for child in root["children"]] == ["db0"]


def test_headless_commands_never_import_textual(redis_server: RedisServer, tmp_path: Path) -> None:
    probe = (
        "import sys, contextlib, io\n"
        "from tui.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['check', '--json'])\n"
        "    main(['discover'])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'textual', 'boto3', 'kubernetes', 'docker'}))\n"
    )
    environment = {**os.environ, "TRIAGE_CONFIG": str(inventory_file(tmp_path, redis_server.url))}
    completed = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=environment, timeout=60
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"
