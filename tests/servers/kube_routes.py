"""Request handlers of the fake Kubernetes API server (see ``tests.servers.kube_api``).

``handler_for(kube)`` builds the ``BaseHTTPRequestHandler`` class that answers for one
``FakeKubeApi``: routing of core and group paths, lists, watches, logs, the scale subresource
and PATCH/PUT (strategic merge as a recursive merge of maps, merge patch and JSON patch).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from .kube_objects import Obj

if TYPE_CHECKING:
    from .kube_api import FakeKubeApi


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


def handler_for(kube: FakeKubeApi) -> type[BaseHTTPRequestHandler]:
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

        def _forbidden(self, key: tuple[str, str], namespace: str | None) -> None:
            scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
            return self._error(
                403,
                "Forbidden",
                f'{key[1]} is forbidden: User "system:serviceaccount:ops:triage" cannot list '
                f'resource "{key[1]}" in API group "{key[0]}" {scope}',
                **({"group": key[0]} if key[0] else {}),
                kind=key[1],
            )

        def _unauthorized(self) -> bool:
            """With ``kube.accepts_token`` set: answer 401, as a real API server does to a
            bearer token it does not accept (or none), and say so; record the token either way."""
            if kube.accepts_token is None:
                return False
            header = self.headers.get("Authorization", "")
            token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else ""
            accepted = bool(token) and kube.accepts_token(token)
            with kube._lock:
                kube.tokens_seen.append((token, 200 if accepted else 401))
            if not accepted:
                self._error(401, "Unauthorized", "Unauthorized")
            return not accepted

        # -- verbs -----------------------------------------------------------------------------

        def do_GET(self) -> None:
            if self._unauthorized():
                return None
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
            if urlsplit(self.path).path in kube.forbidden:
                return self._forbidden(key, namespace)
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
            if self._unauthorized():
                return None
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
            if self._unauthorized():
                return None
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
