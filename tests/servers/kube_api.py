"""A fake Kubernetes API server that the official client talks to over plain HTTP.

``FakeKubeApi`` is a threaded stdlib HTTP server on a free 127.0.0.1 port that answers the
paths the kubernetes provider uses with objects shaped like the real API's (lists as ``XList``
with ``metadata.resourceVersion``, ``Status`` objects for errors), keeps its state in memory,
and streams what real servers stream, chunked: ``?watch=true`` on lists (JSON watch events) and
``pods/{name}/log?follow=true``. Tests change the state directly to inject faults:

- ``put(obj)`` adds or replaces an object (watchers get ADDED or MODIFIED), ``remove(...)``
  deletes one (watchers get DELETED); ``get(...)`` reads one back;
- ``add_log(ns, pod, text, container=, previous=)`` appends a log line (followers see it);
- ``metrics_available = False`` makes metrics.k8s.io answer 404, as without metrics-server;
- ``end_streams()`` ends every open watch and followed log;
- ``write_kubeconfig(path)`` writes a kubeconfig whose current context points here.

Supported: /version; core v1 namespaces, pods (+ /log), events, services, endpoints, secrets,
configmaps; apps/v1 deployments, statefulsets, daemonsets (+ /scale); autoscaling/v2
horizontalpodautoscalers; metrics.k8s.io/v1beta1 pods. Lists take ``labelSelector`` (a=b, a!=b,
a, !a) and ``fieldSelector`` (dotted paths such as involvedObject.name=x). PATCH takes strategic
merge (as a recursive merge of maps), merge patch and JSON patch (add/replace/remove).

Fixtures: ``kube_api`` (a started server for one test) and ``kubeconfig`` (its kubeconfig file
in the test's tmp_path). Import them into a test module: ``from tests.servers.kube_api import
kube_api, kubeconfig``.
"""

from __future__ import annotations

import copy
import itertools
import json
import queue
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from providers.inventory import Target

from .kube_objects import Obj, ts

# (group, plural) -> (apiVersion, kind, namespaced)
RESOURCES: dict[tuple[str, str], tuple[str, str, bool]] = {
    ("", "namespaces"): ("v1", "Namespace", False),
    ("", "pods"): ("v1", "Pod", True),
    ("", "events"): ("v1", "Event", True),
    ("", "services"): ("v1", "Service", True),
    ("", "endpoints"): ("v1", "Endpoints", True),
    ("", "secrets"): ("v1", "Secret", True),
    ("", "configmaps"): ("v1", "ConfigMap", True),
    ("apps", "deployments"): ("apps/v1", "Deployment", True),
    ("apps", "statefulsets"): ("apps/v1", "StatefulSet", True),
    ("apps", "daemonsets"): ("apps/v1", "DaemonSet", True),
    ("autoscaling", "horizontalpodautoscalers"): (
        "autoscaling/v2",
        "HorizontalPodAutoscaler",
        True,
    ),
    ("metrics.k8s.io", "pods"): ("metrics.k8s.io/v1beta1", "PodMetrics", True),
}
BY_KIND = {
    (api.split("/")[0] if "/" in api else "", kind): key
    for key, (api, kind, _) in RESOURCES.items()
}
VERSION = {
    "major": "1",
    "minor": "30",
    "gitVersion": "v1.30.4",
    "gitCommit": "a51b3b711150f57ffc1f526a640ec058514ed596",
    "gitTreeState": "clean",
    "buildDate": "2024-08-14T18:57:13Z",
    "goVersion": "go1.22.5",
    "compiler": "gc",
    "platform": "linux/amd64",
}
STREAM_POLL = 0.05


def status_object(code: int, reason: str, message: str, details: Obj | None = None) -> Obj:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "details": details or {},
        "code": code,
    }


def _dig(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def label_matches(labels: dict[str, str], selector: str) -> bool:
    """Equality- and existence-based label selectors: a=b, a==b, a!=b, a, !a."""
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key.strip()) == value.strip():
                return False
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            if labels.get(key.strip()) != value.strip():
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


