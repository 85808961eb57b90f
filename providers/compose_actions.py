"""Actions, mixed into ComposeProvider: restart, stop or start a service; prune the engine.

Planning reads exactly which containers (and images) an action would touch; `apply` touches
those and nothing that appeared after the preview was shown.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from providers.base import ActionPlan, action
from providers.compose_engine_checks import disk_facts
from providers.compose_model import PROJECT_LABEL, ContainerView
from providers.contract import ActionOutcome, ActionPreview, ParamSpec
from providers.inventory import Target
from providers.units import human_bytes

if TYPE_CHECKING:
    from docker import DockerClient

SERVICE = {
    "project": ParamSpec("Compose project name", str, None),
    "service": ParamSpec("Compose service name", str, required=True),
    "stop_timeout": ParamSpec("Seconds to wait for a clean stop before killing", int, None),
}
STOPPED_STATES = ("exited", "created", "dead")


class ComposeActions:
    """Mixed into ComposeProvider; relies on its `select`, `client`, `target`, `timeout` and
    `project_option`."""

    if TYPE_CHECKING:
        target: Target
        timeout: float

        @property
        def project_option(self) -> str | None: ...

        def client(self) -> DockerClient: ...

        async def select(self, params: Mapping[str, Any]) -> list[ContainerView]: ...

    async def _service_containers(self, params: Mapping[str, Any]) -> tuple[str, list[Any]]:
        project = params.get("project") or self.project_option
        if not project:
            raise ValueError("a service is named with its project: give `project`")
        name = f"{project}/{params['service']}"
        views = await self.select({"project": project, "service": params["service"]})
        if not views:
            raise ValueError(f"{name}: no containers for this service")
        return name, views

    def _stop_timeout(self, params: Mapping[str, Any]) -> int:
        """Within the action's deadline: docker waits this long before it kills."""
        given = params.get("stop_timeout")
        if given is not None:
            return max(0, int(given))
        return max(1, min(10, math.floor(self.timeout / 2)))

    def _service_plan(
        self,
        name: str,
        verb: str,
        target: str,
        views: list[ContainerView],
        call: Any,
    ) -> ActionPlan:
        touches = tuple(f"{view.name} ({view.state})" for view in views)
        listed = ", ".join(touches) if touches else "nothing to do"
        preview = ActionPreview(
            action=name,
            target=target,
            summary=f"{verb} {len(views)} containers of service {target}: {listed}",
            destructive=False,
            touches=touches,
            counts={"containers": len(views)},
        )

        async def apply() -> ActionOutcome:
            await asyncio.gather(*(asyncio.to_thread(call, view.id) for view in views))
            done = f"{verb.rstrip('e')}ed" if verb != "stop" else "stopped"
            return ActionOutcome(
                name,
                target,
                True,
                f"{done} {len(views)} containers of {target}",
                tuple(view.name for view in views),
            )

        return ActionPlan(preview, apply)

    @action(
        "compose.restart_service",
        "Restart a service (docker compose restart)",
        destructive=False,
        params=SERVICE,
    )
    async def restart_service(self, params: Mapping[str, Any]) -> ActionPlan:
        target, views = await self._service_containers(params)
        seconds = self._stop_timeout(params)
        api = self.client().api
        return self._service_plan(
            "compose.restart_service",
            "restart",
            target,
            views,
            lambda ident: api.restart(ident, timeout=seconds),
        )

    @action(
        "compose.stop_service",
        "Stop a service (docker compose stop)",
        destructive=False,
        params=SERVICE,
    )
    async def stop_service(self, params: Mapping[str, Any]) -> ActionPlan:
        target, views = await self._service_containers(params)
        seconds = self._stop_timeout(params)
        api = self.client().api
        running = [view for view in views if view.state in ("running", "restarting", "paused")]
        return self._service_plan(
            "compose.stop_service",
            "stop",
            target,
            running,
            lambda ident: api.stop(ident, timeout=seconds),
        )

    @action(
        "compose.start_service",
        "Start a service's stopped containers (docker compose start)",
        destructive=False,
        params=SERVICE,
    )
    async def start_service(self, params: Mapping[str, Any]) -> ActionPlan:
        target, views = await self._service_containers(params)
        api = self.client().api
        stopped = [view for view in views if view.state in STOPPED_STATES]
        return self._service_plan(
            "compose.start_service", "start", target, stopped, lambda ident: api.start(ident)
        )

    @action(
        "compose.prune",
        "Remove stopped containers and dangling images (docker system prune)",
        destructive=True,
        params={"project": ParamSpec("Only this project's stopped containers", str, None)},
    )
    async def prune(self, params: Mapping[str, Any]) -> ActionPlan:
        project = params.get("project") or self.project_option
        df = await asyncio.to_thread(self.client().api.df)
        dangling = await asyncio.to_thread(
            self.client().api.images, filters={"dangling": True}, quiet=True
        )
        containers = [
            row
            for row in df.get("Containers") or []
            if row.get("State") in STOPPED_STATES
            and (not project or (row.get("Labels") or {}).get(PROJECT_LABEL) == project)
        ]
        going = {str(row["Id"]) for row in containers}
        kept_images = {
            str(row.get("ImageID"))
            for row in df.get("Containers") or []
            if str(row.get("Id")) not in going
        }
        images = [
            row
            for row in df.get("Images") or []
            if str(row.get("Id")) in set(dangling) and str(row.get("Id")) not in kept_images
        ]
        container_bytes = sum(int(row.get("SizeRw") or 0) for row in containers)
        image_bytes = sum(
            max(0, int(row.get("Size") or 0) - max(0, int(row.get("SharedSize") or 0)))
            for row in images
        )
        reclaimable = container_bytes + image_bytes
        names = [str((row.get("Names") or ["?"])[0]).lstrip("/") for row in containers]
        image_names = [str(row["Id"]).removeprefix("sha256:")[:12] for row in images]
        target = project or self.target.name
        total = human_bytes(disk_facts(df)["reclaimable_bytes"])
        engine_wide = "" if project else f" (engine total reclaimable: {total})"
        preview = ActionPreview(
            action="compose.prune",
            target=target,
            summary=(
                f"remove {len(containers)} stopped containers and {len(images)} dangling images "
                f"on {target}, reclaiming {human_bytes(reclaimable)}" + engine_wide
            ),
            destructive=True,
            touches=(
                *(f"container {name}" for name in names),
                *(f"image {name}" for name in image_names),
            ),
            counts={
                "containers": len(containers),
                "images": len(images),
                "reclaimable_bytes": reclaimable,
            },
        )

        def remove() -> list[str]:
            import docker.errors

            api = self.client().api
            gone = []
            for row, name in zip(containers, names, strict=True):
                try:
                    api.remove_container(row["Id"], v=False)
                    gone.append(f"removed container {name}")
                except docker.errors.NotFound:
                    gone.append(f"container {name} was already gone")
            for row, name in zip(images, image_names, strict=True):
                try:
                    api.remove_image(row["Id"])
                    gone.append(f"removed image {name}")
                except docker.errors.NotFound:
                    gone.append(f"image {name} was already gone")
            return gone

        async def apply() -> ActionOutcome:
            output = await asyncio.to_thread(remove)
            return ActionOutcome(
                "compose.prune",
                target,
                True,
                f"removed {len(containers)} containers and {len(images)} images, "
                f"reclaimed {human_bytes(reclaimable)}",
                tuple(output),
            )

        return ActionPlan(preview, apply)
