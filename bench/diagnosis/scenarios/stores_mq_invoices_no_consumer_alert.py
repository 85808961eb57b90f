"""The new invoicing release publishes to `invoices`, but its consumer was never deployed: the
queue fills, and the queue-depth monitor fires."""

from bench.diagnosis.faults_stores import backlog
from bench.diagnosis.scenario import Scenario


def make(env):  # type: ignore[no-untyped-def]
    backlog(env, "invoices", 2500)


SCENARIO = Scenario(
    symptom=(
        "[Triggered] rabbitmq.queue.messages_ready > 1000 on queue:invoices,rabbitmq_vhost:/ "
        "(current value 2500)"
    ),
    style="alert",
    kind="rabbitmq",
    expected="the invoices queue has no consumer: nothing reads it, so every message stays",
    accept=(
        ("mq-queue-backlog", "no-consumers"),
        ("env-health", "queues-backing-up"),
    ),
    about="invoices",
    make=make,
)
