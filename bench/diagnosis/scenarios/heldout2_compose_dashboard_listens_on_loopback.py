"""The team added an internal `dashboard` service to the shop's compose stack today, publishing
its port 8080 on the host. Its server binds to 127.0.0.1 by default (the framework's development
default, which nobody overrode with HOST=0.0.0.0): inside the container it listens on the
container's own loopback only. The container is up and its log says it is serving, `docker
compose ps` shows the port mapping, but nothing behind the published port answers: the engine's
proxy accepts the connection, finds nothing listening on the container's address, and closes
it. The operator asks."""

from bench.diagnosis import faults_aws_compose as f
from bench.diagnosis.faults_heldout2 import published_port_reaches_nothing
from bench.diagnosis.scenario import Scenario
from tests.servers.process import free_port

DASHBOARD = """
mkdir -p /www && echo '{"status": "ok"}' > /www/health
echo "$(date -u '+%F %T') INFO  dashboard: starting shop-dashboard 0.9.0"
echo "$(date -u '+%F %T') INFO  dashboard: orders db $DATABASE_URL, cache $REDIS_URL"
echo "$(date -u '+%F %T') INFO  uvicorn.error: Started server process [1]"
echo "$(date -u '+%F %T') INFO  uvicorn.error: Application startup complete."
echo "$(date -u '+%F %T') INFO  uvicorn.error: Uvicorn running on http://127.0.0.1:8080 \
(Press CTRL+C to quit)"
exec httpd -f -p 127.0.0.1:8080 -h /www
"""


def make(env):  # type: ignore[no-untyped-def]
    port = free_port()
    env.values["dashboard_port"] = port
    dashboard = f.published_container(
        env,
        "dashboard",
        DASHBOARD,
        ports={"8080/tcp": port},
        environment={
            "DATABASE_URL": env.targets["orders-db"]["url"],
            "REDIS_URL": env.targets["cache"]["url"],
            "DASHBOARD_TITLE": "Shop ops",
        },
    )
    f.until(lambda: f.state(dashboard)["Status"] == "running", what="dashboard running")
    f.until(
        lambda: b"Uvicorn running" in dashboard.logs() and published_port_reaches_nothing(port),
        what="dashboard up, its published port answering nothing",
    )


SCENARIO = Scenario(
    symptom=(
        "we added the dashboard to the compose stack on the shop box today. `docker compose ps` "
        "says it's Up with 0.0.0.0:{dashboard_port}->8080/tcp, but curl localhost:"
        "{dashboard_port} gets nothing back, the connection just closes (sometimes 'Empty "
        "reply from server', sometimes 'Connection reset by peer'). what's wrong with it?"
    ),
    style="question",
    kind="compose",
    expected=(
        "dashboard's server listens on 127.0.0.1:8080 inside its container (its own loopback), "
        "so nothing listens on the container address the published port forwards to: the "
        "connection is accepted by the engine's proxy and closed"
    ),
    accept=(("compose-cannot-access-app", "nothing-listening"),),
    about="dashboard",
    make=make,
)
