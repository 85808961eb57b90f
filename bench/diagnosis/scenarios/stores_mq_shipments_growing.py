"""The shipping worker is connected to `shipments` but handles a message in 0.2 s while four
arrive each 0.2 s: consumers present, backlog growing."""

from bench.diagnosis.faults_stores import slow_consumer
from bench.diagnosis.scenario import Scenario


def make(env):  # type: ignore[no-untyped-def]
    slow_consumer(env, "shipments", backlog_size=1500, per_message=0.2, publish_every=0.05)


SCENARIO = Scenario(
    symptom="why is the shipments queue growing? the shipping worker is up",
    style="question",
    kind="rabbitmq",
    expected=(
        "the shipments queue's consumer is connected but too slow for the publish rate, so "
        "the backlog grows"
    ),
    accept=(("mq-queue-backlog", "consumers-too-slow"),),
    about="shipments",
    make=make,
)
