"""Redaction on a real Docker engine: a health probe's password never shows, in the tree, in
`triage discover` (text and JSON) or in `triage check --json`; containers named like secrets
read as they are; secrets in a container's log never reach the log pane's batches."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import cast

import docker
import pytest

from providers.contract import Health
from providers.environment import LiveEnvironment
from providers.inventory import load_inventory
from providers.streams import LineBatch
from tests.integration.compose_helpers import HEALTH_INTERVAL_NS, provider_on, run_service, until
from tests.integration.compose_helpers import state as state_of
from tests.redaction_corpus import JWT, leaked
from tests.servers.docker_engine import DockerEngine

pytestmark = pytest.mark.integration

PROBE = "echo password=hunter2 db unreachable; exit 1"


def write_inventory(tmp_path: Path, engine: DockerEngine) -> Path:
    path = tmp_path / "triage.yaml"
    path.write_text(
        "environments:\n  local:\n    targets:\n"
        f'      - {{kind: compose, name: local, url: "{engine.base_url}", timeout: 10}}\n'
    )
    return path


def triage(tmp_path: Path, config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The command as cron runs it, with nothing of this machine's own: its own HOME and XDG
    folders, no DOCKER_HOST, AWS or URL variables."""
    home = tmp_path / "home"
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "LANG": "C.UTF-8",
    }
    if "PYTHONPATH" in os.environ:
        environment["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args, "--config", str(config)],
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
        timeout=120,
    )


async def test_a_probe_password_never_shows_and_secret_like_names_read_right(
    docker_engine: DockerEngine, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    api = run_service(
        docker_engine, "shop", "api", "sleep 300",
        healthcheck={
            "test": ["CMD-SHELL", PROBE], "interval": HEALTH_INTERVAL_NS,
            "timeout": 2_000_000_000, "retries": 1,
        },
    )  # fmt: skip
    finished = docker_engine.run(["sh", "-c", "exit 0"], name="sec-secret")
    failing = docker_engine.run(["sh", "-c", "echo boom; exit 3"], name="api-token")
    await until(lambda: state_of(api).get("Health", {}).get("Status") == "unhealthy")
    await until(lambda: state_of(finished)["Status"] == state_of(failing)["Status"] == "exited")
    config = write_inventory(tmp_path, docker_engine)

    live = LiveEnvironment(load_inventory(str(config)))
    try:
        nodes, results = await live.check_everything()
    finally:
        await live.close()
    by_id = {node.id: node for tree in nodes for node in tree.walk()}
    assert by_id["compose:local/shop/api/shop-api-1"].status.reason.startswith(
        "unhealthy: password=*** db unreachable"
    )
    engine_reason = by_id["compose:local"].status.reason
    assert "shop-api-1: unhealthy: password=*** db unreachable" in engine_reason
    sec_secret = by_id["compose:local/_standalone/sec-secret"]
    # A one-shot container (no restart policy) that exited 0 ran to its end: not a fault.
    assert (sec_secret.name, sec_secret.status.health) == ("sec-secret", Health.OK)
    assert sec_secret.status.reason == "completed (exited with code 0)"
    assert by_id["compose:local/_standalone/api-token"].status.reason == "exited with code 3"
    assert "api-token: exited with code 3" in by_id["compose:local/_standalone"].status.reason
    found = {(r.node_id.rsplit("/", 1)[-1], r.check): r for r in results}
    health = found["api", "compose.health"]
    assert health.facts["last_probe_output"] == "password=*** db unreachable"
    exited = found["sec-secret", "compose.exit_code"]
    assert exited.summary == "sec-secret: no container exited with an error"
    assert found["api-token", "compose.exit_code"].summary == "api-token exited with code 3"
    shown = json.dumps([n.to_dict() for n in nodes]) + json.dumps([r.to_dict() for r in results])
    assert "hunter2" not in shown

    discovered = triage(tmp_path, config, "discover", "--json")
    assert discovered.returncode == 1, discovered.stderr
    document = json.loads(discovered.stdout)
    tree_text = json.dumps(document)
    assert "hunter2" not in discovered.stdout + discovered.stderr
    assert "unhealthy: password=*** db unreachable" in tree_text
    assert "completed (exited with code 0)" in tree_text
    as_text = triage(tmp_path, config, "discover")
    assert "hunter2" not in as_text.stdout + as_text.stderr
    assert "sec-secret  completed (exited with code 0)" in as_text.stdout
    assert "api-token  exited with code 3" in as_text.stdout

    checked = triage(tmp_path, config, "check", "--json")
    assert checked.returncode == 1, checked.stderr
    assert "hunter2" not in checked.stdout + checked.stderr
    rows = {
        (r["node"].rsplit("/", 1)[-1], r["check"]): r for r in json.loads(checked.stdout)["results"]
    }
    assert rows["api", "compose.health"]["facts"]["last_probe_output"] == (
        "password=*** db unreachable"
    )
    assert rows["sec-secret", "compose.exit_code"]["status"] == "pass"
    assert rows["sec-secret", "compose.exit_code"]["summary"] == (
        "sec-secret: no container exited with an error"
    )


async def test_secrets_in_a_container_log_are_masked_in_its_batches(
    docker_engine: DockerEngine, docker_client: docker.DockerClient
) -> None:
    said = [
        f"auth ok for {JWT}",
        "connecting with password=hunter2",
        "sec-secret: container exited with an error",
    ]
    script = "; ".join(f"echo '{line}'" for line in said) + "; echo log-done; sleep 300"
    run_service(docker_engine, "shop", "api", script)
    provider = provider_on(docker_engine)
    stream = cast(
        AsyncGenerator[LineBatch, None],
        provider.log_batches("compose:local/shop/api/shop-api-1"),
    )
    texts: list[str] = []
    try:
        async with asyncio.timeout(30):  # the lines come within a second; this bounds a failure
            async for batch in stream:
                texts += [line.text for line in batch.lines]
                if "log-done" in texts:
                    break
    finally:
        await stream.aclose()
        await provider.close()
    assert texts[-1] == "log-done", texts
    assert leaked(" ".join(texts)) == [] and "hunter2" not in " ".join(texts)
    assert texts[:3] == [
        "auth ok for ***",
        "connecting with password=***",
        "sec-secret: container exited with an error",
    ]
