"""Lifecycle actions, mixed into ComposeProvider: scale a service, take a project down.

They do what `docker compose up --scale` and `docker compose down` do, without the compose
file: a service scaled up gets clones of its existing container (same configuration, labels and
networks, the next container number); scaling down and `down` stop, then remove, exactly the
containers, networks and volumes the preview named, and nothing that appeared after it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from providers.base import ActionPlan, action
from providers.compose_model import NUMBER_LABEL, PROJECT_LABEL, ContainerView
from providers.contract import ActionOutcome, ActionPreview, ParamSpec
from providers.inventory import Target

if TYPE_CHECKING:
    from docker import DockerClient

STOP_TIMEOUT = ParamSpec("Seconds to wait for a clean stop before killing", int, None)
SCALE = {
    "project": ParamSpec("Compose project name", str, None),
    "service": ParamSpec("Compose service name", str, required=True),
    "replicas": ParamSpec("How many containers the service should have", int, required=True),
    "stop_timeout": STOP_TIMEOUT,
}
DOWN = {
    "project": ParamSpec("Compose project name", str, None),
    "volumes": ParamSpec("Also remove the project's volumes (docker compose down -v)", bool, False),
    "stop_timeout": STOP_TIMEOUT,
}
STOPPED_STATES = ("exited", "created", "dead")
ANONYMOUS_LABEL = "com.docker.volume.anonymous"
# Network modes without endpoints of their own: nothing to attach a clone to.
SHARED_NETWORK_MODES = ("host", "none")


def flag(value: Any) -> bool:
    """A yes/no parameter, given as a bool (YAML) or as text (the command line)."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def fixed_host_ports(attrs: Mapping[str, Any]) -> list[str]:
    """Host ports the container binds by number: a second container could not bind them."""
    bindings = (attrs.get("HostConfig") or {}).get("PortBindings") or {}
    return sorted(
        {
            str(binding.get("HostPort"))
            for entries in bindings.values()
            for binding in entries or []
            if str(binding.get("HostPort") or "0") not in ("", "0")
            and "-" not in str(binding.get("HostPort"))
        }
    )


