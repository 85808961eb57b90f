"""The shop's compose stack moved to a new host last night. The compose file bind-mounts
./config/pricing.yml into the new `pricing` service, but the deploy script copied the compose
file and the .env, not the config folder: the file was missing on the new host, so Docker did
what it does for a missing bind source and created an empty directory of that name. pricing
starts, opens /app/config/pricing.yml, gets IsADirectoryError, exits 1, and its restart policy
(always) starts it again, and again. The checkout shows no prices. The operator describes it in
a few words."""

from bench.diagnosis import faults_aws_compose as f
from bench.diagnosis.scenario import Scenario

SCRIPT = """
echo "$(date -u '+%F %T'),208 INFO pricing: starting pricing-service 3.2.0"
echo "$(date -u '+%F %T'),231 INFO pricing.config: loading rules from /app/config/pricing.yml"
if [ -d /app/config/pricing.yml ]; then
  echo 'Traceback (most recent call last):'
  echo '  File "/app/pricing/__main__.py", line 12, in <module>'
  echo '    main()'
  echo '  File "/app/pricing/__main__.py", line 7, in main'
  echo '    rules = load_rules(os.environ.get("PRICING_RULES", "/app/config/pricing.yml"))'
  echo '  File "/app/pricing/config.py", line 22, in load_rules'
  echo '    with open(path, encoding="utf-8") as handle:'
  echo "IsADirectoryError: [Errno 21] Is a directory: '/app/config/pricing.yml'"
  exit 1
fi
echo "$(date -u '+%F %T'),304 INFO pricing: listening on :8081"
sleep 86400
"""


def make(env):  # type: ignore[no-untyped-def]
    # What the engine made of the missing bind source on the new host: an empty directory.
    source = env.folder / "srv" / "shop" / "config" / "pricing.yml"
    source.mkdir(parents=True)
    pricing = env.container(
        "pricing",
        SCRIPT,
        env={
            "DATABASE_URL": env.targets["orders-db"]["url"],
            "PRICING_RULES": "/app/config/pricing.yml",
            "PORT": "8081",
        },
        volumes={str(source): {"bind": "/app/config/pricing.yml", "mode": "ro"}},
        restart=True,
    )
    f.restarted(pricing, 3, timeout=60)
    if b"IsADirectoryError" not in pricing.logs():
        raise AssertionError("pricing did not fail on its config")


SCENARIO = Scenario(
    symptom=(
        "since the move to the new docker host last night the checkout shows no prices. "
        "`docker compose ps` has pricing as Restarting, everything else Up"
    ),
    style="vague",
    kind="compose",
    expected=(
        "pricing crash-loops: its config file pricing.yml is missing on the new host, so the "
        "bind mount created an empty directory in its place; it exits 1 at start "
        "(IsADirectoryError) and the restart policy restarts it"
    ),
    accept=(
        ("compose-container-restarting", "application-crash-loop"),
        ("compose-services-wont-start", "crashed-on-start"),
        ("compose-log-errors", "repeated-crashes"),
        ("compose-log-errors", "exception-in-logs"),
        ("env-health", "containers-crashing"),
    ),
    about="pricing",
    make=make,
)
