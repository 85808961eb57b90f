"""The fake Kubernetes API of tests/servers, filled for the scale benchmark, in a process.

`python -m bench.fake_kube KUBECONFIG PODS NAMESPACES`: healthy apps (deployment, service,
endpoints, secret, configmap, HPA, pods with metrics) spread over the namespaces, 10 pods per
deployment; prints `ready` once the kubeconfig is written and serves until stdin closes.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.servers.kube_api import FakeKubeApi
from tests.servers.kube_objects import healthy_app

PODS_PER_APP = 10


def fill(kube: FakeKubeApi, pods: int, namespaces: int) -> None:
    apps = max(1, pods // PODS_PER_APP)
    for index in range(apps):
        ns = f"bench-ns-{index % namespaces:02d}"
        kube.put(*healthy_app(ns, f"app-{index:03d}", replicas=PODS_PER_APP))


def main() -> None:
    kubeconfig, pods, namespaces = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    with FakeKubeApi() as kube:
        fill(kube, pods, namespaces)
        kube.write_kubeconfig(kubeconfig)
        print("ready", flush=True)
        sys.stdin.read()  # the benchmark closes it (or dies) when done


if __name__ == "__main__":
    main()
