"""Record a real incident on three container platforms, for snapshots that must not change.

Run `python -m tests.tui.record_platforms` to regenerate recordings/platforms.json. It starts a
private Docker engine (project "shop": a healthy "api" and a crash-looping "worker"), the fake
Kubernetes API (namespace prod: deployment "checkout" with one pod in CrashLoopBackOff after an
OOMKill and one healthy pod) and the moto server (cluster shop-prod: a service at 0/2 whose tasks
stopped with CannotPullContainerError, and its CloudWatch log group), lets the real providers
discover and check them, reads a few log lines of one node per target, and stores it all with
addresses, ids and times made canonical. Replay it with a `recorded` target whose options say
`recording: platforms` (tests/tui/recorded.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

from providers.contract import LogLine
from providers.environment import LiveEnvironment
from providers.inventory import Environment, Inventory, Settings, Target
from tests.servers import kube_objects as k8s
from tests.servers.docker_engine import DockerEngine, start_docker_engine
from tests.servers.kube_api import FakeKubeApi
from tests.servers.moto_server import CONTAINER, LOG_GROUP, MotoAws, MotoServer
from tests.tui.record_incident import _canonical, _node, _result
from tests.tui.recorded import RECORDED_AT

HERE = Path(__file__).parent / "recordings"
KUBE_SERVER = "https://api.eks.prod.internal"
AWS_ENDPOINT = "https://ecs.us-east-1.amazonaws.com"
DOCKER_URL = "unix:///var/run/docker.sock"
PULL_ERROR = (
    "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to "
    "resolve ref 123456789012.dkr.ecr.us-east-1.amazonaws.com/shop-api:1.4.3: not found"
)
WORKER = "echo 'worker: connecting to amqp://mq.prod.internal:5672'; sleep 0.3; " + (
    "echo 'worker: fatal: QUEUE_URL is not set' >&2; exit 3"
)
API = "while true; do echo 'GET /health 200 1.2 ms'; sleep 1; done"
CRASH_POD = "checkout-7c9f8d6b5-bbbbb1"
HEALTHY_POD = "checkout-7c9f8d6b5-aaaaa0"
# Which node of each target the replay tails, and how many lines it keeps.
LOG_NODES = {"docker": "compose:docker/shop/worker", "eks": f"kubernetes:eks/prod/pod/{CRASH_POD}"}
LOG_LINES = 8


def compose_incident(engine: DockerEngine) -> None:
    labels = {
        "com.docker.compose.project": "shop",
        "com.docker.compose.container-number": "1",
    }
    engine.run(
        ["sh", "-c", API],
        name="shop-api-1",
        labels={**labels, "com.docker.compose.service": "api"},
    )
    worker = engine.run(
        ["sh", "-c", WORKER],
        name="shop-worker-1",
        labels={**labels, "com.docker.compose.service": "worker"},
        restart_policy={"Name": "always"},
    )
    deadline = time.monotonic() + 60
    while True:  # a crash loop: restarted at least three times
        worker.reload()
        if worker.attrs["RestartCount"] >= 3:
            return
        if time.monotonic() > deadline:
            raise RuntimeError("the worker did not crash-loop within 60 s")
        time.sleep(0.5)


def kubernetes_incident(kube: FakeKubeApi) -> None:
    labels = {"app": "checkout", "pod-template-hash": "7c9f8d6b5"}
    owner = ("ReplicaSet", "checkout-7c9f8d6b5")
    crash = k8s.waiting(
        "app",
        "CrashLoopBackOff",
        f"back-off 5m0s restarting failed container=app pod={CRASH_POD}",
        restarts=7,
        last=k8s.terminated("OOMKilled", 137),
    )
    kube.put(
        k8s.namespace("prod"),
        k8s.deployment("checkout", "prod", replicas=2, ready=1, labels={"app": "checkout"}),
        k8s.pod(HEALTHY_POD, "prod", labels=labels, owner=owner),
        k8s.pod(CRASH_POD, "prod", labels=labels, owner=owner, statuses=[crash]),
        k8s.event("prod", "Pod", CRASH_POD, "BackOff", "Back-off restarting failed container app"),
    )
    for text in (
        "checkout: loading price cache (1.8 GiB)",
        "checkout: cache 62% loaded",
        "checkout: cache 97% loaded",
    ):
        kube.add_log("prod", CRASH_POD, text, previous=True)
    kube.add_log("prod", CRASH_POD, "checkout: loading price cache (1.8 GiB)")


def ecs_incident(aws: MotoAws) -> None:
    stack = aws.ecs_stack(desired=2, running=0, stopped=2)
    for task in stack.stopped:
        aws.stop_task(
            stack.cluster,
            task,
            stop_code="TaskFailedToStart",
            reason=PULL_ERROR,
            container_reason=PULL_ERROR,
        )
    aws.set_service(
        stack.cluster,
        stack.service,
        running=0,
        pending=0,
        rollout="IN_PROGRESS",
        events=[
            f"(service {stack.service}) was unable to place a task: {PULL_ERROR}",
            f"(service {stack.service}) has started 2 tasks: (task 1) (task 2).",
        ],
    )
    stream = f"ecs/{CONTAINER}/0f1e2d3c4b5a49788796a5b4c3d2e1f0"  # the last task that ran
    aws.put_logs(
        LOG_GROUP,
        stream,
        [
            "INFO  shop-api 1.4.2 listening on :8080",
            "INFO  GET /health 200 2 ms",
            "WARN  SIGTERM received: draining connections (deployment 1.4.3)",
            "INFO  shutdown complete",
        ],
        at_ms=int((time.time() - 120) * 1000),
    )


@contextlib.contextmanager
def moto() -> Iterator[MotoAws]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        os.environ[name] = value
    server = MotoServer()
    try:
        server.reset()
        yield MotoAws(server.endpoint, server.clients)
    finally:
        server.stop()


async def first_lines(live: LiveEnvironment, node_id: str) -> list[LogLine]:
    lines: list[LogLine] = []
    stream = live.provider_for(node_id).logs(node_id)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(8):
            async for line in stream:
                lines.append(line)
                if len(lines) >= LOG_LINES:
                    break
    await stream.aclose()
    return lines


def _replayed(lines: list[LogLine]) -> list[list[str]]:
    """Lines at fixed times before the recording's moment, one second apart."""
    start = RECORDED_AT - timedelta(seconds=len(lines))
    return [
        [(start + timedelta(seconds=index)).isoformat(), line.source, line.level, line.text]
        for index, line in enumerate(lines)
    ]


