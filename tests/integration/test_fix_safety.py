"""Fixes that cannot hit the wrong server, run on a ruled-out cause, or report a failure as done.

Each test drives `triage fix` as an operator would, against private Redis servers: a shell
pointing at another Redis, a user that may read but not reconfigure, a healthy server, a key
pattern that takes every key, a read-only environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers.redis import RedisServer, start_redis

pytestmark = pytest.mark.integration

OOM = ("--runbook", "redis-out-of-memory", "--cause", "maxmemory-noeviction")


@pytest.fixture
def other_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A second Redis: the one the operator's shell happens to point at."""
    workdir = tmp_path / "other-redis"
    workdir.mkdir()
    with start_redis(workdir) as server:
        yield server


def triage(
    tmp_path: Path, *args: str, shell: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "TRIAGE_CONFIG"}
    environment["XDG_STATE_HOME"] = str(tmp_path / "state")
    environment.update(shell or {})
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args, "--config", str(tmp_path / "triage.yaml")],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        cwd=tmp_path,
    )


def inventory(tmp_path: Path, target: str, *, read_only: bool = False) -> None:
    (tmp_path / "triage.yaml").write_text(
        f"environments:\n  prod:\n    read_only: {str(read_only).lower()}\n"
        f"    targets:\n      - {target}\n"
    )


def audit(tmp_path: Path) -> list[dict[str, object]]:
    path = tmp_path / "state" / "triage" / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def policy(server: RedisServer) -> str:
    return str(server.client().config_get("maxmemory-policy")["maxmemory-policy"])


def test_a_command_changes_the_diagnosed_server_not_the_one_the_shell_names(
    redis_server: RedisServer, other_redis: RedisServer, tmp_path: Path
) -> None:
    redis_server.fill_to_maxmemory("2mb")
    inventory(tmp_path, f'{{kind: redis, name: cache, url: "{redis_server.url}"}}')
    shell = {"REDIS_URL": other_redis.url, "REDISCLI_AUTH": "not-this-one"}

    previewed = triage(tmp_path, "fix", *OOM, "--fix", "2", shell=shell)
    assert previewed.returncode == 1, previewed.stdout + previewed.stderr
    assert f"on: cache ({redis_server.address})" in previewed.stdout
    assert f'redis-cli -u "{redis_server.url}" CONFIG SET' in previewed.stdout
    assert "to run it, type: cache" in previewed.stdout
    assert "not run: `redis-cli" in previewed.stderr and "(--confirm 'cache')" in previewed.stderr

    fixed = triage(
        tmp_path, "fix", *OOM, "--fix", "2", "--confirm", "cache", "--transcript", "t.md",
        shell=shell,
    )  # fmt: skip
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "\nDONE: exited 0" in fixed.stdout
    assert (policy(redis_server), policy(other_redis)) == ("allkeys-lru", "noeviction")
    phases = [(entry["phase"], entry.get("outcome")) for entry in audit(tmp_path)]
    assert phases == [
        ("refused", "refused"),
        ("started", None),
        ("completed", "ok"),
        ("verified", "done"),
    ]
    assert {entry["target"] for entry in audit(tmp_path)} == {f"cache ({redis_server.address})"}
    assert "## Fix (done): Let Redis evict" in (tmp_path / "t.md").read_text()


