"""A kubeconfig user whose token comes from an exec plugin (as EKS's `aws eks get-token`), against
the fake API server checking bearer tokens.

The plugin is a script: it counts its runs in a file, writes the ExecCredential request it was
given, and prints a token that carries its own expiry (as an EKS token, a presigned URL, does);
the API server accepts a token only until then. The tests wait for the plugin's run count, not
for a time.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from providers.contract import CheckCall, CheckStatus, Health
from providers.kubernetes_provider import KubernetesProvider
from tests.servers import kube_objects as k
from tests.servers.kube_api import FakeKubeApi, kube_target

pytestmark = pytest.mark.integration

PLUGIN = """#!{python}
import datetime, json, os, sys, time
runs_file = os.environ["PLUGIN_RUNS"]
runs = int(open(runs_file).read()) + 1 if os.path.exists(runs_file) else 1
with open(runs_file + ".new", "w") as out:
    out.write(str(runs))
os.replace(runs_file + ".new", runs_file)
with open(os.environ["PLUGIN_ASKED"], "w") as out:
    out.write(os.environ.get("KUBERNETES_EXEC_INFO", ""))
if os.environ.get("PLUGIN_FAIL"):
    print('{{"status": {{"token": "never-shown-on-failure"}}}}')
    print("error: the SSO session has expired: run aws sso login", file=sys.stderr)
    sys.exit(3)
expires = int(time.time() + float(os.environ["TOKEN_SECONDS"]))
stamp = datetime.datetime.fromtimestamp(expires, datetime.timezone.utc)
print(json.dumps({{
    "apiVersion": "client.authentication.k8s.io/v1beta1",
    "kind": "ExecCredential",
    "status": {{
        "token": f"run-{{runs}}.{{expires}}",
        "expirationTimestamp": stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }},
}}))
"""


class Plugin:
    """The plugin script, its run count and what it was asked."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "token-plugin"
        self.path.write_text(PLUGIN.format(python=sys.executable))
        self.path.chmod(0o755)
        self.runs_file = folder / "plugin-runs"
        self.asked_file = folder / "plugin-asked"

    @property
    def runs(self) -> int:
        return int(self.runs_file.read_text()) if self.runs_file.exists() else 0

    def user(self, token_seconds: float, **env: str) -> dict[str, Any]:
        """The kubeconfig user section that runs this plugin."""
        variables = {
            "PLUGIN_RUNS": str(self.runs_file),
            "PLUGIN_ASKED": str(self.asked_file),
            "TOKEN_SECONDS": str(token_seconds),
            **env,
        }
        return {
            "exec": {
                "apiVersion": "client.authentication.k8s.io/v1beta1",
                "command": str(self.path),
                "args": ["--cluster", "shop-prod"],
                "env": [{"name": name, "value": value} for name, value in variables.items()],
                "interactiveMode": "Never",
            }
        }


def unexpired(token: str) -> bool:
    """What the API server accepts: a token of the plugin's before its expiry."""
    expires = token.rsplit(".", 1)[-1]
    return token.startswith("run-") and expires.isdigit() and time.time() < int(expires)


@pytest.fixture
def plugin(tmp_path: Path) -> Plugin:
    return Plugin(tmp_path)


async def test_token_is_renewed_when_it_expires_mid_session(
    kube_api: FakeKubeApi, plugin: Plugin, tmp_path: Path
) -> None:
    kube_api.put(*k.healthy_app("prod", "web"))
    kube_api.accepts_token = unexpired
    config = kube_api.write_kubeconfig(tmp_path / "kubeconfig", user=plugin.user(3))
    provider = KubernetesProvider(kube_target(config))
    try:
        root = await provider.discover()
        assert root.status.health is Health.OK, root.status.reason
        first = list(kube_api.tokens_seen)
        # The session goes on past the first token's end: every call must still be answered.
        deadline = time.monotonic() + 60
        while plugin.runs < 2 and time.monotonic() < deadline:
            assert await provider.namespaces() == ["prod"]
            await asyncio.sleep(0.05)
        assert plugin.runs >= 2, "the plugin was not run again"
        assert await provider.namespaces() == ["prod"]
    finally:
        await provider.close()

    # Discovery's first requests, sent at once, waited for one run and carried its token.
    assert len(first) >= 3
    assert [(token.split(".")[0], status) for token, status in first[:3]] == [("run-1", 200)] * 3
    assert any(t.startswith("run-2.") and status == 200 for t, status in kube_api.tokens_seen)
    asked = json.loads(plugin.asked_file.read_text())
    assert asked["kind"] == "ExecCredential"
    assert asked["spec"]["interactive"] is False  # never handed the operator's terminal


