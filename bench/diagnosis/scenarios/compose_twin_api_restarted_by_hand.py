"""Healthy: the operator restarted the compose api by hand (`docker compose restart api`) after
it hung; it came back, its health check passes, its database and cache answer."""

from bench.diagnosis import faults_aws_compose as f
from bench.diagnosis.scenario import Scenario
from tests.servers.process import free_port


def make(env):  # type: ignore[no-untyped-def]
    port = free_port()
    api = env.container(
        "api",
        "trap 'echo \"$(date -u +%FT%TZ) INFO shop.api: SIGTERM, shutting down\"; exit 0' TERM; "
        'mkdir -p /www && echo \'{"status": "ok"}\' > /www/health && '
        f'echo "$(date -u +%FT%TZ) INFO shop.api: listening on :{port}" && '
        f"httpd -f -p {port} -h /www & wait",
        env={
            "DATABASE_URL": env.targets["orders-db"]["url"],
            "REDIS_URL": env.targets["cache"]["url"],
            "API_PORT": str(port),
        },
        restart_policy={"Name": "unless-stopped"},
        healthcheck=f.healthcheck(f"wget -q -O /dev/null http://127.0.0.1:{port}/health"),
    )
    api.restart(timeout=5)
    f.until(lambda: f.state(api).get("Health", {}).get("Status") == "healthy", what="api healthy")


SCENARIO = Scenario(
    symptom=("I restarted the compose api by hand an hour ago after it hung, is it healthy now?"),
    style="question",
    kind="compose",
    expected="nothing: api runs, its health check passes, orders-db and cache answer",
    make=make,
)
