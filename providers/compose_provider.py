"""Docker Compose stacks through the docker SDK: projects -> services -> containers.

The SDK is synchronous, so every engine call runs in a thread (`asyncio.to_thread`) and is
bounded by the target's timeout, both by the client's own HTTP timeout and by the caller's
deadline. `docker` is imported inside functions only: importing this module costs nothing.

Discovery lists the containers once and reads each one's state; between discoveries the engine's
event stream (the root node's `logs()`) tells what changed: a container died, was OOM killed,
turned unhealthy or restarted. The checks, the log streams and the actions are mixins from
`compose_checks`, `compose_engine_checks`, `compose_logs`, `compose_actions` and
`compose_lifecycle`.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from providers.addresses import merged
from providers.base import CommandTarget, Provider
from providers.compose_actions import ComposeActions
from providers.compose_checks import ComposeChecks
from providers.compose_engine_checks import ComposeEngineChecks
from providers.compose_lifecycle import ComposeLifecycle
from providers.compose_log_checks import ComposeLogChecks
from providers.compose_logs import ComposeLogs
from providers.compose_model import (
    STANDALONE_KEY,
    STANDALONE_NAME,
    ContainerView,
    container_status,
    group_status,
    required_env_for,
    restart_threshold,
)
from providers.contract import CheckCall, Health, Node, Status
from providers.docker_contexts import DockerContextError, DockerEndpoint, docker_endpoint
from providers.docker_ssh import SSHFailure
from providers.inventory import SecretError
from providers.sweep import shared

if TYPE_CHECKING:
    from docker import APIClient, DockerClient

SERVICE_CHECKS = (
    "compose.running",
    "compose.restart_loop",
    "compose.health",
    "compose.oom_killed",
    "compose.exit_code",
    "compose.resources",
)
MAX_POOL_SIZE = 32
SSH_POOL_SIZE = 8  # each pooled connection over ssh is an ssh process (two through a jump)


def tls_config(endpoint: DockerEndpoint) -> Any:
    """The TLS files of a Docker context, as the docker CLI uses them."""
    from docker.tls import TLSConfig

    assert endpoint.tls_folder is not None
    ca, cert, key = (endpoint.tls_folder / name for name in ("ca.pem", "cert.pem", "key.pem"))
    return TLSConfig(
        client_cert=(str(cert), str(key)) if cert.is_file() and key.is_file() else None,
        ca_cert=str(ca) if ca.is_file() else None,
        verify=endpoint.tls_verify,
    )


def proxies_read_once(api: APIClient) -> None:
    """The engine's proxy settings (HTTP_PROXY, NO_PROXY...) as they are now, kept for the
    client's life: requests otherwise reads them, walking the whole environment twice, and
    looks for ~/.netrc, at every call (a tenth of a refresh's CPU)."""
    import requests.utils

    api.proxies = requests.utils.get_environ_proxies(api.base_url)
    api.trust_env = False


class ComposeProvider(
    ComposeChecks,
    ComposeEngineChecks,
    ComposeLogChecks,
    ComposeLogs,
    ComposeActions,
    ComposeLifecycle,
    Provider,
):
    """One Docker engine; its compose projects are the children.

    The engine is the target's URL, else its Docker context (`options.context`, else the one
    the docker CLI would use: DOCKER_HOST, DOCKER_CONTEXT, config.json's currentContext). An
    ssh:// engine is reached through the system ssh client (providers/docker_ssh.py)."""

    kind = "compose"
    root_logs_are_changes = True  # engine events / pod watches
    command_tools = ("docker", "docker-compose")
    command_variables = ("DOCKER_HOST", "COMPOSE_PROJECT_NAME")
    command_shadows = (
        "DOCKER_HOST",
        "DOCKER_CONTEXT",
        "DOCKER_TLS_VERIFY",
        "DOCKER_CERT_PATH",
        "COMPOSE_*",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client: DockerClient | None = None
        self._client_lock = threading.Lock()
        self._endpoint: DockerEndpoint | None = None
        self._restarts_seen: dict[str, int] = {}

    # -- the engine ---------------------------------------------------------------------------

    @property
    def endpoint(self) -> DockerEndpoint:
        """The engine's address, read once (a Docker context is read from its files)."""
        if self._endpoint is None:
            if self.target.url is not None:
                self._endpoint = DockerEndpoint("", self.target.resolve_url(""))
            else:
                self._endpoint = docker_endpoint(str(self.target.options.get("context") or ""))
        return self._endpoint

    @property
    def url(self) -> str:
        return self.endpoint.host

    @property
    def address(self) -> str:
        try:
            return self.url
        except SecretError as error:
            return f"{self.target.name} ({error})"
        except DockerContextError as error:
            return f"docker context {error.context}"

    @property
    def engine_is_local(self) -> bool:
        """Whether the engine's host ports are this machine's (a port can be probed here)."""
        parts = urlsplit(self.url)
        if parts.scheme in ("unix", "npipe", ""):
            return True
        return parts.hostname in ("127.0.0.1", "localhost", "::1")

    @property
    def restart_threshold(self) -> int:
        return restart_threshold(self.target.options)

    @property
    def project_option(self) -> str | None:
        project = self.target.options.get("project")
        return str(project) if project else None

    def new_client(self, timeout: float | None, version: str | None = None) -> DockerClient:
        """A client on the engine; blocking (it may ask the engine its API version)."""
        import docker

        endpoint = self.endpoint
        kwargs: dict[str, Any] = {
            "timeout": None if timeout is None else max(1, math.ceil(timeout)),
        }
        if version:
            kwargs["version"] = version
        if endpoint.host.startswith("ssh://"):
            from providers import docker_ssh

            return docker_ssh.docker_client(
                endpoint.host,
                connect_timeout=self.timeout,
                max_pool_size=SSH_POOL_SIZE,
                **kwargs,
            )
        kwargs["max_pool_size"] = MAX_POOL_SIZE
        if endpoint.from_environment:  # DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH
            client = docker.from_env(**kwargs)
        else:
            if endpoint.tls_folder is not None:
                kwargs["tls"] = tls_config(endpoint)
            client = docker.DockerClient(base_url=endpoint.host, **kwargs)
        proxies_read_once(client.api)
        return client

    def client(self) -> DockerClient:
        """The shared client for short calls; blocking, so call it from a thread."""
        with self._client_lock:
            if self._client is None:
                self._client = self.new_client(self.timeout)
            return self._client

    async def close(self) -> None:
        with self._client_lock:
            client, self._client = self._client, None
        if client is not None:
            await asyncio.to_thread(client.close)

    async def command_target(self, params: Mapping[str, Any]) -> CommandTarget:
        """DOCKER_HOST of this engine and, when the runbook names a project or a service, that
        project (COMPOSE_PROJECT_NAME), run from its folder when the engine is this machine's.
        A service found in several projects is not guessed between."""
        endpoint = self.endpoint
        variables = {"DOCKER_HOST": endpoint.host}
        if endpoint.from_environment:  # the engine of DOCKER_HOST: its TLS settings go with it
            for name in ("DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
                if os.environ.get(name):
                    variables[name] = os.environ[name]
        elif endpoint.tls_folder is not None:  # a context's files have the names the CLI reads
            variables["DOCKER_CERT_PATH"] = str(endpoint.tls_folder)
            if endpoint.tls_verify:
                variables["DOCKER_TLS_VERIFY"] = "1"
        project = str(params.get("project") or "") or self.project_option or ""
        service = str(params.get("service") or "")
        working_dir = ""
        if project or service:
            selection = {"project": project, "service": service}
            views = await asyncio.to_thread(self._inspect_all, selection)
            projects = sorted({view.project for view in views if view.project})
            if len(projects) > 1:
                raise ValueError(
                    f"service {service} is in {len(projects)} compose projects "
                    f"({', '.join(projects)}) on {self.target.name}; name the project "
                    "(--param project=NAME)"
                )
            project = project or (projects[0] if projects else "")
            working_dir = next((view.working_dir for view in views if view.working_dir), "")
        if project:
            variables["COMPOSE_PROJECT_NAME"] = project
        local_folder = (
            self.engine_is_local
            and bool(working_dir)
            and await asyncio.to_thread(os.path.isdir, working_dir)
        )
        address = f"{self.address}, project {project}" if project else self.address
        return CommandTarget(
            self.target.name,
            self.kind,
            address,
            variables=variables,
            cwd=working_dir if local_folder else None,
        )

    def describe_error(self, error: BaseException) -> str:
        import docker.errors
        import requests.exceptions

        if isinstance(error, SecretError):
            return f"{self.target.name}: {error}"
        if isinstance(error, DockerContextError):
            return f"{self.target.name}: {error}"
        if isinstance(error, SSHFailure):
            return super().describe_error(error)
        if isinstance(error, docker.errors.APIError):
            return super().describe_error(RuntimeError(error.explanation or str(error)))
        if isinstance(error, requests.exceptions.Timeout | TimeoutError):
            return f"{self.address}: no answer within {self.timeout:g}s"
        text = str(error)
        if isinstance(error, requests.exceptions.ConnectionError | docker.errors.DockerException):
            if "FileNotFoundError" in text or "No such file" in text:
                return f"{self.address}: engine not reachable (no socket there)"
            if "Connection refused" in text or "ConnectionRefused" in text:
                return f"{self.address}: engine not reachable (connection refused)"
            if "Permission denied" in text or "PermissionError" in text:
                return f"{self.address}: engine not reachable (permission denied on the socket)"
            if isinstance(error, requests.exceptions.ConnectionError) or "API version" in text:
                return f"{self.address}: engine not reachable"
        return super().describe_error(error)

    # -- containers in scope ----------------------------------------------------------------

    def _inspect_all(self, params: Mapping[str, Any]) -> list[ContainerView]:
        """The containers that `params` (project, service, container) and the target select."""
        import docker.errors

        api = self.client().api
        project = params.get("project") or None
        service = params.get("service") or None
        container = params.get("container") or None
        if project == STANDALONE_KEY:
            project = None
        only = self.project_option
        if only and project and project != only:
            return []
        project = project or only
        if container:
            view = ContainerView.from_inspect(api.inspect_container(container))
            if project and view.project != project:
                return []
            return [view]
        labels = []
        if project:
            labels.append(f"com.docker.compose.project={project}")
        if service:
            labels.append(f"com.docker.compose.service={service}")
        summaries = api.containers(all=True, filters={"label": labels} if labels else None)
        views = []
        for summary in summaries:
            try:
                views.append(ContainerView.from_inspect(api.inspect_container(summary["Id"])))
            except docker.errors.NotFound:  # removed between the list and the inspect
                continue
        return sorted(views, key=lambda view: (view.number or 0, view.name))

    async def select(self, params: Mapping[str, Any]) -> list[ContainerView]:
        """The selected containers, inspected; within a sweep, discovery and the checks of one
        selection share one listing (providers/sweep.py)."""
        scope = tuple(params.get(key) or None for key in ("project", "service", "container"))
        views = await shared(
            (self, "containers", scope), lambda: asyncio.to_thread(self._inspect_all, params)
        )
        return list(views)

    @staticmethod
    def scope_name(params: Mapping[str, Any]) -> str:
        """How the selection reads in a summary: shop/api, a container name, or every container."""
        if params.get("container"):
            return str(params["container"])
        if params.get("service"):
            project = params.get("project")
            return f"{project}/{params['service']}" if project else str(params["service"])
        if params.get("project"):
            return str(params["project"])
        return "all containers"

    # -- the tree -----------------------------------------------------------------------------

    def root_checks(self) -> tuple[CheckCall, ...]:
        return (CheckCall("compose.disk_usage"), CheckCall("compose.port_conflicts"))

    def node_id(self, project: str | None, service: str | None = None, name: str = "") -> str:
        parts = [self.root_id, project or STANDALONE_KEY]
        if service and project:
            parts.append(service)
        if name:
            parts.append(name)
        return "/".join(parts)

    def parse_node(self, node_id: str) -> dict[str, str]:
        """Check or log parameters for a node id: project, service, container."""
        prefix = f"{self.root_id}/"
        if not node_id.startswith(prefix):
            return {}
        parts = node_id[len(prefix) :].split("/")
        if parts[0] == STANDALONE_KEY:
            return {"container": parts[1]} if len(parts) > 1 else {"project": STANDALONE_KEY}
        keys = ("project", "service", "container")
        return dict(zip(keys, parts, strict=False))

    async def discover(self) -> Node:
        # A context's files are read off the loop; what is wrong with them is said below, by
        # the client that cannot be made.
        with contextlib.suppress(SecretError, DockerContextError):
            await asyncio.to_thread(lambda: self.endpoint)
        name = f"{self.target.name} ({self.address})"
        try:
            async with asyncio.timeout(self.timeout):
                answer, views = await asyncio.gather(
                    asyncio.to_thread(lambda: self.client().version()), self.select({})
                )
                version = str(answer.get("Version", "?"))
        except TimeoutError:
            status = Status(Health.FAILING, f"{self.address}: no answer within {self.timeout:g}s")
            return self._root(name, status, ())
        except Exception as error:  # the tree shows why, instead of failing discovery
            return self._root(name, Status(Health.FAILING, self.describe_error(error)), ())
        projects: dict[str | None, dict[str | None, list[ContainerView]]] = {}
        for view in views:
            service = view.service if view.project else None
            projects.setdefault(view.project, {}).setdefault(service, []).append(view)
        children = [
            self._project_node(project, projects[project])
            for project in sorted(projects, key=lambda key: (key is None, key or ""))
        ]
        status = group_status(
            {child.name: child.status for child in children},
            "container",
            show_ok=f"Docker {version}, {len(views)} containers",
        )
        return self._root(name, status, tuple(children))

    def _root(self, name: str, status: Status, children: tuple[Node, ...]) -> Node:
        return Node(
            id=self.root_id,
            kind="compose.engine",
            name=name,
            status=status,
            children=children,
            checks=self.root_checks(),
            has_logs=True,
            detail="engine events",
        )

    def _project_node(
        self, project: str | None, services: Mapping[str | None, list[ContainerView]]
    ) -> Node:
        if project is None:
            containers = [self._container_node(view) for view in services[None]]
            status = group_status(
                {node.name: node.status for node in containers},
                "container",
                running=sum(view.running for view in services[None]),
            )
            return Node(
                id=self.node_id(None),
                kind="compose.project",
                name=STANDALONE_NAME,
                status=status,
                children=tuple(containers),
                detail=f"{len(containers)} containers outside any project",
            )
        children = [
            self._service_node(project, str(service), services[service])
            for service in sorted(services, key=lambda key: key or "")
        ]
        status = group_status(
            {child.name: child.status for child in children},
            "service",
            show_ok=f"{len(children)} services",
        )
        return Node(
            id=self.node_id(project),
            kind="compose.project",
            name=project,
            status=status,
            children=tuple(children),
            has_logs=True,
            detail=f"{len(children)} services",
            params=(("project", project),),
        )

    def _service_node(self, project: str, service: str, views: list[ContainerView]) -> Node:
        containers = [self._container_node(view) for view in views]
        params = {"project": project, "service": service}
        checks = [CheckCall(name, params) for name in SERVICE_CHECKS]
        if required_env_for(self.target.options, project, service):
            checks.append(CheckCall("compose.required_env", params))
        status = group_status(
            {node.name: node.status for node in containers},
            "container",
            running=sum(view.running for view in views),
        )
        return Node(
            id=self.node_id(project, service),
            kind="compose.service",
            name=service,
            status=status,
            children=tuple(containers),
            checks=tuple(checks),
            has_logs=True,
            detail=f"{sum(view.running for view in views)}/{len(views)} running",
            params=tuple(params.items()),
            depends_on=merged(view.depends_on for view in views),
        )

    def _container_node(self, view: ContainerView) -> Node:
        checks: tuple[CheckCall, ...] = ()
        if view.project is None:  # a standalone container is its own service
            checks = tuple(CheckCall(name, {"container": view.name}) for name in SERVICE_CHECKS)
        return Node(
            id=self.node_id(view.project, view.service, view.name),
            kind="compose.container",
            name=view.name,
            status=container_status(view, self.restart_threshold),
            checks=checks,
            has_logs=True,
            detail=f"{view.image} {view.short_id}",
            params=tuple(
                (key, value)
                for key, value in (
                    ("project", view.project),
                    ("service", view.service),
                    ("container", view.name),
                )
                if value
            ),
            depends_on=view.depends_on,
        )
