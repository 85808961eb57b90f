"""The installed `triage`, driven in tmux like an operator would: problems, walkthrough, fix.

A private Redis at maxmemory and a crash-looping container (a compose project on a private
Docker engine) are the incident. The test reads the screen as text, as a person would.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.servers.docker_engine import DockerEngine
from tests.servers.redis import RedisServer

pytestmark = pytest.mark.integration

TRIAGE = Path(sys.executable).with_name("triage")


class Terminal:
    """One tmux session running triage."""

    def __init__(self, name: str) -> None:
        self.name = name

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def type(self, text: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, "-l", text], check=True)

    def screen(self) -> str:
        return subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", self.name],
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    def wait_for(self, condition: Callable[[str], bool], what: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if condition(screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"never saw {what}; the screen was:\n{screen}")
            time.sleep(0.2)


@pytest.fixture
def terminal(
    tmp_path: Path, redis_server: RedisServer, docker_engine: DockerEngine
) -> Iterator[Terminal]:
    assert shutil.which("tmux"), "tmux is missing: run tests/system-deps.sh"
    assert TRIAGE.exists(), f"{TRIAGE} is not installed: run `make test`"
    config = tmp_path / "triage.yaml"
    config.write_text(
        "environments:\n  prod:\n    params: {pattern: 'fill:*'}\n    targets:\n"
        f"      - {{kind: redis, name: cache, url: '{redis_server.url}'}}\n"
        f"      - {{kind: compose, name: docker, url: '{docker_engine.base_url}'}}\n"
        "settings: {refresh_interval: 2}\n"
    )
    name = f"triage-e2e-{uuid.uuid4().hex[:8]}"
    environment = {
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "TERM": "xterm-256color",
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
    }
    exports = " ".join(f"{key}={value!r}" for key, value in environment.items())
    subprocess.run(
        [
            "tmux",
            "new-session",
            "-d",
            "-s",
            name,
            "-x",
            "100",
            "-y",
            "30",
            f"env -i {exports} {TRIAGE} --config {config}; sleep 30",
        ],
        check=True,
    )
    try:
        yield Terminal(name)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], check=False)


def test_from_problems_to_a_verified_fix(
    terminal: Terminal,
    redis_server: RedisServer,
    docker_engine: DockerEngine,
    docker_client: object,  # removes the test's containers afterwards
    tmp_path: Path,
) -> None:
    redis_server.fill_to_maxmemory("2mb")
    docker_engine.run(
        ["sh", "-c", "echo boom; exit 3"],
        name="shop-worker-1",
        labels={
            "com.docker.compose.project": "shop",
            "com.docker.compose.service": "worker",
            "com.docker.compose.container-number": "1",
        },
        restart_policy={"Name": "always"},
    )

    terminal.wait_for(lambda s: "cache (" in s and "docker (" in s, "both targets in the tree")
    screen = terminal.wait_for(lambda s: "failing cache" in s, "the cache failing")
    terminal.wait_for(lambda s: "worker" in s, "the crash-looping service in the tree")
    terminal.wait_for(lambda s: " (p)" in s, "the problems count in the header")

    terminal.keys("p")
    screen = terminal.wait_for(lambda s: "Problems right now" in s, "the problems list")
    assert "redis.memory" in screen
    # The runbooks come with the library, read once the tree is in: the list updates.
    screen = terminal.wait_for(lambda s: "Redis is out of memory" in s, "the problem's runbook")

    problems = screen.splitlines()
    first = next(i for i, line in enumerate(problems) if "fail" in line and "redis.memory" in line)
    assert first >= 0
    terminal.keys("Enter")
    screen = terminal.wait_for(lambda s: "confirmed" in s, "the walkthrough's ranked causes")
    assert "Memory is full" in screen

    # fill:* takes every key of db0: the word is the server, the database and the count.
    total = redis_server.client().dbsize()
    word = f"cache/db0/{total}-keys"
    terminal.keys("Enter")
    screen = terminal.wait_for(lambda s: "DESTRUCTIVE fix" in s, "the fix's preview")
    assert "matching fill:*" in screen and f"Type '{word}' to run it" in screen
    terminal.type("fill:*")  # the pattern alone is not enough: refused, nothing deleted
    terminal.keys("Enter")
    screen = terminal.wait_for(lambda s: "Not run" in s, "the refusal")
    assert f"type '{word}' to run it" in screen
    assert redis_server.client().dbsize() == total

    terminal.keys("Enter")
    screen = terminal.wait_for(lambda s: "DESTRUCTIVE fix" in s, "the fix's preview again")
    terminal.type(word)
    terminal.keys("Enter")
    screen = terminal.wait_for(
        lambda s: any(end in s for end in ("DONE:", "FAILED:", "NOT VERIFIED:")), "the outcome"
    )
    assert f"DONE: deleted {total:,} keys matching fill:*" in screen
    # Once the refusal's notice is gone from over it, the whole effect line shows.
    effect = "Effect: the verify checks pass and the cause no longer holds"
    terminal.wait_for(lambda s: effect in s, "the fix's effect")
    assert redis_server.client().keys("fill:*") == []
    audit = tmp_path / "state" / "triage" / "audit.jsonl"
    entries = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [(e["phase"], e["action"]) for e in entries] == [
        ("refused", "redis.delete_keys"),
        ("started", "redis.delete_keys"),
        ("completed", "redis.delete_keys"),
        ("verified", "redis.delete_keys"),
    ]
    assert entries[-1]["outcome"] == "done"

    terminal.keys("x")
    terminal.wait_for(lambda s: "Transcript written" in s, "the transcript notice")
    assert list((tmp_path / "state" / "triage" / "transcripts").glob("*.md"))
