"""Fixtures shared by every test: private servers on free loopback ports (tests/servers/), and
each test's own configuration and state folders (the user's runbooks, inventory and audit log
are never this machine's)."""

from __future__ import annotations

import pytest

pytest_plugins = [
    "tests.servers.fixtures",
    "tests.servers.http",
    "tests.servers.moto_server",
    "tests.servers.kube_api",
]


@pytest.fixture(autouse=True)
def own_config_and_state(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`$XDG_CONFIG_HOME` and `$XDG_STATE_HOME` of this test alone (processes it starts
    inherit them), and no `TRIAGE_CONFIG` from the machine."""
    home = tmp_path_factory.mktemp("xdg")
    for name in ("XDG_CONFIG_HOME", "XDG_STATE_HOME"):
        folder = home / name.lower()
        folder.mkdir()
        monkeypatch.setenv(name, str(folder))
    monkeypatch.delenv("TRIAGE_CONFIG", raising=False)
