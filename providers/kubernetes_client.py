"""The Kubernetes connection, shared by the provider and its mixins: configuration, calls, errors.

The official client is synchronous, so every call runs in a thread (`asyncio.to_thread`) with
`_request_timeout` set to the target's timeout, and answers are read as the API's own JSON:
the checks read `status.containerStatuses[].state.waiting.reason`,
exactly what `kubectl get -o yaml` shows. `kubernetes` is imported inside functions only.

Configuration, in order: `target.options.kubeconfig` (else `$KUBECONFIG`, else
`~/.kube/config`) with `target.options.context` (else the current context); else the in-cluster
service account; else `target.url` as the API server's address. A kubeconfig user's `exec`
plugin (EKS's `aws eks get-token`) gives the token, renewed when it expires
(providers/kubernetes_exec.py). The API server is reached through the environment's proxy
(`HTTPS_PROXY`, `NO_PROXY`; never for a loopback server) unless the cluster names its own
`proxy-url`.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote, urlsplit

from providers.inventory import Target
from providers.kubernetes_exec import ExecCredentials, ExecPlugin, ExecPluginError
from providers.proxies import Proxy, proxy_for
from providers.redact import redact

if TYPE_CHECKING:
    from kubernetes.client import ApiClient, Configuration


# Resource (plural) -> its API group's path prefix.
GROUPS = {
    "deployments": "/apis/apps/v1",
    "statefulsets": "/apis/apps/v1",
    "daemonsets": "/apis/apps/v1",
    "horizontalpodautoscalers": "/apis/autoscaling/v2",
    "podmetrics": "/apis/metrics.k8s.io/v1beta1",
}


def path_of(resource: str, namespace: str = "", name: str = "", sub: str = "") -> str:
    """/api/v1/namespaces/prod/pods/web-1/log and the like; `podmetrics` is metrics.k8s.io pods."""
    path = GROUPS.get(resource, "/api/v1")
    if namespace:
        path += f"/namespaces/{quote(namespace, safe='')}"
    path += "/pods" if resource == "podmetrics" else f"/{resource}"
    if name:
        path += f"/{quote(name, safe='')}"
    if sub:
        path += f"/{sub}"
    return path


def kubeconfig_paths(options: Mapping[str, Any]) -> list[Path]:
    """The kubeconfig files a target reads: option `kubeconfig`, `$KUBECONFIG`, ~/.kube/config."""
    path = options.get("kubeconfig") or os.environ.get("KUBECONFIG") or ""
    paths = [Path(p).expanduser() for p in str(path).split(os.pathsep) if p]
    if not paths and Path("~/.kube/config").expanduser().exists():
        paths = [Path("~/.kube/config").expanduser()]
    return paths


def kube_contexts(paths: list[Path]) -> tuple[list[str], str]:
    """The context names of these kubeconfig files, and the current context ("" if none).

    Read with PyYAML, not the SDK (0.5 s to import): only names are read out, never a cluster's
    address or a user's credentials. Raises ValueError naming a file it cannot read.
    """
    import yaml

    names: list[str] = []
    current = ""
    for path in paths:
        if not path.exists():
            continue
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except OSError as error:
            raise ValueError(f"kubeconfig {path}: {error.strerror or error}") from error
        except yaml.YAMLError as error:
            # Not str(error): its excerpt of the file could show a token.
            mark = getattr(error, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise ValueError(f"kubeconfig {path}: not valid YAML{where}") from error
        if not isinstance(document, dict):
            raise ValueError(f"kubeconfig {path}: not a kubeconfig (expected a mapping)")
        for entry in document.get("contexts") or []:
            name = str(entry.get("name", "")) if isinstance(entry, dict) else ""
            if name and name not in names:
                names.append(name)
        # As kubectl merges KUBECONFIG: the first file that sets current-context wins.
        current = current or str(document.get("current-context") or "")
    return names, current


class KubeConfigError(Exception):
    """No usable cluster configuration (no kubeconfig, unknown context, not in a cluster)."""


# An exec plugin may sign in somewhere first (`aws eks get-token` after an SSO refresh): it
# gets at least this long, whatever the target's timeout; the request that needed it still
# fails at its own deadline, and the next one finds the token.
EXEC_PLUGIN_TIMEOUT = 10.0


def _entry(kubeconfig: Any, section: str, name: Any, key: str) -> Any:
    """The `key` mapping (a ConfigNode) of the entry named `name` in a kubeconfig section."""
    found = kubeconfig.safe_get(section) and kubeconfig[section].get_with_name(name, safe=True)
    return found[key] if found and isinstance(found.safe_get(key), dict) else None


def exec_credentials(
    kubeconfig: Any, context: Mapping[str, Any], timeout: float
) -> ExecCredentials | None:
    """The exec plugin of the context's user, taken out of the client's hands.

    `kubeconfig` is the merged configuration (KubeConfigMerger's `config`), `context` the
    context in use. None when the user has no plugin, or authenticates otherwise first (the
    client's own order: an auth-provider, then a token, then exec). The `exec` entry is removed
    from `kubeconfig`, so the client loaded from it does not run the plugin itself.
    """
    names = context.get("context") or {}
    user = _entry(kubeconfig, "users", names.get("user"), "user")
    if user is None:
        return None
    section = user.value
    if "exec" not in section or {"auth-provider", "token", "tokenFile"} & set(section):
        return None
    cluster = _entry(kubeconfig, "clusters", names.get("cluster"), "cluster")
    directory = os.path.dirname(os.path.abspath(user.path)) if user.path else ""
    try:
        plugin = ExecPlugin.from_kubeconfig(
            str(names.get("user")),
            section["exec"] or {},
            directory,
            cluster.value if cluster else {},
        )
    except ValueError as error:
        raise KubeConfigError(str(error)) from None
    del section["exec"]
    return ExecCredentials(plugin, max(timeout, EXEC_PLUGIN_TIMEOUT))


def status_message(body: Any) -> str:
    """The `message` of a Status object the API answered with, or the body's first line."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    try:
        data = json.loads(body)
    except (TypeError, ValueError):
        return str(body or "").strip().splitlines()[0] if str(body or "").strip() else ""
    return str(data.get("message", "")) if isinstance(data, dict) else ""


class KubernetesBase:
    """Mixed into KubernetesProvider and its mixins: the client, `_api` calls and error text."""

    if TYPE_CHECKING:
        target: Target
        timeout: float
        kind: ClassVar[str]

        @property
        def root_id(self) -> str: ...

    _config_lock = threading.Lock()
    _loaded: tuple[Configuration, str] | KubeConfigError | None = None
    _client: ApiClient | None = None
    _exec: ExecCredentials | None = None  # the kubeconfig user's exec plugin, if any
    _proxy: Proxy | None = None  # the environment's proxy to the API server, if any

    # -- configuration -------------------------------------------------------------------------

    def _configuration(self) -> tuple[Configuration, str]:
        """(client configuration, context name), loaded once; raises KubeConfigError."""
        with self._config_lock:
            if self._loaded is None:
                try:
                    self._loaded = self._load_configuration()
                except KubeConfigError as error:
                    self._loaded = error
                except Exception as error:  # the loader's own errors: bad YAML, bad context
                    self._loaded = KubeConfigError(f"kubeconfig: {error}")
        if isinstance(self._loaded, KubeConfigError):
            raise self._loaded
        return self._loaded

    def _load_configuration(self) -> tuple[Configuration, str]:
        from kubernetes import client, config
        from kubernetes.config.kube_config import KubeConfigLoader, KubeConfigMerger

        options = self.target.options
        configuration = client.Configuration()
        paths = kubeconfig_paths(options)
        context = options.get("context")
        url = self.target.url if isinstance(self.target.url, str) else None
        own_proxy = False  # the cluster's proxy-url, which the kubeconfig sets
        if paths:
            existing = [p for p in paths if p.exists()]
            if not existing:
                raise KubeConfigError(f"kubeconfig {paths[0]} does not exist")
            # What config.load_kube_config does, with the loader at hand for its exec plugin.
            merged = KubeConfigMerger(os.pathsep.join(str(p) for p in existing))
            if merged.config is None:
                raise KubeConfigError(f"kubeconfig {existing[0]}: no configuration found")
            loader = KubeConfigLoader(config_dict=merged.config, active_context=context)
            self._exec = exec_credentials(merged.config, loader.current_context, self.timeout)
            loader.load_and_set(configuration)
            if self._exec is not None:
                self._exec.set_on(configuration)
            context = context or loader.current_context["name"]
            names = loader.current_context.get("context") or {}
            cluster = _entry(merged.config, "clusters", names.get("cluster"), "cluster")
            own_proxy = cluster is not None and bool(cluster.safe_get("proxy-url"))
        elif os.environ.get("KUBERNETES_SERVICE_HOST"):
            config.load_incluster_config(client_configuration=configuration)
            context = context or "in-cluster"
        elif url:
            configuration.host = url
            context = context or url
        else:
            raise KubeConfigError(
                "no kubeconfig ($KUBECONFIG, ~/.kube/config), not in a cluster, and no url"
            )
        if not own_proxy:
            # The client reads the environment's proxy too, but would use it for a loopback
            # server unless NO_PROXY names it: the decision is proxy_for's.
            self._proxy = proxy_for(configuration.host)
            configuration.proxy = self._proxy.url if self._proxy is not None else None
        configuration.no_proxy = None  # decided above; a cluster's proxy-url is kubectl's too
        configuration.retries = 0  # a dead server costs one timeout, not three retries
        return configuration, str(context)

    @property
    def context(self) -> str:
        try:
            return self._configuration()[1]
        except KubeConfigError:
            return ""

    @property
    def address(self) -> str:
        """The API server as host:port (what kubectl names when it cannot connect)."""
        try:
            host = self._configuration()[0].host
        except KubeConfigError as error:
            return f"{self.target.name} ({error})"
        parts = urlsplit(host)
        return parts.netloc or host

    def api_client(self) -> ApiClient:
        if self._client is None:
            from kubernetes.client import ApiClient

            self._client = ApiClient(self._configuration()[0])
        return self._client

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await asyncio.to_thread(client.close)

    def namespaces_option(self) -> list[str]:
        return [str(ns) for ns in self.target.options.get("namespaces") or []]

    # -- calls ---------------------------------------------------------------------------------
    # Requests go through ApiClient (auth, TLS, proxies from the kubeconfig) by path: the
    # generated *Api classes would import ~250 pydantic models (1-3 s) on first use.

    def _send(
        self,
        method: str,
        path: str,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        *,
        timeout: float | tuple[float, float] | None = None,
        stream: bool = False,
    ) -> Any:
        """One request; the body as bytes, or the open urllib3 response when `stream`."""
        from kubernetes.client.exceptions import ApiException

        client = self.api_client()
        headers = {"Accept": "application/json, */*"}
        if body is not None:
            headers["Content-Type"] = (
                "application/json-patch+json"
                if isinstance(body, list)
                else "application/strategic-merge-patch+json"
            )
        params = [
            (key, str(value).lower() if isinstance(value, bool) else str(value))
            for key, value in (query or {}).items()
            if value is not None and value != ""
        ]
        request = client.param_serialize(
            method=method,
            resource_path=path,
            query_params=params,
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        response = client.call_api(*request, _request_timeout=timeout or self.timeout)
        if response.status == 401 and self._exec is not None:
            # The plugin's token was refused before it said it would expire (revoked, or the
            # clocks differ): once more with a new one, as kubectl does.
            response.read()
            self._exec.refused(request[2].get("authorization", ""))
            request = client.param_serialize(
                method=method,
                resource_path=path,
                query_params=params,
                header_params=headers,
                body=body,
                auth_settings=["BearerToken"],
            )
            response = client.call_api(*request, _request_timeout=timeout or self.timeout)
        if not 200 <= response.status <= 299:
            response.read()
            raise ApiException.from_response(http_resp=response, body=None, data=None)
        if stream:
            return response.response
        response.read()
        return bytes(response.data or b"")

    async def _request(
        self, method: str, path: str, query: Mapping[str, Any] | None = None, body: Any = None
    ) -> Any:
        """The answer to one request, as JSON (read and parsed in a thread).

        A GET asked while the same one is in flight shares its answer: a sweep's discovery and
        its ten checks all list the same 2,000 pods at once, and one list serves them all. No
        answer is older than its question (nothing is kept once answered), and callers only
        read what they get.
        """
        if method != "GET":
            return await asyncio.to_thread(self._send_json, method, path, query, body)
        loop = asyncio.get_running_loop()
        # As `_send` asks: empty values are left out, so `labelSelector=""` shares with none.
        asked = {k: v for k, v in (query or {}).items() if v is not None and v != ""}
        key = (path, tuple(sorted((k, str(v)) for k, v in asked.items())))
        in_flight = self._in_flight()
        task = in_flight.get(key)
        if task is None or task.get_loop() is not loop:
            task = loop.create_task(asyncio.to_thread(self._send_json, method, path, query, body))
            in_flight[key] = task

            def answered(done: asyncio.Task[Any]) -> None:
                if in_flight.get(key) is done:
                    del in_flight[key]
                if not done.cancelled():
                    done.exception()  # retrieved here, so a failure nobody awaits is not "lost"

            task.add_done_callback(answered)
        return await asyncio.shield(task)  # one caller's timeout never cancels the others' call

    def _in_flight(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], asyncio.Task[Any]]:
        in_flight: dict[tuple[str, tuple[tuple[str, str], ...]], asyncio.Task[Any]]
        in_flight = self.__dict__.setdefault("_in_flight_gets", {})
        return in_flight

    def _send_json(self, method: str, path: str, query: Mapping[str, Any] | None, body: Any) -> Any:
        return json.loads(self._send(method, path, query, body))

    async def _text(self, path: str, query: Mapping[str, Any] | None = None) -> str:
        data = await asyncio.to_thread(self._send, "GET", path, query)
        return bytes(data).decode("utf-8", errors="replace")

    async def _get(
        self, resource: str, namespace: str = "", name: str = "", sub: str = "", **query: Any
    ) -> Any:
        return await self._request("GET", path_of(resource, namespace, name, sub), query)

    async def _items(self, resource: str, namespace: str = "", **query: Any) -> list[Any]:
        found = await self._get(resource, namespace, **query)
        return list(found.get("items") or [])

    async def namespaces(self) -> list[str]:
        """The configured namespaces, else every namespace of the cluster."""
        configured = self.namespaces_option()
        if configured:
            return configured
        items = await self._items("namespaces")
        return sorted(item["metadata"]["name"] for item in items)

    async def list_in(self, resource: str, namespace: str = "", **query: Any) -> list[Any]:
        """Objects of `resource` in one namespace, in the configured ones, or in all."""
        if namespace or not self.namespaces_option():
            return await self._items(resource, namespace, **query)
        lists = await asyncio.gather(
            *(self._items(resource, ns, **query) for ns in self.namespaces_option())
        )
        return [item for found in lists for item in found]

    async def pods(self, namespace: str = "", selector: str = "", pod: str = "") -> list[Any]:
        if pod:
            if not namespace:
                raise ValueError("a pod is named within a namespace: give `namespace` too")
            return [await self._get("pods", namespace, pod)]
        return await self.list_in("pods", namespace, labelSelector=selector)

    # -- errors --------------------------------------------------------------------------------

    def describe_error(self, error: BaseException) -> str:
        from kubernetes.client.exceptions import ApiException
        from kubernetes.config.config_exception import ConfigException
        from urllib3 import exceptions as http

        if isinstance(error, KubeConfigError | ConfigException | ExecPluginError):
            return redact(f"{self.target.name}: {error}")
        if isinstance(error, http.MaxRetryError) and error.reason is not None:
            error = error.reason
        if isinstance(error, http.ProxyError):
            configured = str(self._configuration()[0].proxy)
            proxy = self._proxy or Proxy.named(configured, "the kubeconfig's proxy-url")
            if "refused" in str(error).lower():
                return proxy.refused()
            return proxy.through(f"{self.address}: cannot connect")
        # NewConnectionError is a ConnectTimeoutError too (urllib3 2), so it goes first.
        if isinstance(error, http.NewConnectionError | ConnectionError):
            text = str(error).lower()
            if "refused" in text:
                return f"{self.address}: connection refused"
            if "name or service not known" in text or "resolution" in text:
                return f"{self.address}: host name not resolved"
            return redact(f"{self.address}: cannot connect ({error})")
        if isinstance(error, TimeoutError | http.TimeoutError):
            return f"{self.address}: no answer within {self.timeout:g}s"
        if isinstance(error, http.ProtocolError):
            return f"{self.address}: connection closed by the server"
        if isinstance(error, ApiException) and error.status == 401 and self._exec is not None:
            plugin = self._exec.plugin
            return (
                f"{self.address}: 401 Unauthorized: the API server refused the token of "
                f"`{plugin.command}` (exec plugin of kubeconfig user {plugin.user})"
            )
        if isinstance(error, ApiException):
            message = status_message(error.body) or str(error.reason or "")
            return redact(f"{self.address}: {error.status} {error.reason}: {message}")
        if isinstance(error, ValueError):
            return redact(f"{self.target.name}: {error}")
        text = str(error) or type(error).__name__
        return redact(f"{self.address}: {text}")


def api_status(error: BaseException) -> int | None:
    """The HTTP status of an ApiException, else None."""
    from kubernetes.client.exceptions import ApiException

    return int(error.status) if isinstance(error, ApiException) and error.status else None


def owner(obj: Mapping[str, Any]) -> tuple[str, str] | None:
    for reference in obj.get("metadata", {}).get("ownerReferences") or []:
        if reference.get("controller"):
            return str(reference["kind"]), str(reference["name"])
    return None
