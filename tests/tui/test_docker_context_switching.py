"""Switching the Docker context from the keyboard (C), between the private engine's socket and
the same engine over ssh through a jump host: the compose target that names no url follows the
chosen context live, the one that names its engine keeps it, and the header names the context.
"""

from __future__ import annotations

import docker
import pytest
from textual.widgets import OptionList

from providers.contract import Health
from providers.inventory import Target
from tests.docker_context_files import use_context, write_context
from tests.integration.compose_helpers import run_service
from tests.servers.sshd import DockerOverSSH
from tests.tui.conftest import inventory_of, wait_until
from tests.tui.test_context_switching import picker_text, picker_with
from tui.app import TriageApp
from tui.screens.main_screen import MainScreen
from tui.widgets.service_tree import ServiceTree

pytestmark = pytest.mark.integration

TIMEOUT = 20.0  # ssh through a jump host on a loaded machine


async def test_c_switches_the_docker_context_live_and_the_header_names_it(
    docker_over_ssh: DockerOverSSH, docker_client: docker.DockerClient
) -> None:
    engine = docker_over_ssh.engine
    run_service(engine, "shop", "api", "sleep 300")
    write_context("blue", engine.base_url, description="this machine")
    write_context("app-1", docker_over_ssh.url(), description="app hosts, via jump")
    use_context("blue")
    follows = Target(kind="compose", name="docker", timeout=TIMEOUT)
    fixed = Target(kind="compose", name="local", url=engine.base_url, timeout=TIMEOUT)
    app = TriageApp(inventory_of(follows, fixed, name="prod"))
    async with app.run_test(size=(80, 24)) as pilot:
        main = app.screen
        assert isinstance(main, MainScreen)
        tree = app.query_one(ServiceTree)

        def root_name() -> str:
            node = tree.node_by_id("compose:docker")
            return node.name if node is not None else ""

        await wait_until(pilot, lambda: tree.node_by_id("compose:docker/shop") is not None)
        assert root_name() == f"docker ({engine.base_url})"
        await wait_until(
            pilot, lambda: "docker blue" in main.sub_title, state=lambda: main.sub_title
        )

        picker = await picker_with(app, pilot, "C", "docker:app-1")
        lines = picker_text(picker)
        heading = lines.index("Docker context (every compose target without a url)")
        assert lines[heading + 1 : heading + 4] == [
            "  default",
            "  app-1  (app hosts, via jump)",
            "  blue  (this machine, current)",
        ]
        assert not any("ssh://" in line or "unix://" in line for line in lines)
        assert picker.query_one(OptionList).highlighted_option.id == "docker:blue"  # type: ignore[union-attr]
        await pilot.press("up", "enter")

        await wait_until(
            pilot,
            lambda: (
                root_name() == f"docker ({docker_over_ssh.url()})"
                and tree.node_by_id("compose:docker/shop") is not None
            ),
            timeout=TIMEOUT,
            state=root_name,
        )
        await wait_until(
            pilot, lambda: "docker app-1" in main.sub_title, state=lambda: main.sub_title
        )
        assert app.live.overrides.docker_context == "app-1"
        assert [t.options for t in app.live.targets] == [{"context": "app-1"}, {}]
        over_ssh = tree.node_by_id("compose:docker")
        assert over_ssh is not None and over_ssh.status.health is Health.OK
        assert tree.node_by_id("compose:local/shop") is not None  # the other engine, as it was
        assert main.sub_title.startswith("prod · ")
