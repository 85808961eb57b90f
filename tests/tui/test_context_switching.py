"""Switching kube context and AWS profile from the keyboard, against real (fake and moto) APIs.

A kubeconfig with two contexts on two fake Kubernetes API servers, and two AWS profiles whose
regions differ on the moto server: after a switch the tree shows the other cluster's namespaces,
or the ECS services of the other region, and the header names what is watched (names only).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from textual.command import CommandPalette
from textual.widgets import OptionList

from providers.inventory import Target
from tests.servers import kube_objects as k8s
from tests.servers.kube_api import FakeKubeApi, kube_target
from tests.servers.moto_server import MotoAws
from tests.tui.conftest import inventory_of, wait_until
from tui.app import TriageApp
from tui.screens.environments import EnvironmentPicker
from tui.screens.main_screen import MainScreen
from tui.widgets.service_tree import ServiceTree

pytestmark = pytest.mark.integration

WEST_SECRET = "west-secret-key-never-shown"


def two_cluster_kubeconfig(path: Path, first: FakeKubeApi, second: FakeKubeApi) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": name, "cluster": {"server": api.url}}
            for name, api in (("blue", first), ("green", second))
        ],
        "users": [{"name": "ops", "user": {"token": "kube-token-never-shown"}}],
        "contexts": [
            {"name": f"{name}-ctx", "context": {"cluster": name, "user": "ops"}}
            for name in ("blue", "green")
        ],
        "current-context": "blue-ctx",
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


async def picker_with(app: TriageApp, pilot, key: str, option_id: str) -> EnvironmentPicker:  # type: ignore[no-untyped-def]
    """Open the picker with `key` and wait until the files have been read into it."""
    await pilot.press(key)
    await wait_until(pilot, lambda: isinstance(app.screen, EnvironmentPicker))
    picker = app.screen
    assert isinstance(picker, EnvironmentPicker)
    options = picker.query_one(OptionList)
    await wait_until(pilot, lambda: option_id in [o.id for o in options.options])
    return picker


def picker_text(picker: EnvironmentPicker) -> list[str]:
    options = picker.query_one(OptionList).options
    return [str(option.prompt) for option in options]


async def test_a_kube_context_switch_shows_the_other_cluster(tmp_path: Path) -> None:
    with FakeKubeApi() as blue, FakeKubeApi() as green:
        blue.put(k8s.namespace("blue-shop"))
        green.put(k8s.namespace("green-shop"))
        config = two_cluster_kubeconfig(tmp_path / "kubeconfig", blue, green)
        app = TriageApp(inventory_of(kube_target(config, name="eks"), name="prod"))
        async with app.run_test(size=(80, 24)) as pilot:
            main = app.screen
            assert isinstance(main, MainScreen)
            tree = app.query_one(ServiceTree)
            await wait_until(pilot, lambda: tree.node_by_id("kubernetes:eks/blue-shop") is not None)
            assert "kube blue-ctx" in main.sub_title

            picker = await picker_with(app, pilot, "C", "kube:green-ctx")
            lines = picker_text(picker)
            assert "  blue-ctx  (current)" in lines and "  green-ctx" in lines
            assert not any("never-shown" in line or "127.0.0.1" in line for line in lines)
            assert picker.query_one(OptionList).highlighted_option.id == "kube:blue-ctx"  # type: ignore[union-attr]
            await pilot.press("down", "enter")

            await wait_until(
                pilot, lambda: tree.node_by_id("kubernetes:eks/green-shop") is not None
            )
            assert tree.node_by_id("kubernetes:eks/blue-shop") is None
            assert app.live.overrides.kube_context == "green-ctx"
            assert app.live.targets[0].options["context"] == "green-ctx"
            await wait_until(pilot, lambda: "kube green-ctx" in main.sub_title)
            assert main.sub_title.startswith("prod · ") and "kube green-ctx" in main.sub_title


def ecs_service_in(aws: MotoAws, region: str, cluster: str, service: str) -> None:
    import boto3

    ecs = boto3.session.Session().client("ecs", region_name=region, endpoint_url=aws.endpoint)
    ecs.create_cluster(clusterName=cluster)
    definition = ecs.register_task_definition(
        family=service,
        containerDefinitions=[{"name": "app", "image": "busybox", "memory": 64}],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(
        cluster=cluster, serviceName=service, taskDefinition=definition, desiredCount=0
    )


def two_profiles(config: Path, credentials: Path) -> None:
    config.write_text(
        "[default]\nregion = us-east-1\n\n[profile west]\nregion = eu-west-1\n"
        "\n[sso-session corp]\nsso_region = us-east-1\n",
        encoding="utf-8",
    )
    credentials.write_text(
        "[default]\naws_access_key_id = testing\naws_secret_access_key = testing\n\n"
        f"[west]\naws_access_key_id = testing\naws_secret_access_key = {WEST_SECRET}\n",
        encoding="utf-8",
    )


def ecs_target(aws: MotoAws, **options: Any) -> Target:
    return Target(
        kind="ecs",
        name="aws",
        timeout=5,
        options={"endpoint_url": aws.endpoint, "max_attempts": 1, **options},
    )


async def test_an_aws_profile_switch_shows_its_regions_services(
    aws: MotoAws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    two_profiles(tmp_path / "aws-config", tmp_path / "aws-credentials")  # the fixture's paths
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)  # the profiles decide
    ecs_service_in(aws, "us-east-1", "east-shop", "east-api")
    ecs_service_in(aws, "eu-west-1", "west-shop", "west-api")
    app = TriageApp(inventory_of(ecs_target(aws), name="prod"))
    async with app.run_test(size=(80, 24)) as pilot:
        main = app.screen
        assert isinstance(main, MainScreen)
        tree = app.query_one(ServiceTree)
        await wait_until(pilot, lambda: tree.node_by_id("ecs:aws/east-shop/east-api") is not None)
        assert "aws default/us-east-1" in main.sub_title

        picker = await picker_with(app, pilot, "C", "aws-profile:west")
        lines = picker_text(picker)
        assert "  default  (us-east-1, current)" in lines
        assert "  west  (eu-west-1)" in lines
        assert not any("corp" in line or WEST_SECRET in line for line in lines)
        assert picker.query_one(OptionList).highlighted_option.id == "aws-profile:default"  # type: ignore[union-attr]
        await pilot.press("down", "enter")

        await wait_until(pilot, lambda: tree.node_by_id("ecs:aws/west-shop/west-api") is not None)
        assert tree.node_by_id("ecs:aws/east-shop") is None
        assert (app.live.overrides.aws_profile, app.live.overrides.aws_region) == (
            "west",
            "eu-west-1",
        )
        await wait_until(pilot, lambda: "aws west/eu-west-1" in main.sub_title)
        assert WEST_SECRET not in main.sub_title

        # A region on its own, from the palette: the same command, by its name.
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"Kube context / AWS")
        await wait_until(
            pilot, lambda: app.screen.query_one("CommandList", OptionList).option_count > 0
        )
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, EnvironmentPicker))
        picker = app.screen
        assert isinstance(picker, EnvironmentPicker)
        await wait_until(pilot, lambda: picker.choices is not None)
        options = picker.query_one(OptionList)
        options.highlighted = [o.id for o in options.options].index("aws-region:us-east-1")
        await pilot.press("enter")
        await wait_until(pilot, lambda: tree.node_by_id("ecs:aws/east-shop/east-api") is not None)
        assert (app.live.overrides.aws_profile, app.live.overrides.aws_region) == (
            "west",
            "us-east-1",
        )
        await wait_until(pilot, lambda: "aws west/us-east-1" in main.sub_title)


async def test_switching_environment_forgets_chosen_contexts(tmp_path: Path) -> None:
    with FakeKubeApi() as blue, FakeKubeApi() as green:
        blue.put(k8s.namespace("blue-shop"))
        green.put(k8s.namespace("green-shop"))
        config = two_cluster_kubeconfig(tmp_path / "kubeconfig", blue, green)
        inventory = inventory_of(kube_target(config, name="eks"), name="prod")
        inventory.environments["staging"] = inventory.environments["prod"]
        app = TriageApp(inventory)
        async with app.run_test(size=(80, 24)) as pilot:
            tree = app.query_one(ServiceTree)
            await wait_until(pilot, lambda: tree.node_by_id("kubernetes:eks/blue-shop") is not None)
            await picker_with(app, pilot, "C", "kube:green-ctx")
            await pilot.press("down", "enter")
            await wait_until(pilot, lambda: app.live.overrides.kube_context == "green-ctx")
            await pilot.press("E")
            assert isinstance(app.screen, EnvironmentPicker)
            await pilot.press("down", "enter")  # staging
            await wait_until(pilot, lambda: app.live.name == "staging")
            assert app.live.overrides.kube_context == ""
            await wait_until(pilot, lambda: tree.node_by_id("kubernetes:eks/blue-shop") is not None)
