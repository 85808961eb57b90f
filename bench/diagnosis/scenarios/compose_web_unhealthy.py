"""The compose web service runs and serves its pages, but its health check asks for /healthz,
which it does not serve (404): docker marks it unhealthy. The operator asks why."""

from bench.diagnosis import faults_aws_compose as f
from bench.diagnosis.scenario import Scenario
from tests.servers.process import free_port


def make(env):  # type: ignore[no-untyped-def]
    port = free_port()
    web = env.container(
        "web",
        "mkdir -p /www && echo '<h1>shop</h1>' > /www/index.html && echo ok > /www/health && "
        f"echo 'web: serving /www on :{port}' && exec httpd -f -v -p {port} -h /www",
        env={"PORT": str(port), "API_URL": "http://127.0.0.1:8000"},
        healthcheck=f.healthcheck(f"wget -q -O /dev/null http://127.0.0.1:{port}/healthz"),
    )
    f.until(
        lambda: f.state(web).get("Health", {}).get("Status") == "unhealthy",
        what="web unhealthy",
    )


SCENARIO = Scenario(
    symptom="why does docker ps show shop-web-1 as (unhealthy)?",
    style="question",
    kind="compose",
    expected=(
        "web's health check fails: it asks for /healthz, which web answers with 404, so the "
        "container is marked unhealthy"
    ),
    accept=(
        ("compose-container-restarting", "health-check-failing"),
        ("compose-cannot-access-app", "app-unhealthy"),
        ("compose-log-errors", "health-probe-errors"),
    ),
    about="web",
    make=make,
)
