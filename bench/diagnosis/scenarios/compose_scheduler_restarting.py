"""The scheduler's new cron expression has four fields: it raises at start, exits 1, and the
restart policy restarts it in a loop. A Datadog monitor fires."""

from bench.diagnosis import faults_aws_compose as f
from bench.diagnosis.scenario import Scenario

SCRIPT = """
echo "$(date -u '+%F %T'),412 INFO scheduler: loading 6 jobs from /app/jobs.yaml"
echo 'Traceback (most recent call last):'
echo '  File "/app/scheduler/main.py", line 41, in <module>'
echo '    main()'
echo '  File "/app/scheduler/main.py", line 33, in main'
echo '    trigger = CronTrigger.from_crontab(os.environ["SCHEDULE_CRON"])'
echo '  File "/usr/local/lib/python3.12/site-packages/apscheduler/triggers/cron/__init__.py", \
line 110, in from_crontab'
echo "    raise ValueError(f'Wrong number of fields; got {len(values)}, expected 5')"
echo 'ValueError: Wrong number of fields; got 4, expected 5'
exit 1
"""


def make(env):  # type: ignore[no-untyped-def]
    scheduler = env.container(
        "scheduler",
        SCRIPT,
        env={
            "SCHEDULE_CRON": "*/15 * * *",
            "DATABASE_URL": env.targets["orders-db"]["url"],
            "AMQP_URL": env.targets["broker"]["url"],
        },
        restart=True,
    )
    f.restarted(scheduler, 4)


SCENARIO = Scenario(
    symptom=(
        "[Triggered on {{container_name:shop-scheduler-1}}] Container restarts > 3 in the last 10m"
    ),
    style="alert",
    kind="compose",
    expected=(
        "scheduler crash-loops: it exits 1 at start because its SCHEDULE_CRON has four fields "
        "(ValueError), and the restart policy restarts it"
    ),
    accept=(
        ("compose-container-restarting", "application-crash-loop"),
        ("compose-services-wont-start", "crashed-on-start"),
        ("compose-log-errors", "repeated-crashes"),
        ("compose-log-errors", "exception-in-logs"),
        ("env-health", "containers-crashing"),
    ),
    about="scheduler",
    make=make,
)