async def test_token_refused_before_its_expiry_is_renewed_once_not_retried_forever(
    kube_api: FakeKubeApi, plugin: Plugin, tmp_path: Path
) -> None:
    kube_api.put(*k.healthy_app("prod", "web"))
    kube_api.accepts_token = unexpired
    config = kube_api.write_kubeconfig(tmp_path / "kubeconfig", user=plugin.user(3600))
    provider = KubernetesProvider(kube_target(config))
    try:
        assert await provider.namespaces() == ["prod"]
        assert await provider.namespaces() == ["prod"]
        assert plugin.runs == 1  # a token valid for an hour is not asked for again

        # The token is revoked before its expiry: the API answers 401 to it from now on.
        kube_api.accepts_token = lambda token: unexpired(token) and not token.startswith("run-1.")
        assert await provider.namespaces() == ["prod"]
        assert plugin.runs == 2

        # A plugin whose every token is refused: one 401 line per call, not a loop of runs.
        kube_api.accepts_token = lambda token: False
        result = await provider.run_check(CheckCall("k8s.pod_waiting_reasons", {}))
    finally:
        await provider.close()

    refused = [(t.split(".")[0], status) for t, status in kube_api.tokens_seen if status == 401]
    assert refused[0] == ("run-1", 401)
    assert plugin.runs <= 4
    assert result.status is CheckStatus.ERROR
    assert "401 Unauthorized: the API server refused the token of" in result.summary
    assert "(exec plugin of kubeconfig user fake-user)" in result.summary


async def test_plugin_not_on_path_is_one_line_and_nothing_is_sent(
    kube_api: FakeKubeApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "aws",
            "args": ["eks", "get-token", "--cluster-name", "shop-prod"],
        }
    }
    config = kube_api.write_kubeconfig(tmp_path / "kubeconfig", user=user)
    provider = KubernetesProvider(kube_target(config))
    try:
        root = await provider.discover()
        result = await provider.run_check(CheckCall("k8s.pod_waiting_reasons", {}))
    finally:
        await provider.close()

    line = (
        "eks: kubeconfig user fake-user runs `aws` (exec plugin) which is not on PATH: "
        "install it or fix the kubeconfig"
    )
    assert root.status.health is Health.FAILING
    assert root.status.reason == line
    assert result.status is CheckStatus.ERROR
    assert result.summary == line
    assert kube_api.requests == []  # no request went out without its token


async def test_failing_plugin_gives_its_exit_status_never_its_output(
    kube_api: FakeKubeApi, plugin: Plugin, tmp_path: Path
) -> None:
    user = plugin.user(3600, PLUGIN_FAIL="1")
    config = kube_api.write_kubeconfig(tmp_path / "kubeconfig", user=user)
    provider = KubernetesProvider(kube_target(config))
    try:
        root = await provider.discover()
    finally:
        await provider.close()

    assert root.status.reason == (
        f"eks: kubeconfig user fake-user: exec plugin `{plugin.path}` exited with status 3: "
        "error: the SSO session has expired: run aws sso login"
    )
    assert "never-shown-on-failure" not in repr(root)
    assert plugin.runs == 1  # discovery's concurrent requests shared the one failing run
    assert kube_api.requests == []