def clone_config(
    attrs: Mapping[str, Any], number: int
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """A create request copying a container, numbered `number`; and further networks to join.

    The inspect output's Config and HostConfig are the create request's own shapes. What belongs
    to the original alone is dropped: its hostname (its short id), its aliases naming it, and
    fixed IP addresses (two containers cannot share one).
    """
    ident = str(attrs.get("Id", ""))
    own_name = str(attrs.get("Name") or "").lstrip("/")
    config = dict(attrs.get("Config") or {})
    config["Labels"] = {**(config.get("Labels") or {}), NUMBER_LABEL: str(number)}
    if config.get("Hostname") == ident[:12]:
        config.pop("Hostname")
    host = dict(attrs.get("HostConfig") or {})
    config["HostConfig"] = host
    mode = str(host.get("NetworkMode") or "")
    if mode in SHARED_NETWORK_MODES or mode.startswith("container:"):
        return config, {}
    endpoints: dict[str, dict[str, Any]] = {}
    for network, endpoint in ((attrs.get("NetworkSettings") or {}).get("Networks") or {}).items():
        aliases = [a for a in endpoint.get("Aliases") or [] if a not in (ident[:12], own_name)]
        endpoints[network] = {"Aliases": aliases} if aliases else {}
    primary = "bridge" if mode in ("", "default") else mode
    if primary in endpoints:
        config["NetworkingConfig"] = {"EndpointsConfig": {primary: endpoints.pop(primary)}}
    return config, endpoints


def clone_name(template: ContainerView, project: str, service: str, number: int) -> str:
    """Compose's name for container `number`: project-service-N, or project_service_N when
    the service's containers were named by compose v1."""
    sep = "_" if template.name == f"{project}_{service}_{template.number}" else "-"
    return f"{project}{sep}{service}{sep}{number}"


def is_anonymous(name: str, labels: Mapping[str, Any] | None) -> bool:
    return ANONYMOUS_LABEL in (labels or {}) or re.fullmatch(r"[0-9a-f]{64}", name) is not None


def listed(names: list[str]) -> str:
    return ", ".join(names) if names else "none"


class ComposeLifecycle:
    """Mixed into ComposeProvider; relies on its `select`, `client`, `target`, `timeout`,
    `project_option`, `describe_error` and, from ComposeActions, `_service_containers` and
    `_stop_timeout`."""

    if TYPE_CHECKING:
        target: Target
        timeout: float

        @property
        def project_option(self) -> str | None: ...

        def client(self) -> DockerClient: ...

        def describe_error(self, error: BaseException) -> str: ...

        async def select(self, params: Mapping[str, Any]) -> list[ContainerView]: ...

        async def _service_containers(self, params: Mapping[str, Any]) -> tuple[str, list[Any]]: ...

        def _stop_timeout(self, params: Mapping[str, Any]) -> int: ...

    async def _steps(self, steps: list[tuple[str, Callable[[], str]]]) -> tuple[bool, list[str]]:
        """Run blocking steps side by side in threads; each says what it did or why it failed."""
        done = await asyncio.gather(
            *(asyncio.to_thread(step) for _, step in steps), return_exceptions=True
        )
        output, ok = [], True
        for (what, _), result in zip(steps, done, strict=True):
            if isinstance(result, BaseException):
                if not isinstance(result, Exception):
                    raise result  # cancellation and the like are not a step's failure
                ok = False
                output.append(f"could not {what}: {self.describe_error(result)}")
            else:
                output.append(result)
        return ok, output

    def _stop_and_remove(self, ident: str, name: str, seconds: int) -> str:
        """Stop within `seconds`, then remove; its anonymous volumes stay (removed by name
        when the preview listed them)."""
        import docker.errors

        api = self.client().api
        try:
            api.stop(ident, timeout=seconds)
            api.remove_container(ident, v=False)
        except docker.errors.NotFound:
            return f"container {name} was already gone"
        return f"stopped and removed {name}"

    def _remove_each(
        self, kind: str, names: list[str], remove: Callable[[str], Any]
    ) -> tuple[bool, list[str]]:
        """Remove networks or volumes one by one; one that cannot go does not stop the rest."""
        import docker.errors

        ok, output = True, []
        for name in names:
            try:
                remove(name)
                output.append(f"removed {kind} {name}")
            except docker.errors.NotFound:
                output.append(f"{kind} {name} was already gone")
            except docker.errors.APIError as error:  # in use, say; reported, the rest goes on
                ok = False
                output.append(f"could not remove {kind} {name}: {self.describe_error(error)}")
        return ok, output

    @action(
        "compose.scale",
        "Scale a service to N containers (docker compose up --scale SERVICE=N)",
        destructive=True,  # when it scales down; scaling up asks only for 'yes'
        params=SCALE,
    )
    async def scale(self, params: Mapping[str, Any]) -> ActionPlan:
        """Clones the service's container to add ones, removes the highest-numbered to drop
        ones, and starts the stopped ones it keeps. Destructive only when it removes."""
        target, views = await self._service_containers(params)
        replicas = int(params["replicas"])
        if replicas < 1:
            raise ValueError(
                f"{target}: replicas must be 1 or more (a service scaled to 0 keeps no container "
                "to clone later); stop it with compose.stop_service"
            )
        project, service = target.split("/", 1)
        keep, extra = views[:replicas], views[replicas:][::-1]
        stopped = [view for view in keep if view.state in STOPPED_STATES]
        template = next((view for view in views if view.running), views[0])
        attrs: Mapping[str, Any] = {}
        new: list[tuple[int, str]] = []
        if replicas > len(views):
            attrs = await asyncio.to_thread(
                lambda: self.client().api.inspect_container(template.id)
            )
            ports = fixed_host_ports(attrs)
            if ports:
                raise ValueError(
                    f"{target} publishes host port {', '.join(ports)}: a second container "
                    "could not bind it; publish a port range or none to scale this service"
                )
            first = max(view.number or 0 for view in views) + 1
            numbers = range(first, first + replicas - len(views))
            new = [(n, clone_name(template, project, service, n)) for n in numbers]
        parts = []
        if new:
            parts.append(f"create {', '.join(name for _, name in new)} (like {template.name})")
        if stopped:
            parts.append(f"start {', '.join(f'{v.name} ({v.state})' for v in stopped)}")
        if extra:
            parts.append(f"stop and remove {', '.join(f'{v.name} ({v.state})' for v in extra)}")
        preview = ActionPreview(
            action="compose.scale",
            target=target,
            summary=f"scale {target} from {len(views)} to {replicas} containers: "
            + ("; ".join(parts) or "nothing changes"),
            destructive=bool(extra),
            touches=(
                *(f"create {name}" for _, name in new),
                *(f"start {view.name} ({view.state})" for view in stopped),
                *(f"remove {view.name} ({view.state})" for view in extra),
            ),
            counts={
                "from": len(views),
                "to": replicas,
                "create": len(new),
                "start": len(stopped),
                "remove": len(extra),
            },
        )
        seconds = self._stop_timeout(params)

        def create(number: int, name: str) -> str:
            api = self.client().api
            config, networks = clone_config(attrs, number)
            ident = api.create_container_from_config(config, name=name)["Id"]
            for network, endpoint in networks.items():
                api.connect_container_to_network(ident, network, aliases=endpoint.get("Aliases"))
            api.start(ident)
            return f"created and started {name}"

        def start(view: ContainerView) -> str:
            self.client().api.start(view.id)
            return f"started {view.name}"

        steps: list[tuple[str, Callable[[], str]]] = [
            *((f"create {name}", partial(create, n, name)) for n, name in new),
            *((f"start {view.name}", partial(start, view)) for view in stopped),
            *(
                (f"remove {view.name}", partial(self._stop_and_remove, view.id, view.name, seconds))
                for view in extra
            ),
        ]

        async def apply() -> ActionOutcome:
            ok, output = await self._steps(steps)
            failed = sum(line.startswith("could not ") for line in output)
            summary = f"scaled {target} from {len(views)} to {replicas} containers"
            if failed:
                summary = f"{target}: {failed} of {len(steps)} steps failed scaling to {replicas}"
            return ActionOutcome("compose.scale", target, ok, summary, tuple(output))

        return ActionPlan(preview, apply)

    def _project_resources(
        self, project: str, ids: set[str]
    ) -> tuple[list[str], list[str], list[str]]:
        """The project's networks, its labelled volumes, and the anonymous volumes its
        containers (`ids`) mount, all by name."""
        api = self.client().api
        label = {"label": [f"{PROJECT_LABEL}={project}"]}
        networks = sorted(str(net["Name"]) for net in api.networks(filters=label))
        named = sorted(str(vol["Name"]) for vol in api.volumes(filters=label).get("Volumes") or [])
        mounted = {
            str(mount["Name"])
            for row in api.containers(all=True, filters=label)
            if str(row.get("Id")) in ids
            for mount in row.get("Mounts") or []
            if mount.get("Type") == "volume" and mount.get("Name")
        }
        anonymous = sorted(
            name
            for name in mounted - set(named)
            if is_anonymous(name, api.inspect_volume(name).get("Labels"))
        )
        return networks, named, anonymous

    @action(
        "compose.down",
        "Stop and remove a project's containers and networks (docker compose down [-v])",
        destructive=True,
        params=DOWN,
    )
    async def down(self, params: Mapping[str, Any]) -> ActionPlan:
        """With `volumes`, also the project's named volumes and its containers' anonymous ones.
        The word to type is the project's name."""
        project = params.get("project") or self.project_option
        if not project:
            raise ValueError("compose.down takes a project down: give `project`")
        only = self.project_option
        if only and project != only:
            raise ValueError(f"target {self.target.name} is limited to project {only}")
        with_volumes = flag(params.get("volumes"))
        views = await self.select({"project": project})
        networks, named, anonymous = await asyncio.to_thread(
            self._project_resources, project, {view.id for view in views}
        )
        volumes = [*named, *anonymous] if with_volumes else []
        containers = [f"{view.name} ({view.state})" for view in views]
        kept = "" if with_volumes or not named else f"; volumes kept: {', '.join(named)}"
        preview = ActionPreview(
            action="compose.down",
            target=project,
            summary=(
                f"take project {project} down: stop and remove {len(views)} containers "
                f"({listed(containers)}), remove {len(networks)} networks ({listed(networks)})"
                + (f" and {len(volumes)} volumes ({listed(volumes)})" if with_volumes else "")
                + kept
            ),
            destructive=True,
            touches=(
                *(f"container {name}" for name in containers),
                *(f"network {name}" for name in networks),
                *(f"volume {name}" for name in volumes),
            ),
            counts={"containers": len(views), "networks": len(networks), "volumes": len(volumes)},
        )
        seconds = self._stop_timeout(params)

        async def apply() -> ActionOutcome:
            ok, output = await self._steps(
                [
                    (
                        f"remove {view.name}",
                        partial(self._stop_and_remove, view.id, view.name, seconds),
                    )
                    for view in views
                ]
            )
            if not ok:  # a network still in use by a container left cannot go either
                summary = f"{project}: not every container was removed; networks and volumes kept"
                return ActionOutcome("compose.down", project, False, summary, tuple(output))
            client = await asyncio.to_thread(self.client)
            for kind, names, remove in (
                ("network", networks, client.api.remove_network),
                ("volume", volumes, client.api.remove_volume),
            ):
                removed, lines = await asyncio.to_thread(self._remove_each, kind, names, remove)
                ok, output = ok and removed, [*output, *lines]
            summary = (
                f"took project {project} down: removed {len(views)} containers, "
                f"{len(networks)} networks" + (f", {len(volumes)} volumes" if with_volumes else "")
            )
            if not ok:
                summary = f"{project}: containers removed, not every network or volume"
            return ActionOutcome("compose.down", project, ok, summary, tuple(output))

        return ActionPlan(preview, apply)
