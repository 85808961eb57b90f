"""The compose api exits at start: JWT_SIGNING_KEY is not in its environment (the new .env
lacks it). The operator pastes what `docker compose up` printed."""

from bench.diagnosis.scenario import Scenario

SCRIPT = """
echo "$(date -u '+%F %T'),101 INFO  shop.api: starting shop-api 2.8.0 on :8000"
echo "$(date -u '+%F %T'),104 INFO  shop.config: loaded settings from the environment"
echo "$(date -u '+%F %T'),107 CRITICAL shop.config: required setting JWT_SIGNING_KEY is not set \
(set it in .env or the environment)"
exit 1
"""


def make(env):  # type: ignore[no-untyped-def]
    db = env.targets["orders-db"]["url"]
    env.container(
        "api",
        SCRIPT,
        env={
            "DATABASE_URL": db,
            "REDIS_URL": env.targets["cache"]["url"],
            "API_PORT": "8000",
            "LOG_LEVEL": "info",
        },
    )


SCENARIO = Scenario(
    symptom=(
        "$ docker compose up api\n"
        "[+] Running 1/0\n"
        " ✔ Container shop-api-1  Created\n"
        "Attaching to api-1\n"
        "api-1  | 2026-12-08 09:12:44,101 INFO  shop.api: starting shop-api 2.8.0 on :8000\n"
        "api-1  | 2026-12-08 09:12:44,104 INFO  shop.config: loaded settings from the "
        "environment\n"
        "api-1  | 2026-12-08 09:12:44,107 CRITICAL shop.config: required setting "
        "JWT_SIGNING_KEY is not set (set it in .env or the environment)\n"
        "api-1 exited with code 1"
    ),
    style="paste",
    kind="compose",
    expected="the compose service api exits at start because JWT_SIGNING_KEY is not set in its "
    "environment",
    accept=(
        ("compose-services-wont-start", "missing-env"),
        ("app-server-errors", "missing-environment-variable"),
    ),
    about="api",
    make=make,
)
