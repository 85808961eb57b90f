"""The admin service publishes its port on the host port the storefront already listens on:
`docker compose up -d` creates it but the engine cannot start it (bind: address already in
use). The operator asks what is wrong with admin."""

from bench.diagnosis import faults_aws_compose as f
from bench.diagnosis.scenario import Scenario


def make(env):  # type: ignore[no-untyped-def]
    taken = int(env.targets["storefront"]["url"].split(":")[2].split("/")[0])
    f.published_container(
        env,
        "admin",
        "echo 'admin: listening on :8080' && exec httpd -f -v -p 8080",
        ports={"8080/tcp": taken},
        environment={"DATABASE_URL": env.targets["orders-db"]["url"], "ADMIN_PORT": "8080"},
    )


SCENARIO = Scenario(
    symptom="admin won't come up after docker compose up -d, what is wrong with it?",
    style="question",
    kind="compose",
    expected=(
        "admin's published host port is already taken by another process on the host (the "
        "storefront): the engine cannot bind it, so admin never starts"
    ),
    accept=(
        ("compose-services-wont-start", "port-in-use"),
        ("compose-cannot-access-app", "port-conflict"),
    ),
    about="admin",
    make=make,
)
