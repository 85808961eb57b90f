"""compose.scale and compose.down on the private Docker engine: previews, refusals, effects."""

from __future__ import annotations

from typing import Any

import docker
import pytest

from providers.base import ConfirmationRequired
from tests.integration.compose_helpers import provider_on, run_service, state
from tests.servers.docker_engine import DockerEngine

pytestmark = pytest.mark.integration

PROJECT = "com.docker.compose.project"
NUMBER = "com.docker.compose.container-number"


def project_containers(client: docker.DockerClient, project: str) -> dict[str, str]:
    """Name -> state of the project's containers."""
    found = client.containers.list(all=True, filters={"label": f"{PROJECT}={project}"})
    return {container.name: container.status for container in found}


def network_of(client: docker.DockerClient, project: str) -> str:
    name = f"{project}_default"
    client.networks.create(name, labels={PROJECT: project, "com.docker.compose.network": "default"})
    return name


def api_on_network(engine: DockerEngine, client: docker.DockerClient, network: str) -> Any:
    """shop-api-1 as compose makes it: on the project network, its service name an alias."""
    endpoint = client.api.create_endpoint_config(aliases=["api", "shop-api-1"])
    return run_service(
        engine,
        "shop",
        "api",
        "sleep 300",
        environment={"APP_MODE": "blue"},
        network=network,
        networking_config={network: endpoint},
    )


async def test_scale_clones_the_service_up_to_three_and_removes_back_down_to_one(
    docker_engine: DockerEngine, docker_client: docker.DockerClient
) -> None:
    network = network_of(docker_client, "shop")
    first = api_on_network(docker_engine, docker_client, network)
    other = run_service(docker_engine, "shop", "db", "sleep 300", network=network)
    provider = provider_on(docker_engine)
    params = {"project": "shop", "service": "api", "stop_timeout": 0}
    try:
        up = await provider.plan_action("compose.scale", {**params, "replicas": 3})
        # Adding containers destroys nothing: the service's name, never a bare yes.
        assert up.confirmation_word() == "shop/api"
        for wrong in (None, "yes", "api"):
            with pytest.raises(ConfirmationRequired, match="type 'shop/api' to run it"):
                await provider.run_action(up, confirmation=wrong)
        assert project_containers(docker_client, "shop") == {
            "shop-api-1": "running",
            "shop-db-1": "running",
        }
        scaled_up = await provider.run_action(up, confirmation="shop/api")
        after_up = project_containers(docker_client, "shop")
        clone = docker_client.containers.get("shop-api-3")

        down = await provider.plan_action("compose.scale", {**params, "replicas": 1})
        # Removing containers is destructive: the target's name with the service.
        assert down.confirmation_word() == "local/shop/api"
        for wrong in (None, "yes", "shop", "shop/api", "other/shop/api"):
            with pytest.raises(ConfirmationRequired, match="type 'local/shop/api' to run it"):
                await provider.run_action(down, confirmation=wrong)
        still = project_containers(docker_client, "shop")
        scaled_down = await provider.run_action(down, confirmation="local/shop/api")
        after_down = project_containers(docker_client, "shop")
        same = await provider.plan_action("compose.scale", {**params, "replicas": 1})
        with pytest.raises(ValueError, match="replicas must be 1 or more"):
            await provider.plan_action("compose.scale", {**params, "replicas": "0"})
    finally:
        await provider.close()

    assert up.preview.summary == (
        "scale shop/api from 1 to 3 containers: create shop-api-2, shop-api-3 (like shop-api-1)"
    )
    assert up.preview.destructive is False
    assert up.preview.touches == ("create shop-api-2", "create shop-api-3")
    assert dict(up.preview.counts) == {"from": 1, "to": 3, "create": 2, "start": 0, "remove": 0}
    assert scaled_up.ok, scaled_up.summary
    assert scaled_up.summary == "scaled shop/api from 1 to 3 containers"
    assert scaled_up.output == ("created and started shop-api-2", "created and started shop-api-3")
    assert after_up == {
        "shop-api-1": "running",
        "shop-api-2": "running",
        "shop-api-3": "running",
        "shop-db-1": "running",
    }
    # a clone: the service's labels with its own number, the same command, image, environment
    # and network, reachable by the service's alias but not by the first container's name
    labels = clone.attrs["Config"]["Labels"]
    assert labels[NUMBER] == "3" and labels[PROJECT] == "shop"
    assert labels["com.docker.compose.service"] == "api"
    assert clone.attrs["Config"]["Cmd"] == ["sh", "-c", "sleep 300"]
    assert clone.attrs["Config"]["Image"] == first.attrs["Config"]["Image"]
    assert "APP_MODE=blue" in clone.attrs["Config"]["Env"]
    endpoints = clone.attrs["NetworkSettings"]["Networks"]
    assert list(endpoints) == [network]
    assert "api" in endpoints[network]["Aliases"]
    assert "shop-api-1" not in endpoints[network]["Aliases"]
    assert clone.attrs["Config"]["Hostname"] != first.attrs["Config"]["Hostname"]

    assert down.preview.summary == (
        "scale shop/api from 3 to 1 containers: "
        "stop and remove shop-api-3 (running), shop-api-2 (running)"
    )
    assert down.preview.destructive is True
    assert down.preview.touches == ("remove shop-api-3 (running)", "remove shop-api-2 (running)")
    assert dict(down.preview.counts) == {"from": 3, "to": 1, "create": 0, "start": 0, "remove": 2}
    assert still == after_up
    assert scaled_down.ok, scaled_down.summary
    assert scaled_down.output == (
        "stopped and removed shop-api-3",
        "stopped and removed shop-api-2",
    )
    assert after_down == {"shop-api-1": "running", "shop-db-1": "running"}
    assert state(other)["Status"] == "running"
    assert same.preview.summary == "scale shop/api from 1 to 1 containers: nothing changes"
    assert same.preview.touches == ()