def field_matches(obj: Obj, selector: str) -> bool:
    for term in filter(None, (t.strip() for t in selector.split(","))):
        negate = "!=" in term
        key, value = term.replace("!=", "=").replace("==", "=").split("=", 1)
        actual = _dig(obj, key.strip())
        if (str(actual if actual is not None else "") == value.strip()) == negate:
            return False
    return True


def merge(target: Obj, patch: Obj) -> Obj:
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
    return target


def json_patch(target: Obj, operations: list[Obj]) -> Obj:
    for operation in operations:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in operation["path"].split("/")[1:]]
        parent = target
        for part in parts[:-1]:
            parent = parent.setdefault(part, {})
        if operation["op"] in ("add", "replace"):
            parent[parts[-1]] = operation["value"]
        elif operation["op"] == "remove":
            parent.pop(parts[-1], None)
    return target


def _wanted(match: Any, key: tuple[str, str], event: Obj) -> bool:
    want_key, namespace, selector = match
    metadata = event["object"]["metadata"]
    if want_key != key or (namespace and metadata.get("namespace") != namespace):
        return False
    return label_matches(metadata.get("labels") or {}, selector)


class _Subscriber:
    def __init__(self, match: Any) -> None:
        self.match = match
        self.queue: queue.Queue[Any] = queue.Queue()


