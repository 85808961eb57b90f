"""The shop's compose file was updated from the platform team's template: the `db` service
(postgres:16) got a health check, `pg_isready -U ${POSTGRES_USER}`, and the api now waits for it
(`depends_on: db: condition: service_healthy`). POSTGRES_USER is set in the db service's
`environment:`, not in the shell or the .env file, and compose interpolates `${...}` in the file
itself when it reads it: the variable is blank there (compose warns about it), so the check runs
`pg_isready -U` with no user, which exits 3 (option requires an argument) every time. PostgreSQL
itself runs and accepts connections; the container is marked unhealthy, `docker compose up -d`
fails with "dependency failed to start", and the api is left created, never started. The
operator pastes the command's output and asks."""

from bench.diagnosis import faults_aws_compose as f
from bench.diagnosis.faults_heldout4 import created_not_started
from bench.diagnosis.scenario import Scenario

# postgres:16 logs its start (a minute ago), then serves.
DB = """
at() { date -u -d "@$(( $(date +%s) - $1 ))" '+%F %T'; }
echo "PostgreSQL Database directory appears to contain a database; Skipping initialization"
echo
echo "$(at 62).503 UTC [1] LOG:  starting PostgreSQL 16.6 (Debian 16.6-1.pgdg120+1) on \
x86_64-pc-linux-gnu, compiled by gcc (Debian 12.2.0-14) 12.2.0, 64-bit"
echo "$(at 62).504 UTC [1] LOG:  listening on IPv4 address \\"0.0.0.0\\", port 5432"
echo "$(at 62).509 UTC [1] LOG:  listening on Unix socket \\"/var/run/postgresql/.s.PGSQL.5432\\""
echo "$(at 62).517 UTC [29] LOG:  database system was shut down at $(at 118) UTC"
echo "$(at 62).524 UTC [1] LOG:  database system is ready to accept connections"
exec sleep 86400
"""

# pg_isready's handling of what the health check passes it: no value after -U.
PG_ISREADY = """#!/bin/sh
last=""
for arg in "$@"; do last="$arg"; done
if [ "$last" = "-U" ]; then
  echo "pg_isready: option requires an argument -- 'U'" >&2
  echo 'pg_isready: hint: Try "pg_isready --help" for more information.' >&2
  exit 3
fi
echo "/var/run/postgresql:5432 - accepting connections"
"""

API = "echo 'shop-api 2.9.0 starting'; exec sleep 86400"

WARNING = 'WARN[0000] The "POSTGRES_USER" variable is not set. Defaulting to a blank string. '


def make(env):  # type: ignore[no-untyped-def]
    tool = env.folder / "pg_isready"
    tool.write_text(PG_ISREADY)
    tool.chmod(0o755)
    db = env.container(
        "db",
        DB,
        env={"POSTGRES_USER": "shop", "POSTGRES_DB": "shop", "POSTGRES_PASSWORD": "from-secret"},
        volumes={str(tool): {"bind": "/usr/local/bin/pg_isready", "mode": "ro"}},
        healthcheck=f.healthcheck("pg_isready -U ", interval=1, retries=3),
    )
    f.until(
        lambda: f.state(db).get("Health", {}).get("Status") == "unhealthy",
        timeout=30,
        what="db unhealthy",
    )
    probe = f.state(db)["Health"]["Log"][-1]
    if probe["ExitCode"] != 3 or "requires an argument" not in probe["Output"]:
        raise AssertionError(f"db's probe: {probe}")
    api = created_not_started(
        env,
        "api",
        API,
        depends_on="db:service_healthy:false",
        environment={
            "DATABASE_URL": "postgresql://shop@db:5432/shop",
            "REDIS_URL": env.targets["cache"]["url"],
        },
    )
    if f.state(api)["Status"] != "created":
        raise AssertionError("api started")
    env.values["up"] = "\n".join(
        [
            "$ docker compose up -d",
            WARNING,
            "[+] Running 3/4",
            " ✔ Container shop-web-1     Running                                         0.0s ",
            " ✔ Container shop-worker-1  Running                                         0.0s ",
            " ✘ Container shop-db-1      Error                                          31.8s ",
            " ✔ Container shop-api-1     Created                                         0.1s ",
            "dependency failed to start: container shop-db-1 is unhealthy",
        ]
    )


SCENARIO = Scenario(
    symptom=(
        "after pulling the new compose file from the platform repo the stack won't come up:\n"
        "{up}\n"
        "but postgres is running fine, its log says ready to accept connections and I can "
        "psql into it. why does docker think db is unhealthy?"
    ),
    style="paste",
    kind="compose",
    expected=(
        "db's health check fails, not PostgreSQL: compose interpolated ${POSTGRES_USER} from "
        "the shell (unset, blank), so the check runs `pg_isready -U` with no user and exits 3 "
        "every time; db is marked unhealthy and the api, which waits for it, never starts"
    ),
    accept=(
        ("compose-container-restarting", "health-check-failing"),
        ("compose-log-errors", "health-probe-errors"),
    ),
    about="db",
    make=make,
)