def canonical_ids(text: str, found: dict[str, str]) -> str:
    """Container ids, task ids and times differ on every run; number them in order of use."""

    def ident(match: re.Match[str]) -> str:
        value = match.group(0)
        if value not in found:
            number = f"{len(found) + 1:x}"
            stem = "5f0c8b7e2a9d4c61b3e7a0d2c9f4b8e6" if len(value) >= 32 else "4c1d9e7a2b06"
            found[value] = stem[: -len(number)] + number
        return found[value]

    text = re.sub(
        r"\b[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\b", ident, text
    )
    text = re.sub(r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{12,64}\b", ident, text)
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?"
    text = re.sub(stamp, "2026-11-22T09:29:00Z", text)
    return re.sub(r"\b\d+(\.\d+)? ?(s|sec|seconds|m|min|minutes) ago\b", "2m ago", text)


def main() -> None:
    with ExitStack() as stack, tempfile.TemporaryDirectory() as workdir:
        engine = stack.enter_context(start_docker_engine())
        kube = stack.enter_context(FakeKubeApi())
        aws = stack.enter_context(moto())
        compose_incident(engine)
        kubernetes_incident(kube)
        ecs_incident(aws)
        config = kube.write_kubeconfig(Path(workdir) / "kubeconfig")
        inventory = Inventory(
            settings=Settings(check_timeout=10),
            environments={
                "prod": Environment(
                    targets=[
                        Target(kind="compose", name="docker", url=engine.base_url, timeout=10),
                        Target(
                            kind="kubernetes",
                            name="eks",
                            timeout=5,
                            options={"kubeconfig": str(config)},
                        ),
                        Target(kind="ecs", name="aws", timeout=5, options=aws.options()),
                    ]
                )
            },
        )

        async def observe() -> dict[str, Any]:
            live = LiveEnvironment(inventory)
            try:
                nodes, results = await live.check_everything()
                service = next(
                    node.id for tree in nodes for node in tree.walk() if node.kind == "ecs.service"
                )
                logs = {}
                for node_id in [*LOG_NODES.values(), service]:
                    logs[node_id] = _replayed(await first_lines(live, node_id))
                return {
                    "nodes": [_node(node) for node in nodes],
                    "results": [_result(result) for result in results],
                    "logs": logs,
                }
            finally:
                await live.close()

        document = asyncio.run(observe())
        found: dict[str, str] = {}

        def clean(text: str) -> str:
            text = text.replace(engine.base_url, DOCKER_URL).replace(str(engine.root), "/var/lib")
            text = text.replace(kube.url, KUBE_SERVER).replace(aws.endpoint, AWS_ENDPOINT)
            text = text.replace(f"127.0.0.1:{kube.port}", KUBE_SERVER.removeprefix("https://"))
            text = text.replace(str(engine.network.network_address)[:-1], "172.18.0.")
            return canonical_ids(_canonical(text, {}), found)

        logs = document.pop("logs")
        recorded = json.loads(clean(json.dumps(document, default=str)))
        recorded["logs"] = {
            clean(node): [
                [when, clean(source), level, clean(line)] for when, source, level, line in lines
            ]
            for node, lines in logs.items()
        }
        text = json.dumps(recorded, indent=1)
        for secret in ("fake-token-never-shown", "testing"):
            assert secret not in text, f"a secret ({secret}) would be recorded"
    HERE.mkdir(exist_ok=True)
    (HERE / "platforms.json").write_text(text + "\n")
    print(f"wrote {HERE / 'platforms.json'}: {len(document['nodes'])} targets")


if __name__ == "__main__":
    main()
