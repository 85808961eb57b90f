"""A chart change added `component: api` to the catalog Service's selector, but not to the pods'
labels: the Service selects no pod, has no endpoints, and the ingress answers 503 for every
catalog page while the pods run fine."""

from bench.diagnosis import faults_kube as f
from bench.diagnosis.scenario import Scenario
from tests.servers.kube_objects import endpoints, service


def make(env):  # type: ignore[no-untyped-def]
    app = "catalog"
    changed = service(app, f.NS, {"app": app, "component": "api"})
    changed["metadata"]["labels"] = {
        "app.kubernetes.io/managed-by": "Helm",
        "helm.sh/chart": "catalog-3.9.0",
    }
    changed["metadata"]["annotations"] = {
        "meta.helm.sh/release-name": "catalog",
        "meta.helm.sh/release-namespace": f.NS,
    }
    env.kube_put(changed, endpoints(app, f.NS, []))


SCENARIO = Scenario(
    symptom=(
        "every catalog page gives a 503 from the ingress since the 15:20 release, yet the catalog "
        "pods are all 1/1 Running and their logs look normal"
    ),
    style="vague",
    kind="kubernetes",
    expected=(
        "the catalog Service's selector (app=catalog, component=api) matches none of the catalog "
        "pods' labels, so the Service has no endpoints"
    ),
    accept=(("k8s-service-no-endpoints", "selector-matches-no-pods"),),
    about="catalog",
    make=make,
)