async def test_scale_starts_kept_stopped_containers_and_refuses_a_fixed_host_port(
    docker_engine: DockerEngine, docker_client: docker.DockerClient
) -> None:
    stopped = run_service(docker_engine, "shop", "worker", "sleep 300")
    stopped.stop(timeout=0)
    run_service(docker_engine, "shop", "web", "sleep 300", ports={"8080/tcp": ("127.0.0.1", None)})
    fixed = docker_engine.run(
        ["sh", "-c", "sleep 300"],
        name="shop-edge-1",
        labels={PROJECT: "shop", "com.docker.compose.service": "edge", NUMBER: "1"},
        ports={"80/tcp": ("127.0.0.1", 18080)},
    )
    provider = provider_on(docker_engine)
    try:
        plan = await provider.plan_action(
            "compose.scale", {"project": "shop", "service": "worker", "replicas": 2}
        )
        assert plan.confirmation_word() == "shop/worker"  # nothing removed: not destructive
        outcome = await provider.run_action(plan, confirmation="shop/worker")
        ephemeral = await provider.plan_action(
            "compose.scale", {"project": "shop", "service": "web", "replicas": 2}
        )
        with pytest.raises(ValueError, match="shop/edge publishes host port 18080"):
            await provider.plan_action(
                "compose.scale", {"project": "shop", "service": "edge", "replicas": 2}
            )
    finally:
        await provider.close()

    assert plan.preview.summary == (
        "scale shop/worker from 1 to 2 containers: "
        "create shop-worker-2 (like shop-worker-1); start shop-worker-1 (exited)"
    )
    assert plan.preview.touches == ("create shop-worker-2", "start shop-worker-1 (exited)")
    assert outcome.ok, outcome.summary
    assert outcome.output == ("created and started shop-worker-2", "started shop-worker-1")
    assert project_containers(docker_client, "shop")["shop-worker-1"] == "running"
    assert project_containers(docker_client, "shop")["shop-worker-2"] == "running"
    assert ephemeral.preview.touches == ("create shop-web-2",)  # a host port chosen by the engine
    assert state(fixed)["Status"] == "running"


