"""A runbook end to end on a real Redis at maxmemory: diagnose, fix through the gate, verify."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers.process import free_port
from tests.servers.redis import RedisServer

pytestmark = pytest.mark.integration


def triage(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "TRIAGE_CONFIG"}
    environment["XDG_STATE_HOME"] = str(tmp_path / "state")
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args, "--config", str(tmp_path / "triage.yaml")],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        cwd=tmp_path,
    )


def write_inventory(tmp_path: Path, url: str, *, read_only: bool = False) -> None:
    (tmp_path / "triage.yaml").write_text(
        "environments:\n  prod:\n"
        f"    read_only: {'true' if read_only else 'false'}\n"
        f'    targets:\n      - {{kind: redis, name: cache, url: "{url}"}}\n'
    )


def test_out_of_memory_is_confirmed_fixed_and_verified(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    redis_server.client().set("session:1", "not one of the fill keys")
    redis_server.fill_to_maxmemory("2mb")
    write_inventory(tmp_path, redis_server.url)

    checked = triage(tmp_path, "check", "--runbook", "redis-out-of-memory", "--json")
    assert checked.returncode == 1, checked.stderr
    diagnosis = json.loads(checked.stdout)
    first = diagnosis["causes"][0]
    assert (first["id"], first["verdict"]) == ("maxmemory-noeviction", "confirmed")
    assert first["evidence"] == [
        "the memory check failed",
        first["evidence"][1],
    ] and first["evidence"][1].startswith("memory: oom errors is ")
    # The fill keys have no TTL either, so that cause holds too; saves are fine.
    assert [(cause["id"], cause["verdict"]) for cause in diagnosis["causes"]] == [
        ("maxmemory-noeviction", "confirmed"),
        ("keys-without-ttl", "confirmed"),
        ("bgsave-failing", "ruled out"),
    ]

    refused = triage(
        tmp_path,
        "fix",
        "--runbook",
        "redis-out-of-memory",
        "--cause",
        "maxmemory-noeviction",
        "--param",
        "pattern=fill:*",
        "--confirm",
        "fill",
    )
    assert refused.returncode == 1
    assert "type 'cache/fill:*' to run it" in refused.stderr
    assert redis_server.client().dbsize() > 0

    fixed = triage(
        tmp_path,
        "fix",
        "--runbook",
        "redis-out-of-memory",
        "--cause",
        "maxmemory-noeviction",
        "--param",
        "pattern=fill:*",
        "--confirm",
        "cache/fill:*",
        "--transcript",
        str(tmp_path / "walkthrough.md"),
    )
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "preview: delete " in fixed.stdout and "keys matching fill:* on" in fixed.stdout
    assert "memory: fail -> WARN" in fixed.stdout  # OOM errors remain in the counters
    assert redis_server.client().keys("fill:*") == []
    assert redis_server.client().get("session:1") == b"not one of the fill keys"

    audit = [
        json.loads(line)
        for line in (tmp_path / "state" / "triage" / "audit.jsonl").read_text().splitlines()
    ]
    assert [(entry["phase"], entry["action"]) for entry in audit] == [
        ("refused", "redis.delete_keys"),
        ("started", "redis.delete_keys"),
        ("completed", "redis.delete_keys"),
        ("verified", "redis.delete_keys"),
    ]
    assert [entry["outcome"] for entry in audit[2:]] == ["ok", "done"]
    walkthrough = (tmp_path / "walkthrough.md").read_text()
    assert "**confirmed**: Memory is full" in walkthrough
    assert "## Verification passed" in walkthrough

    after = triage(tmp_path, "check", "--runbook", "redis-out-of-memory", "--json")
    verdicts = {c["id"]: c["verdict"] for c in json.loads(after.stdout)["causes"]}
    assert verdicts["maxmemory-noeviction"] != "confirmed"


def test_healthy_redis_confirms_no_cause(redis_server: RedisServer, tmp_path: Path) -> None:
    write_inventory(tmp_path, redis_server.url)
    checked = triage(tmp_path, "check", "--runbook", "redis-out-of-memory", "--json")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "confirmed" not in {cause["verdict"] for cause in json.loads(checked.stdout)["causes"]}


def test_read_only_environment_blocks_the_fix(redis_server: RedisServer, tmp_path: Path) -> None:
    redis_server.fill_to_maxmemory("2mb")
    write_inventory(tmp_path, redis_server.url, read_only=True)
    blocked = triage(
        tmp_path,
        "fix",
        "--runbook",
        "redis-out-of-memory",
        "--cause",
        "maxmemory-noeviction",
        "--param",
        "pattern=fill:*",
        "--confirm",
        "cache/fill:*",
    )
    assert blocked.returncode == 1
    assert "prod is read-only: delete " in blocked.stderr
    assert len(redis_server.client().keys("fill:*")) > 0
    audit = (tmp_path / "state" / "triage" / "audit.jsonl").read_text().splitlines()
    assert [json.loads(line)["phase"] for line in audit] == ["refused"]


def test_a_dead_redis_makes_causes_unknown_not_ruled_out(tmp_path: Path) -> None:
    write_inventory(tmp_path, "redis://127.0.0.1:1/0")
    checked = triage(tmp_path, "check", "--runbook", "redis-out-of-memory", "--json")
    assert checked.returncode == 1
    document = json.loads(checked.stdout)
    assert {result["status"] for result in document["checks"].values()} == {"error"}
    assert {cause["verdict"] for cause in document["causes"]} == {"unknown"}


def test_check_binds_to_what_fails_names_the_other_choices_and_says_what_is_missing(
    tmp_path: Path,
) -> None:
    """Two Redis, both down: the runbook runs on the first, says the other could be meant and
    how to choose it; --param chooses. A runbook whose targets are not here is a usage error
    that says what it needs."""
    (tmp_path / "triage.yaml").write_text(
        "environments:\n  prod:\n    targets:\n"
        f"      - {{kind: redis, name: a, url: 'redis://127.0.0.1:{free_port()}/0'}}\n"
        f"      - {{kind: redis, name: b, url: 'redis://127.0.0.1:{free_port()}/0'}}\n"
    )
    first = triage(tmp_path, "check", "--runbook", "redis-connection-errors", "--json")
    document = json.loads(first.stdout)
    assert (first.returncode, document["params"]["cache"]) == (1, "a"), first.stderr
    assert (document["about"], document["could_be_about"]) == ("redis:a", ["redis:b"])
    assert document["causes"][0]["id"] == "redis-unreachable"
    said = triage(tmp_path, "check", "--runbook", "redis-connection-errors")
    about = said.stdout.splitlines()[0]
    assert about.startswith("about a (") and "it could also be about: b (" in about, about
    assert about.endswith("(--param to choose)"), about

    chosen = triage(
        tmp_path, "check", "--runbook", "redis-connection-errors", "--param", "cache=b", "--json"
    )
    document = json.loads(chosen.stdout)
    assert (document["params"]["cache"], document["about"]) == ("b", "redis:b")

    missing = triage(tmp_path, "check", "--runbook", "db-missing-relation")
    assert missing.returncode == 2
    assert "db-missing-relation needs db (a postgres target), table" in missing.stderr
    unknown = triage(tmp_path, "check", "--runbook", "no-such-runbook")
    assert unknown.returncode == 2 and "no runbook 'no-such-runbook'" in unknown.stderr


def test_environment_params_in_the_inventory_bind_runbook_params(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    client = redis_server.client()
    for index in range(3):
        client.set(f"session:{index}", "x")
    (tmp_path / "triage.yaml").write_text(
        "environments:\n  prod:\n    params: {pattern: 'session:*'}\n    targets:\n"
        f'      - {{kind: redis, name: cache, url: "{redis_server.url}"}}\n'
    )
    checked = triage(tmp_path, "check", "--runbook", "redis-out-of-memory", "--json")
    document = json.loads(checked.stdout)
    assert document["params"] == {"cache": "cache", "pattern": "session:*"}
    assert document["checks"]["keys"]["facts"]["matched"] == 3


def test_report_bundles_tree_checks_and_logs_without_secrets(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    import tarfile

    redis_server.require_password("Sup3r-Secret")
    redis_server.client().config_set("slowlog-log-slower-than", 0)
    redis_server.fill_to_maxmemory()
    # The fill's writes stay the newest entries: the report's own commands (a TTL per key for
    # redis.keys) would push them out of the slow log's last 128 if they were logged too.
    redis_server.client().config_set("slowlog-log-slower-than", 1_000_000)
    (tmp_path / "triage.yaml").write_text(
        "environments:\n  prod:\n    targets:\n"
        f'      - {{kind: redis, name: cache, url: "{redis_server.url}", '
        "password: {env: CACHE_PASSWORD}}\n"
    )
    environment = {k: v for k, v in os.environ.items() if k != "TRIAGE_CONFIG"}
    environment["CACHE_PASSWORD"] = "Sup3r-Secret"
    bundle = tmp_path / "report.tar.gz"
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "tui.cli",
            "report",
            "-o",
            str(bundle),
            "--config",
            str(tmp_path / "triage.yaml"),
        ],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        cwd=tmp_path,
    )
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith(f"wrote {bundle}: ")
    with tarfile.open(bundle) as archive:
        names = sorted(archive.getnames())
        texts = {name: archive.extractfile(name).read().decode() for name in names}  # type: ignore[union-attr]
    assert names == [
        "checks.json",
        "logs/redis_cache.log",
        "manifest.json",
        "tree.json",
        "versions.json",
    ]
    manifest = json.loads(texts["manifest.json"])
    assert manifest["failing_nodes"] == ["redis:cache"] and manifest["redacted"] is True
    checks = {r["check"]: r["status"] for r in json.loads(texts["checks.json"])}
    assert checks["redis.memory"] == "fail"
    assert "SET fill:" in texts["logs/redis_cache.log"]
    assert all("Sup3r-Secret" not in text for text in texts.values())
