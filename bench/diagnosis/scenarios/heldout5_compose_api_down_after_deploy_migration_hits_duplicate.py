"""The compose stack runs its migrations as a one-shot `migrate` service (restart: "no") that the
api waits for (`depends_on: migrate: condition: service_completed_successfully`). Release 2.9.0
brings a migration that makes customers' e-mail addresses unique (a UNIQUE constraint). It
passed on staging; production holds two customers with the same address (a double signup from
before the check existed in the form), so PostgreSQL refuses to build the index, alembic exits
1, and `docker compose up -d` stops there: the api, already recreated with the new image, is
left created and never started. The shop is down. Its database is fine. The operator pastes
what the deploy printed and asks."""

from bench.diagnosis import faults_aws_compose as f
from bench.diagnosis.faults_heldout4 import created_not_started
from bench.diagnosis.faults_heldout5 import duplicate_row, migration_error
from bench.diagnosis.scenario import Scenario

CONSTRAINT = "ALTER TABLE customers ADD CONSTRAINT customers_email_key UNIQUE (email)"


def migrate_log(error: str) -> str:
    """alembic's output for the failed upgrade, around psycopg's error (`module.Class: text`)."""
    kind, text = error.split(": ", 1)
    return "\n".join(
        [
            "INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.",
            "INFO  [alembic.runtime.migration] Will assume transactional DDL.",
            "INFO  [alembic.runtime.migration] Running upgrade 7a1c0e4d2b91 -> 3f9b2d6e8c15, "
            "customers: unique e-mail",
            "Traceback (most recent call last):",
            '  File "/usr/local/lib/python3.12/site-packages/sqlalchemy/engine/base.py", line '
            "1967, in _exec_single_context",
            "    self.dialect.do_execute(",
            '  File "/usr/local/lib/python3.12/site-packages/psycopg/cursor.py", line 97, in '
            "execute",
            "    raise ex.with_traceback(None)",
            error,
            "",
            "The above exception was the direct cause of the following exception:",
            "",
            "Traceback (most recent call last):",
            '  File "/usr/local/bin/alembic", line 8, in <module>',
            "    sys.exit(main())",
            '  File "/app/migrations/versions/3f9b2d6e8c15_customers_unique_email.py", line 19, '
            "in upgrade",
            '    op.create_unique_constraint("customers_email_key", "customers", ["email"])',
            f"sqlalchemy.exc.IntegrityError: ({kind}) {text}",
            f"[SQL: {CONSTRAINT}]",
            "(Background on this error at: https://sqlalche.me/e/20/gkpj)",
        ]
    )


def make(env):  # type: ignore[no-untyped-def]
    server = env.world.postgres()
    duplicate_row(env, server, "c17@shop.test")
    error = migration_error(server, CONSTRAINT)
    if "UniqueViolation" not in error or "is duplicated" not in error:
        raise AssertionError(error)
    output = env.folder / "migrate.log"
    output.write_text(migrate_log(error) + "\n")
    database = {"DATABASE_URL": env.targets["orders-db"]["url"]}
    migrate = env.container(
        "migrate",
        "cat /etc/shop/migrate.log; exit 1",
        env=database,
        volumes={str(output): {"bind": "/etc/shop/migrate.log", "mode": "ro"}},
    )
    f.until(lambda: f.state(migrate)["Status"] == "exited", 15, "migrate exited")
    if f.state(migrate)["ExitCode"] != 1 or b"is duplicated" not in migrate.logs():
        raise AssertionError(f"migrate: {f.state(migrate)}")
    api = created_not_started(
        env,
        "api",
        "echo 'shop-api 2.9.0 starting'; exec sleep 86400",
        depends_on="migrate:service_completed_successfully:false",
        environment={**database, "REDIS_URL": env.targets["cache"]["url"]},
    )
    if f.state(api)["Status"] != "created":
        raise AssertionError("api started")
    env.values["up"] = "\n".join(
        [
            "$ docker compose pull && docker compose up -d",
            "[+] Pulling 2/2",
            " ✔ api Pulled                                                            3.1s ",
            " ✔ migrate Pulled                                                        3.0s ",
            "[+] Running 4/5",
            " ✔ Container shop-worker-1   Running                                     0.0s ",
            " ✔ Container shop-web-1      Running                                     0.0s ",
            ' ✘ Container shop-migrate-1  service "migrate" didn\'t complete successfully: '
            "exit 1   6.2s ",
            " ✔ Container shop-api-1      Recreated                                   0.4s ",
            'service "migrate" didn\'t complete successfully: exit 1',
        ]
    )


SCENARIO = Scenario(
    symptom=(
        "deploying 2.9.0 on the compose box, this is all I got:\n"
        "{up}\n"
        "and now the site is down, shop-api-1 just sits there. worked fine on staging. "
        "what went wrong?"
    ),
    style="paste",
    kind="compose",
    expected=(
        "the one-shot migrate service failed (exit 1): 2.9.0's migration adds a unique index on "
        "customers.email and production holds a duplicated address, so PostgreSQL refuses it "
        "(UniqueViolation); the api waits for migrate to succeed and is never started"
    ),
    accept=(
        ("compose-log-errors", "exception-in-logs"),
        ("compose-services-wont-start", "crashed-on-start"),
        ("env-health", "containers-crashing"),
    ),
    about="migrate",
    make=make,
)