async def test_down_removes_containers_and_networks_and_volumes_only_when_asked(
    docker_engine: DockerEngine, docker_client: docker.DockerClient
) -> None:
    network = network_of(docker_client, "shop")
    docker_client.volumes.create("shop_data", labels={PROJECT: "shop"})
    api_on_network(docker_engine, docker_client, network)
    run_service(
        docker_engine,
        "shop",
        "db",
        "sleep 300",
        network=network,
        volumes={"shop_data": {"bind": "/data", "mode": "rw"}},
    )
    db = docker_client.containers.get("shop-db-1")
    db.stop(timeout=0)
    bystander = run_service(docker_engine, "blog", "web", "sleep 300")
    docker_client.volumes.create("blog_data", labels={PROJECT: "blog"})
    provider = provider_on(docker_engine)
    params = {"project": "shop", "stop_timeout": 0}
    try:
        keep_volumes = await provider.plan_action("compose.down", params)
        # Destructive: the target's name with the project; the bare project is not enough.
        assert keep_volumes.confirmation_word() == "local/shop"
        for wrong in (None, "yes", "blog", "shop", "local/blog"):
            with pytest.raises(ConfirmationRequired, match="type 'local/shop' to run it"):
                await provider.run_action(keep_volumes, confirmation=wrong)
        untouched = project_containers(docker_client, "shop")
        downed = await provider.run_action(keep_volumes, confirmation="local/shop")
        networks_after = {net.name for net in docker_client.networks.list()}
        volumes_after = {vol.name for vol in docker_client.volumes.list()}

        # up again (by hand, as compose would) and down with its volumes this time
        network_of(docker_client, "shop")
        run_service(
            docker_engine,
            "shop",
            "db",
            "sleep 300",
            network=network,
            volumes={"shop_data": {"bind": "/data", "mode": "rw"}},
            mounts=[docker.types.Mount("/scratch", None, type="volume")],  # anonymous
        )
        scratch = next(
            mount["Name"]
            for mount in docker_client.containers.get("shop-db-1").attrs["Mounts"]
            if mount["Destination"] == "/scratch"
        )
        with_volumes = await provider.plan_action("compose.down", {**params, "volumes": True})
        for wrong in ("yes", "shop"):
            with pytest.raises(ConfirmationRequired, match="type 'local/shop' to run it"):
                await provider.run_action(with_volumes, confirmation=wrong)
        all_gone = await provider.run_action(with_volumes, confirmation="local/shop")
        volumes_at_end = {vol.name for vol in docker_client.volumes.list()}
        with pytest.raises(ValueError, match="give `project`"):
            await provider.plan_action("compose.down", {})
    finally:
        await provider.close()

    assert keep_volumes.preview.destructive is True
    assert keep_volumes.preview.target == "shop"
    assert keep_volumes.preview.summary == (
        "take project shop down: stop and remove 2 containers (shop-api-1 (running), "
        "shop-db-1 (exited)), remove 1 networks (shop_default); volumes kept: shop_data"
    )
    assert keep_volumes.preview.touches == (
        "container shop-api-1 (running)",
        "container shop-db-1 (exited)",
        "network shop_default",
    )
    assert dict(keep_volumes.preview.counts) == {"containers": 2, "networks": 1, "volumes": 0}
    assert untouched == {"shop-api-1": "running", "shop-db-1": "exited"}
    assert downed.ok, downed.summary
    assert downed.summary == "took project shop down: removed 2 containers, 1 networks"
    assert downed.output == (
        "stopped and removed shop-api-1",
        "stopped and removed shop-db-1",
        "removed network shop_default",
    )
    assert "shop_default" not in networks_after
    assert {"shop_data", "blog_data"} <= volumes_after

    assert with_volumes.preview.summary == (
        "take project shop down: stop and remove 1 containers (shop-db-1 (running)), "
        f"remove 1 networks (shop_default) and 2 volumes (shop_data, {scratch})"
    )
    assert with_volumes.preview.touches == (
        "container shop-db-1 (running)",
        "network shop_default",
        "volume shop_data",
        f"volume {scratch}",
    )
    assert all_gone.ok, all_gone.summary
    assert all_gone.output == (
        "stopped and removed shop-db-1",
        "removed network shop_default",
        "removed volume shop_data",
        f"removed volume {scratch}",
    )
    assert project_containers(docker_client, "shop") == {}
    assert "shop_data" not in volumes_at_end and scratch not in volumes_at_end
    assert "blog_data" in volumes_at_end
    assert state(bystander)["Status"] == "running"
