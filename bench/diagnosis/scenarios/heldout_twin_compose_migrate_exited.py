"""Healthy twin: the compose project runs its migrations as a one-shot `migrate` service
(restart: "no") before the api starts. It applied two migrations and exited 0, as it does on
every `docker compose up`; the api, web and worker run, the database answers. The operator, new
on the team, sees an exited container in `docker compose ps -a` and asks."""

from bench.diagnosis import faults_aws_compose as f
from bench.diagnosis.scenario import Scenario
from tests.servers.process import free_port

MIGRATE = """
echo "$(date -u '+%F %T') INFO  [alembic.runtime.migration] Context impl PostgresqlImpl."
echo "$(date -u '+%F %T') INFO  [alembic.runtime.migration] Will assume transactional DDL."
echo "$(date -u '+%F %T') INFO  [alembic.runtime.migration] Running upgrade 7f3c21d9a0b4 -> \
a91e5b7c2d10, add invoices.period"
echo "$(date -u '+%F %T') INFO  [alembic.runtime.migration] Running upgrade a91e5b7c2d10 -> \
c0d4e8f61a37, index orders.created_at"
echo "migrate: database is at head (c0d4e8f61a37)"
exit 0
"""


def make(env):  # type: ignore[no-untyped-def]
    db = env.targets["orders-db"]["url"]
    migrate = env.container("migrate", MIGRATE, env={"DATABASE_URL": db})
    f.until(lambda: f.state(migrate)["Status"] == "exited", what="migrate done")
    port = free_port()
    api = env.container(
        "api",
        'mkdir -p /www && echo \'{"status": "ok"}\' > /www/health && '
        f'echo "$(date -u +%FT%TZ) INFO shop.api: listening on :{port}" && '
        f"exec httpd -f -p {port} -h /www",
        env={
            "DATABASE_URL": db,
            "REDIS_URL": env.targets["cache"]["url"],
            "API_PORT": str(port),
        },
        restart_policy={"Name": "unless-stopped"},
        healthcheck=f.healthcheck(f"wget -q -O /dev/null http://127.0.0.1:{port}/health"),
    )
    f.until(lambda: f.state(api).get("Health", {}).get("Status") == "healthy", what="api healthy")


SCENARIO = Scenario(
    symptom=(
        "is this normal? migrate shows as exited on the shop box:\n"
        "$ docker compose ps -a\n"
        "NAME             IMAGE                 SERVICE   STATUS                    PORTS\n"
        "shop-api-1       shop/api:2.8.1        api       Up 3 minutes (healthy)\n"
        "shop-migrate-1   shop/api:2.8.1        migrate   Exited (0) 3 minutes ago\n"
        "shop-web-1       shop/web:2.8.1        web       Up 6 days\n"
        "shop-worker-1    shop/worker:2.8.1     worker    Up 6 days"
    ),
    style="paste",
    kind="compose",
    expected=(
        "nothing: migrate is a one-shot service that applied its migrations and exited 0 as "
        "designed; api is healthy, web and worker run, the database answers"
    ),
    make=make,
)
