"""Nothing is wrong with orders-db now: a past blip, the pool idle and well under the limit."""

from bench.diagnosis.faults_stores import idle_pool
from bench.diagnosis.scenario import Scenario


def make(env):  # type: ignore[no-untyped-def]
    idle_pool(env, 5, "checkout-api")


SCENARIO = Scenario(
    symptom=(
        "is orders-db ok? checkout errors spiked for two minutes at 09:12 and went away by "
        "themselves"
    ),
    style="question",
    kind="postgres",
    expected="nothing: orders-db accepts connections, few in use, no locks or long queries",
    make=make,
)
