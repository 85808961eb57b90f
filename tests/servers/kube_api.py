"""A fake Kubernetes API server that the official client talks to over plain HTTP.

``FakeKubeApi`` is a threaded stdlib HTTP server on a free 127.0.0.1 port that answers the
paths the kubernetes provider uses with objects shaped like the real API's (lists as ``XList``
with ``metadata.resourceVersion``, ``Status`` objects for errors), keeps its state in memory,
and streams what real servers stream, chunked: ``?watch=true`` on lists (JSON watch events) and
``pods/{name}/log?follow=true``. Tests change the state directly to inject faults:

- ``put(obj)`` adds or replaces an object (watchers get ADDED or MODIFIED), ``remove(...)``
  deletes one (watchers get DELETED); ``get(...)`` reads one back;
- ``add_log(ns, pod, text, container=, previous=, stamp=)`` appends a log line (followers see
  it), stamped as the kubelet does (RFC3339Nano: nanoseconds, trailing zeros dropped);
- ``metrics_available = False`` makes metrics.k8s.io answer 404, as without metrics-server;
- ``forbidden`` holds paths (``/api/v1/pods``) whose GET answers 403, as RBAC would;
- ``requests`` records every (method, path with its query) asked;
- ``accepts_token`` (off: None) checks bearer tokens: set to a function of the token, a request
  whose token it refuses (or that has none) is answered 401 as a real API server does, and
  ``tokens_seen`` records each (token, status answered);
- ``end_streams()`` ends every open watch and followed log;
- ``log_follows`` counts the followed logs opened, by (namespace, pod, container), so a test
  waits for a client to follow (or follow again) before it writes the line it must see;
- ``write_kubeconfig(path, user=)`` writes a kubeconfig whose current context points here
  (its user's section, an exec plugin for one, as given).

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
import queue
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from providers.inventory import Target

from .kube_objects import Obj, ts
from .kube_routes import BY_KIND, RESOURCES, handler_for

STREAM_POLL = 0.05


def rfc3339_nano(nanoseconds: int) -> str:
    """Go's time.RFC3339Nano in UTC, as the kubelet stamps log lines: `2026-11-23T03:54:28.5Z`
    (the fraction's trailing zeros dropped, and the dot with them at a whole second)."""
    second, fraction = divmod(nanoseconds, 1_000_000_000)
    whole = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    digits = f"{fraction:09d}".rstrip("0")
    return f"{whole}.{digits}Z" if digits else f"{whole}Z"


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
        self.forbidden: set[str] = set()
        self.accepts_token: Callable[[str], bool] | None = None
        self.tokens_seen: list[tuple[str, int]] = []
        self._revision = itertools.count(1000)
        self._resource_version = "1000"
        self._lock = threading.RLock()
        self._watchers: list[_Subscriber] = []
        self._history: list[tuple[int, tuple[str, str], Obj]] = []
        self._followers: list[_Subscriber] = []
        self.log_follows: Counter[tuple[str, str, str]] = Counter()
        self._closed = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(self))
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
        self,
        ns: str,
        pod: str,
        text: str,
        container: str = "app",
        previous: bool = False,
        stamp: str | None = None,
    ) -> None:
        """`stamp`: as the kubelet writes it (RFC3339Nano); now by default."""
        key = (ns, pod, container, previous)
        stamped = f"{stamp or rfc3339_nano(time.time_ns())} {text}"
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
        self,
        path: Path,
        context: str = "fake",
        namespace: str = "default",
        user: dict[str, Any] | None = None,
    ) -> Path:
        """`user`: the kubeconfig user's section (`{"exec": {...}}`); a fixed token if None."""
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fake-cluster", "cluster": {"server": self.url}}],
            "users": [{"name": "fake-user", "user": user or {"token": "fake-token-never-shown"}}],
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
            if registry_name == "log":
                namespace, pod, container, _ = match
                self.log_follows[(namespace, pod, container)] += 1
        return subscriber, registry


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