def test_a_command_that_answers_an_error_at_exit_0_is_failed_everywhere(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    redis_server.fill_to_maxmemory("2mb")
    # triage's user may read everything but not reconfigure: CONFIG SET answers NOPERM, and
    # redis-cli exits 0 on an error reply.
    redis_server.client().execute_command(
        "ACL", "SETUSER", "reader", "on", ">reader-pw", "allcommands", "-config|set", "allkeys"
    )
    inventory(
        tmp_path,
        f'{{kind: redis, name: cache, url: "{redis_server.url}", username: reader, '
        "password: {env: CACHE_PASSWORD}}",
    )
    shell = {"CACHE_PASSWORD": "reader-pw"}
    ran = triage(
        tmp_path, "fix", *OOM, "--fix", "2", "--confirm", "cache", "--transcript", "t.json",
        shell=shell,
    )  # fmt: skip
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert "\nFAILED: exited 0 but its output says it failed: " in ran.stdout
    assert "NOPERM" in ran.stdout
    assert policy(redis_server) == "noeviction"
    completed = [entry for entry in audit(tmp_path) if entry["phase"] == "completed"]
    assert [entry["outcome"] for entry in completed] == ["failed"]
    assert not [entry for entry in audit(tmp_path) if entry["phase"] == "verified"]
    (fix,) = [
        e for e in json.loads((tmp_path / "t.json").read_text())["events"] if e["kind"] == "fix"
    ]
    assert (fix["outcome"], fix["ok"]) == ("failed", False)
    assert "reader-pw" not in ran.stdout + ran.stderr + (tmp_path / "t.json").read_text()


def test_the_password_reaches_the_command_by_its_environment_only(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    redis_server.fill_to_maxmemory("2mb")
    redis_server.require_password("Target-Pw-1")
    inventory(
        tmp_path,
        f'{{kind: redis, name: cache, url: "{redis_server.url}", '
        "password: {env: CACHE_PASSWORD}}",
    )
    ran = triage(
        tmp_path, "fix", *OOM, "--fix", "2", "--confirm", "cache",
        shell={"CACHE_PASSWORD": "Target-Pw-1"},
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert policy(redis_server) == "allkeys-lru"
    assert "Target-Pw-1" not in ran.stdout + ran.stderr
    assert "REDISCLI_AUTH=(secret, from the target)" in ran.stdout
    assert "Target-Pw-1" not in (tmp_path / "state" / "triage" / "audit.jsonl").read_text()


def test_a_fix_of_a_ruled_out_cause_is_refused_and_recorded(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    client = redis_server.client()
    for index in range(500):
        client.set(f"x:{index}", "v")
    client.set("unrelated", "keep me")
    inventory(tmp_path, f'{{kind: redis, name: cache, url: "{redis_server.url}"}}')
    refused = triage(
        tmp_path, "fix", *OOM, "--fix", "1", "--param", "pattern=x:*", "--confirm", "cache/x:*",
        "--transcript", "t.md",
    )  # fmt: skip
    assert refused.returncode == 1
    assert "cause maxmemory-noeviction is ruled out by the diagnosis" in refused.stderr
    assert client.dbsize() == 501
    (entry,) = audit(tmp_path)
    assert (entry["phase"], entry["verdict"], entry["action"]) == (
        "refused",
        "ruled out",
        "redis.delete_keys",
    )
    assert "## Fix not run: Delete the keys" in (tmp_path / "t.md").read_text()


def test_a_fix_of_an_unknown_cause_needs_force(redis_server: RedisServer, tmp_path: Path) -> None:
    redis_server.fill_to_maxmemory("2mb")
    # Its persistence check cannot run for this user, so the MISCONF cause stays unknown.
    redis_server.client().execute_command(
        "ACL", "SETUSER", "nosave", "on", ">nosave-pw", "allcommands", "-info", "+info|memory",
        "+info|stats", "+info|errorstats", "allkeys",
    )  # fmt: skip
    inventory(
        tmp_path,
        f'{{kind: redis, name: cache, url: "{redis_server.url}", username: nosave, '
        "password: {env: CACHE_PASSWORD}}",
    )
    shell = {"CACHE_PASSWORD": "nosave-pw"}
    cause = ("--runbook", "redis-out-of-memory", "--cause", "bgsave-failing", "--fix", "1")
    unforced = triage(tmp_path, "fix", *cause, "--confirm", "cache", shell=shell)
    assert unforced.returncode == 1, unforced.stdout + unforced.stderr
    assert "cause: bgsave-failing (unknown)" in unforced.stdout
    assert "(add --force to run it anyway)" in unforced.stderr
    assert [e["phase"] for e in audit(tmp_path)] == ["refused"]

    forced = triage(tmp_path, "fix", *cause, "--confirm", "cache", "--force", shell=shell)
    assert "\nDONE" in forced.stdout or "\nNOT VERIFIED" in forced.stdout, forced.stderr
    assert [e["phase"] for e in audit(tmp_path)][1:3] == ["started", "completed"]


def test_a_pattern_that_takes_every_key_wants_the_database_and_the_count(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    redis_server.fill_to_maxmemory("2mb")
    redis_server.client().config_set("maxmemory", "0")  # room for the unrelated key
    redis_server.client().set("unrelated", "keep me")
    redis_server.client().config_set("maxmemory", "2mb")
    total = redis_server.client().dbsize()
    inventory(tmp_path, f'{{kind: redis, name: cache, url: "{redis_server.url}"}}')
    for typed in ("*", "cache/*", "yes", "cache"):
        refused = triage(tmp_path, "fix", *OOM, "--fix", "1", "--confirm", typed)
        assert refused.returncode == 1, refused.stdout
        assert f"type 'cache/db0/{total}-keys' to run it" in refused.stderr
        assert redis_server.client().dbsize() == total
    assert f"preview: delete all {total:,} keys of db0 matching * on" in refused.stdout
    assert {entry["phase"] for entry in audit(tmp_path)} == {"refused"}

    deleted = triage(tmp_path, "fix", *OOM, "--fix", "1", "--confirm", f"cache/db0/{total}-keys")
    assert deleted.returncode == 0, deleted.stdout + deleted.stderr
    assert redis_server.client().dbsize() == 0


def test_a_read_only_refusal_is_audited(redis_server: RedisServer, tmp_path: Path) -> None:
    redis_server.fill_to_maxmemory("2mb")
    inventory(tmp_path, f'{{kind: redis, name: cache, url: "{redis_server.url}"}}', read_only=True)
    blocked = triage(
        tmp_path, "fix", *OOM, "--fix", "1", "--param", "pattern=fill:*",
        "--confirm", "cache/fill:*", "--transcript", "t.md",
    )  # fmt: skip
    assert blocked.returncode == 1
    assert "prod is read-only" in blocked.stderr
    assert len(redis_server.client().keys("fill:*")) > 0
    (entry,) = audit(tmp_path)
    assert entry["phase"] == "refused" and "read-only" in str(entry["reason"])
    assert "## Fix not run" in (tmp_path / "t.md").read_text()