class FakeKubeApi:
    """The server's state and its HTTP front; use as a context manager."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], dict[tuple[str, str], Obj]] = {k: {} for k in RESOURCES}
        self.logs: dict[tuple[str, str, str, bool], list[str]] = {}
        self.metrics_available = True
        self.requests: list[tuple[str, str]] = []
        self._revision = itertools.count(1000)
        self._resource_version = "1000"
        self._lock = threading.RLock()
        self._watchers: list[_Subscriber] = []
        self._history: list[tuple[int, tuple[str, str], Obj]] = []
        self._followers: list[_Subscriber] = []
        self._closed = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> FakeKubeApi:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._closed.set()
        if self._thread.is_alive():  # shutdown() waits for serve_forever, so only if it runs
            self._server.shutdown()
        self._server.server_close()

    # -- state, as tests change it -------------------------------------------------------------

    def _key(self, obj: Obj) -> tuple[str, str]:
        api = obj["apiVersion"]
        return BY_KIND[(api.split("/")[0] if "/" in api else "", obj["kind"])]

    def put(self, *objs: Obj) -> None:
        """Add or replace objects; watchers see ADDED or MODIFIED."""
        for obj in objs:
            obj = copy.deepcopy(obj)
            key = self._key(obj)
            metadata = obj["metadata"]
            with self._lock:
                self._resource_version = str(next(self._revision))
                name_key = (metadata.get("namespace", ""), metadata["name"])
                old = self.objects[key].get(name_key)
                metadata.setdefault("uid", old["metadata"]["uid"] if old else str(uuid.uuid4()))
                metadata.setdefault(
                    "creationTimestamp", old["metadata"]["creationTimestamp"] if old else ts(600)
                )
                metadata["resourceVersion"] = self._resource_version
                self.objects[key][name_key] = obj
                self._notify(key, "MODIFIED" if old else "ADDED", obj)

    def remove(self, kind: str, namespace: str, name: str, api_version: str = "v1") -> Obj | None:
        key = BY_KIND[(api_version.split("/")[0] if "/" in api_version else "", kind)]
        with self._lock:
            obj = self.objects[key].pop((namespace, name), None)
            if obj is not None:
                self._resource_version = str(next(self._revision))
                obj["metadata"]["resourceVersion"] = self._resource_version
                self._notify(key, "DELETED", obj)
        return obj

    def get(self, kind: str, namespace: str, name: str, api_version: str = "v1") -> Obj | None:
        key = BY_KIND[(api_version.split("/")[0] if "/" in api_version else "", kind)]
        with self._lock:
            return copy.deepcopy(self.objects[key].get((namespace, name)))

    def add_log(
        self, ns: str, pod: str, text: str, container: str = "app", previous: bool = False
    ) -> None:
        key = (ns, pod, container, previous)
        stamped = f"{datetime.now(UTC).strftime('%Y-%m-%dT%H:%M:%S.%fZ')} {text}"
        with self._lock:
            self.logs.setdefault(key, []).append(stamped)
            for follower in self._followers:
                if follower.match == key:
                    follower.queue.put(stamped)

    def end_streams(self) -> None:
        with self._lock:
            for subscriber in self._watchers + self._followers:
                subscriber.queue.put(None)

    def write_kubeconfig(
        self, path: Path, context: str = "fake", namespace: str = "default"
    ) -> Path:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fake-cluster", "cluster": {"server": self.url}}],
            "users": [{"name": "fake-user", "user": {"token": "fake-token-never-shown"}}],
            "contexts": [
                {
                    "name": context,
                    "context": {
                        "cluster": "fake-cluster",
                        "user": "fake-user",
                        "namespace": namespace,
                    },
                }
            ],
            "current-context": context,
        }
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        return path

    def _notify(self, key: tuple[str, str], kind: str, obj: Obj) -> None:
        event = {"type": kind, "object": copy.deepcopy(obj)}
        self._history.append((int(self._resource_version), key, event))
        for watcher in self._watchers:
            if _wanted(watcher.match, key, event):
                watcher.queue.put(event)

    def history_since(self, match: Any, version: int) -> list[Obj]:
        """The watch events after resourceVersion `version`, as a watch from it replays them."""
        return [
            event for rv, key, event in self._history if rv > version and _wanted(match, key, event)
        ]

    # -- answering -----------------------------------------------------------------------------

    def list_objects(
        self, key: tuple[str, str], namespace: str | None, query: dict[str, str]
    ) -> list[Obj]:
        with self._lock:
            items = [
                copy.deepcopy(obj)
                for (ns, _), obj in sorted(self.objects[key].items())
                if namespace is None or ns == namespace
            ]
        labels = query.get("labelSelector", "")
        fields = query.get("fieldSelector", "")
        return [
            obj
            for obj in items
            if label_matches(obj["metadata"].get("labels") or {}, labels)
            and field_matches(obj, fields)
        ]

    def stream(
        self, subscriber: _Subscriber, registry: list[_Subscriber], seconds: float | None
    ) -> Iterator[Any]:
        """Items pushed to the subscriber until the test or the server ends the stream."""
        deadline = None if seconds is None else datetime.now(UTC).timestamp() + seconds
        try:
            while not self._closed.is_set():
                if deadline is not None and datetime.now(UTC).timestamp() > deadline:
                    return
                try:
                    item = subscriber.queue.get(timeout=STREAM_POLL)
                except queue.Empty:
                    continue
                if item is None:
                    return
                yield item
        finally:
            with self._lock:
                registry.remove(subscriber)

    def subscribe(self, registry_name: str, match: Any) -> tuple[_Subscriber, list[_Subscriber]]:
        registry = self._watchers if registry_name == "watch" else self._followers
        subscriber = _Subscriber(match)
        with self._lock:
            registry.append(subscriber)
        return subscriber, registry


def _handler_for(kube: FakeKubeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        # -- plumbing --------------------------------------------------------------------------

        def _send(self, code: int, body: Any, content_type: str = "application/json") -> None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _error(self, code: int, reason: str, message: str, **details: Any) -> None:
            self._send(code, status_object(code, reason, message, details))

        def _stream(self, lines: Iterator[bytes], content_type: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                for line in lines:
                    self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
            except OSError:  # the client hung up mid-stream, as a followed log's reader does
                self.close_connection = True
            self.close_connection = True

        def _body(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(length) or b"null")

        def _route(
            self,
        ) -> tuple[tuple[str, str] | None, str | None, str | None, str | None, dict[str, str]]:
            """(resource key, namespace, name, subresource, query) of the request path."""
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            segments = [s for s in parts.path.split("/") if s]
            kube.requests.append((self.command, self.path))
            if segments[:2] == ["api", "v1"]:
                group, rest = "", segments[2:]
            elif segments[:1] == ["apis"] and len(segments) >= 3:
                group, rest = segments[1], segments[3:]
            else:
                return None, None, None, None, query
            namespace = None
            if len(rest) >= 3 and rest[0] == "namespaces":
                namespace, rest = rest[1], rest[2:]
            elif len(rest) == 2 and rest[0] == "namespaces":
                return ("", "namespaces"), None, rest[1], None, query
            if not rest or (group, rest[0]) not in RESOURCES:
                return None, None, None, None, query
            name = rest[1] if len(rest) > 1 else None
            sub = rest[2] if len(rest) > 2 else None
            return (group, rest[0]), namespace, name, sub, query

        def _lookup(self, key: tuple[str, str], namespace: str | None, name: str) -> Obj | None:
            obj = kube.get(RESOURCES[key][1], namespace or "", name, RESOURCES[key][0])
            if obj is None:
                self._error(
                    404,
                    "NotFound",
                    f'{key[1]} "{name}" not found',
                    name=name,
                    group=key[0],
                    kind=key[1],
                )
            return obj

        def _metrics_gone(self, key: tuple[str, str] | None) -> bool:
            if key is not None and key[0] == "metrics.k8s.io" and not kube.metrics_available:
                self._error(
                    404,
                    "NotFound",
                    "the server could not find the requested resource",
                    causes=[
                        {"reason": "UnexpectedServerResponse", "message": "404 page not found"}
                    ],
                )
                return True
            return False

        # -- verbs -----------------------------------------------------------------------------

        def do_GET(self) -> None:
            if urlsplit(self.path).path.rstrip("/") == "/version":
                return self._send(200, VERSION)
            key, namespace, name, sub, query = self._route()
            if key is None:
                return self._error(
                    404, "NotFound", "the server could not find the requested resource"
                )
            if self._metrics_gone(key):
                return None
            api, kind, _ = RESOURCES[key]
            if name is None and query.get("watch") in ("true", "1"):
                return self._watch(key, namespace, query)
            if name is None:
                items = kube.list_objects(key, namespace, query)
                for item in items:  # items of a list carry no apiVersion/kind
                    item.pop("apiVersion", None)
                    item.pop("kind", None)
                return self._send(
                    200,
                    {
                        "kind": f"{kind}List",
                        "apiVersion": api,
                        "metadata": {"resourceVersion": kube._resource_version},
                        "items": items,
                    },
                )
            obj = self._lookup(key, namespace, name)
            if obj is None:
                return None
            if sub == "log" and key == ("", "pods"):
                return self._log(obj, query)
            if sub == "scale":
                return self._send(200, self._scale(obj))
            return self._send(200, obj)

        def do_DELETE(self) -> None:
            key, namespace, name, _, _ = self._route()
            if key is None or name is None:
                return self._error(405, "MethodNotAllowed", "delete what?")
            if self._lookup(key, namespace, name) is None:
                return None
            obj = kube.remove(RESOURCES[key][1], namespace or "", name, RESOURCES[key][0])
            return self._send(200, obj)

        def do_PATCH(self) -> None:
            self._update(patch=True)

        def do_PUT(self) -> None:
            self._update(patch=False)

        def _update(self, patch: bool) -> None:
            key, namespace, name, sub, _ = self._route()
            if key is None or name is None:
                return self._error(405, "MethodNotAllowed", "update what?")
            obj = self._lookup(key, namespace, name)
            if obj is None:
                return None
            body = self._body()
            content_type = self.headers.get("Content-Type", "")
            if patch and "patch" not in content_type:
                return self._error(
                    415,
                    "UnsupportedMediaType",
                    f"the body of the request was in an unknown format: {content_type}",
                )
            if sub == "scale":
                if isinstance(body, list):
                    replicas = next(op["value"] for op in body if op["path"] == "/spec/replicas")
                else:
                    replicas = body["spec"]["replicas"]
                obj["spec"]["replicas"] = int(replicas)
                obj["metadata"]["generation"] = obj["metadata"].get("generation", 1) + 1
                kube.put(obj)
                return self._send(200, self._scale(obj))
            if isinstance(body, list):
                obj = json_patch(obj, body)
            elif patch:
                obj = merge(obj, body)
            else:
                obj = body
            if "spec" in (body if isinstance(body, dict) else {"spec": 1}):
                obj["metadata"]["generation"] = obj["metadata"].get("generation", 1) + 1
            kube.put(obj)
            return self._send(
                200, kube.get(RESOURCES[key][1], namespace or "", name, RESOURCES[key][0])
            )

        # -- subresources and streams ------------------------------------------------------------

        def _scale(self, obj: Obj) -> Obj:
            selector = ",".join(
                f"{k}={v}" for k, v in obj["spec"]["selector"].get("matchLabels", {}).items()
            )
            return {
                "kind": "Scale",
                "apiVersion": "autoscaling/v1",
                "metadata": {
                    k: obj["metadata"][k]
                    for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                },
                "spec": {"replicas": obj["spec"].get("replicas", 1)},
                "status": {
                    "replicas": obj.get("status", {}).get("replicas", 0),
                    "selector": selector,
                },
            }

        def _log(self, obj: Obj, query: dict[str, str]) -> None:
            name, ns = obj["metadata"]["name"], obj["metadata"]["namespace"]
            names = [c["name"] for c in obj["spec"]["containers"]]
            container = query.get("container")
            if container is None and len(names) > 1:
                return self._error(
                    400,
                    "BadRequest",
                    f"a container name must be specified for pod {name}, choose "
                    f"one of: [{' '.join(names)}]",
                )
            container = container or names[0]
            if container not in names:
                return self._error(
                    400, "BadRequest", f"container {container} is not valid for pod {name}"
                )
            previous = query.get("previous") in ("true", "1")
            key = (ns, name, container, previous)
            with kube._lock:
                lines = list(kube.logs.get(key, []))
                if previous and key not in kube.logs:
                    return self._error(
                        400,
                        "BadRequest",
                        f'previous terminated container "{container}" in pod "{name}" not found',
                    )
                subscriber = None
                if query.get("follow") in ("true", "1") and not previous:
                    subscriber, registry = kube.subscribe("log", key)
            if "tailLines" in query:
                lines = lines[-int(query["tailLines"]) :] if int(query["tailLines"]) else []
            stamps = query.get("timestamps") in ("true", "1")

            def render(line: str) -> bytes:
                return (line if stamps else line.split(" ", 1)[1]).encode() + b"\n"

            if subscriber is None:
                return self._send(200, b"".join(render(line) for line in lines), "text/plain")

            def follow() -> Iterator[bytes]:
                for line in lines:
                    yield render(line)
                for line in kube.stream(subscriber, registry, None):
                    yield render(line)

            return self._stream(follow(), "text/plain")

        def _watch(
            self, key: tuple[str, str], namespace: str | None, query: dict[str, str]
        ) -> None:
            selector = query.get("labelSelector", "")
            with kube._lock:
                subscriber, registry = kube.subscribe("watch", (key, namespace, selector))
                if query.get("resourceVersion"):  # what happened since that version first
                    replay = kube.history_since(subscriber.match, int(query["resourceVersion"]))
                else:  # no version: the current state first, as ADDED
                    current = kube.list_objects(key, namespace, query)
                    replay = [{"type": "ADDED", "object": obj} for obj in current]
            seconds = float(query["timeoutSeconds"]) if "timeoutSeconds" in query else None

            def events() -> Iterator[bytes]:
                for event in replay:
                    yield json.dumps(event).encode() + b"\n"
                for event in kube.stream(subscriber, registry, seconds):
                    yield json.dumps(event).encode() + b"\n"

            return self._stream(events(), "application/json")

    return Handler


def kube_target(config: Path, timeout: float = 3.0, name: str = "eks", **options: Any) -> Target:
    """A `kubernetes` target on a kubeconfig file."""
    return Target(
        kind="kubernetes",
        name=name,
        timeout=timeout,
        options={"kubeconfig": str(config), **options},
    )


@pytest.fixture
def kube_api() -> Iterator[FakeKubeApi]:
    """A fake API server for one test, stopped after it."""
    with FakeKubeApi() as server:
        yield server


@pytest.fixture
def kubeconfig(kube_api: FakeKubeApi, tmp_path: Path) -> Path:
    """A kubeconfig file whose current context (`fake`) points at `kube_api`."""
    return kube_api.write_kubeconfig(tmp_path / "kubeconfig")
