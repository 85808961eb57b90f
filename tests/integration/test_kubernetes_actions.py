"""The kubernetes provider's actions against the fake API server: each previews exactly what
it will change, refuses without its typed word (never a bare yes), then does it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from providers.base import ConfirmationRequired
from providers.kubernetes_actions import RESTARTED_AT
from providers.kubernetes_provider import KubernetesProvider
from tests.servers import kube_objects as k
from tests.servers.kube_api import FakeKubeApi, kube_target

pytestmark = pytest.mark.integration

NS = "prod"


@contextlib.asynccontextmanager
async def opened(config: Path) -> AsyncIterator[KubernetesProvider]:
    provider = KubernetesProvider(kube_target(config, 3.0))
    try:
        yield provider
    finally:
        await provider.close()


async def test_scale_previews_current_to_new_and_needs_the_deployment_typed(
    kube_api: FakeKubeApi, kubeconfig: Path
) -> None:
    kube_api.put(*k.healthy_app(NS, "web"))
    async with opened(kubeconfig) as provider:
        plan = await provider.plan_action(
            "k8s.scale", {"namespace": NS, "name": "web", "replicas": 5}
        )
        assert plan.preview.summary == "scale deployment/web in prod from 2 to 5 replicas"
        assert plan.preview.counts == {"from": 2, "to": 5}
        # Not destructive: the name of what it changes, never a bare yes.
        assert plan.confirmation_word() == "deployment/web"
        for wrong in (None, "yes", "web"):
            with pytest.raises(ConfirmationRequired, match="type 'deployment/web' to run it"):
                await provider.run_action(plan, confirmation=wrong)
        assert kube_api.get("Deployment", NS, "web", "apps/v1")["spec"]["replicas"] == 2
        outcome = await provider.run_action(plan, confirmation="deployment/web")
    assert outcome.ok, outcome.summary
    assert outcome.summary == "deployment/web in prod scaled from 2 to 5 replicas"
    assert kube_api.get("Deployment", NS, "web", "apps/v1")["spec"]["replicas"] == 5
    assert ("PATCH", "/apis/apps/v1/namespaces/prod/deployments/web/scale") in kube_api.requests


async def test_rollout_restart_sets_the_restarted_at_annotation(
    kube_api: FakeKubeApi, kubeconfig: Path
) -> None:
    kube_api.put(*k.healthy_app(NS, "web"))
    async with opened(kubeconfig) as provider:
        plan = await provider.plan_action("k8s.rollout_restart", {"namespace": NS, "name": "web"})
        assert plan.preview.summary == (
            "rollout restart deployment/web in prod: replace its 2 pods (2/2 ready now)"
        )
        assert plan.preview.counts == {"pods": 2}
        assert plan.confirmation_word() == "deployment/web"
        for wrong in ("no", "yes"):
            with pytest.raises(ConfirmationRequired, match="type 'deployment/web' to run it"):
                await provider.run_action(plan, confirmation=wrong)
        template = kube_api.get("Deployment", NS, "web", "apps/v1")["spec"]["template"]
        assert RESTARTED_AT not in template["metadata"]["annotations"]
        outcome = await provider.run_action(plan, confirmation="deployment/web")
    assert outcome.ok, outcome.summary
    deployment = kube_api.get("Deployment", NS, "web", "apps/v1")
    stamp = deployment["spec"]["template"]["metadata"]["annotations"][RESTARTED_AT]
    assert stamp.endswith("Z") and stamp in outcome.summary
    assert deployment["spec"]["replicas"] == 2  # the rest of the spec is untouched


async def test_delete_pod_is_destructive_and_needs_the_target_and_pod_name(
    kube_api: FakeKubeApi, kubeconfig: Path
) -> None:
    kube_api.put(*k.healthy_app(NS, "web"))
    pod = "web-5d9c7b8f4-aaaaa0"
    async with opened(kubeconfig) as provider:
        plan = await provider.plan_action("k8s.delete_pod", {"namespace": NS, "pod": pod})
        assert plan.preview.destructive is True
        assert plan.preview.summary == (
            f"delete pod {pod} in prod (Running); ReplicaSet web-5d9c7b8f4 will create a "
            "replacement"
        )
        # Destructive: the target's name with the pod; the bare pod name is not enough.
        assert plan.confirmation_word() == f"eks/{pod}"
        for wrong in (None, "yes", pod, f"other/{pod}"):
            with pytest.raises(ConfirmationRequired, match=f"type 'eks/{pod}' to run it"):
                await provider.run_action(plan, confirmation=wrong)
        assert kube_api.get("Pod", NS, pod) is not None
        outcome = await provider.run_action(plan, confirmation=f"eks/{pod}")
        with pytest.raises(ValueError, match="needs pod"):
            await provider.plan_action("k8s.delete_pod", {"namespace": NS})
    assert outcome.ok and outcome.summary == f"pod {pod} in prod deleted"
    assert kube_api.get("Pod", NS, pod) is None


async def test_planning_on_a_missing_deployment_raises_the_api_error(
    kube_api: FakeKubeApi, kubeconfig: Path
) -> None:
    kube_api.put(k.namespace(NS))
    async with opened(kubeconfig) as provider:
        with pytest.raises(Exception) as raised:
            await provider.plan_action(
                "k8s.scale", {"namespace": NS, "name": "nope", "replicas": 1}
            )
        text = provider.describe_error(raised.value)
    assert text == f'127.0.0.1:{kube_api.port}: 404 Not Found: deployments "nope" not found'
