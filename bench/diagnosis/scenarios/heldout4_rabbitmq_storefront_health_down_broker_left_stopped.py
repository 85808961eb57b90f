"""The shop's RabbitMQ runs as the compose service `rabbitmq` on the docker host (target `broker`).
The nightly backup script stops it to copy its data volume (`docker compose stop rabbitmq`,
tar, `docker compose start rabbitmq`); tonight the copy failed (the backup mount was full) and
the script, under `set -e`, exited before the start. RabbitMQ shut down cleanly and has
stayed exited since: nothing listens on the AMQP port. The storefront (a Spring Boot app) reports
its broker DOWN in its health endpoint, which answers 503, and the uptime monitor pages. Its
database and Redis are up. The operator forwards the alert with what the endpoint says."""

from bench.diagnosis import faults_aws_compose as f
from bench.diagnosis.faults_heldout4 import fetch
from bench.diagnosis.faults_stores import dead_broker, own_http
from bench.diagnosis.scenario import Scenario
from tests.servers.http import Route

HEALTH = (
    '{"status":"DOWN","components":{"db":{"status":"UP","details":{"database":"PostgreSQL",'
    '"validationQuery":"isValid()"}},"diskSpace":{"status":"UP","details":{"total":'
    '52710469632,"free":31488712704,"threshold":10485760,"path":"/app/.","exists":true}},'
    '"livenessState":{"status":"UP"},"ping":{"status":"UP"},"rabbit":{"status":"DOWN",'
    '"details":{"error":"org.springframework.amqp.AmqpConnectException: '
    'java.net.ConnectException: Connection refused"}},"readinessState":{"status":"UP"},'
    '"redis":{"status":"UP","details":{"version":"7.2.5"}}}}'
)

# A clean stop, as `docker compose stop` (SIGTERM) gets from RabbitMQ 3.13: it started a day
# and a half ago and was stopped 47 minutes ago.
RABBITMQ = """
at() { date -u -d "@$(( $(date +%s) - $1 ))" '+%F %T'; }
up=130000
down=2820
echo "$(at $up).402113+00:00 [info] <0.254.0> Starting RabbitMQ 3.13.7 on Erlang 26.2.5.3 [jit]"
echo "$(at $up).877015+00:00 [info] <0.674.0> started TCP listener on [::]:$RABBITMQ_NODE_PORT"
echo "$(at $up).901377+00:00 [info] <0.254.0> Server startup complete; 4 plugins started."
echo "$(at $down).114802+00:00 [info] <0.1304.0> RabbitMQ is asked to stop..."
echo "$(at $down).309561+00:00 [info] <0.1304.0> Stopping RabbitMQ applications and their \
dependencies in the following order:"
for app in rabbitmq_management rabbitmq_prometheus rabbit; do
  echo "$(at $down).309561+00:00 [info] <0.1304.0>     $app"
done
echo "$(at $down).588220+00:00 [info] <0.674.0> stopped TCP listener on [::]:$RABBITMQ_NODE_PORT"
echo "$(at $((down - 1))).231957+00:00 [info] <0.1304.0> Successfully stopped RabbitMQ and its \
dependencies"
echo "$(at $((down - 1))).232340+00:00 [info] <0.1304.0> Halting Erlang VM with the following \
applications:"
exit 0
"""


def make(env):  # type: ignore[no-untyped-def]
    dead_broker(env)
    port = env.values["broker_port"]
    rabbitmq = env.container(
        "rabbitmq",
        RABBITMQ,
        env={
            "RABBITMQ_NODE_PORT": str(port),
            "RABBITMQ_DEFAULT_USER": env.world.rabbitmq().user,
            "RABBITMQ_DEFAULT_VHOST": "/",
        },
    )
    f.until(lambda: f.state(rabbitmq)["Status"] == "exited", what="rabbitmq exited")
    if f.state(rabbitmq)["ExitCode"] != 0:
        raise AssertionError("rabbitmq did not stop cleanly")
    server = own_http(
        env,
        {
            "/health": Route(
                503,
                HEALTH,
                headers={"Content-Type": "application/vnd.spring-boot.actuator.v3+json"},
            ),
            "/": Route(200, "<!doctype html><html><body>Shop</body></html>"),
        },
    )
    status, body = fetch(server.url("/health"))
    if status != 503:
        raise AssertionError(f"the storefront's health answered {status}")
    env.values["health"] = body


SCENARIO = Scenario(
    symptom=(
        "[FIRING:1] StorefrontHealthCheck (instance=storefront, severity=page)\n"
        "Probe of the storefront health endpoint returned HTTP 503 for 5 consecutive checks "
        "(firing for 45m)\n\n"
        "$ curl -s http://127.0.0.1:{storefront_port}/health\n"
        "{health}\n\n"
        "db and redis say UP so it isn't the database. where do I start?"
    ),
    style="alert",
    kind="rabbitmq",
    cascade=True,
    expected=(
        "the broker is down: its compose container `rabbitmq` was stopped by the nightly backup "
        "script and never started again (exited 0 during the backup), so nothing listens on "
        "the AMQP port and the storefront's health reports rabbit DOWN (503)"
    ),
    accept=(
        ("mq-connection-refused", "container-stopped"),
        ("mq-connection-refused", "broker-down"),
        ("compose-services-wont-start", "infrastructure-rabbitmq-down"),
        ("env-health", "broker-down"),
    ),
    about="broker",
    make=make,
)
