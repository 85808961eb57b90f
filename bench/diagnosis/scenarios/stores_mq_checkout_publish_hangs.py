"""The broker's memory alarm is raised (its high watermark below what it uses): every
publishing connection is blocked, so checkout hangs when it publishes the order event."""

from bench.diagnosis.faults_stores import memory_alarm
from bench.diagnosis.scenario import Scenario


def make(env):  # type: ignore[no-untyped-def]
    memory_alarm(env, publisher_queue="orders")


SCENARIO = Scenario(
    symptom=(
        "new orders are not going through: checkout hangs when it publishes the order event, "
        "since a few minutes ago"
    ),
    style="vague",
    kind="rabbitmq",
    expected=(
        "the broker raised its memory alarm and blocks every publisher until memory is under "
        "the high watermark"
    ),
    accept=(
        ("mq-connection-refused", "resource-alarm"),
        ("mq-queue-backlog", "publishers-blocked"),
    ),
    about="broker",
    make=make,
)
