"""Nothing is wrong with the broker: a spike on `emails` was drained by its consumer."""

from bench.diagnosis.faults_stores import burst
from bench.diagnosis.scenario import Scenario


def make(env):  # type: ignore[no-untyped-def]
    burst(env, "emails", 300)


SCENARIO = Scenario(
    symptom="is the broker ok? the emails queue had a spike of a few hundred messages an hour ago",
    style="question",
    kind="rabbitmq",
    expected="nothing: the broker answers, no alarm, the emails queue is drained by its consumer",
    make=make,
)
