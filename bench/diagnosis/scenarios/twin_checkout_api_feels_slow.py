"""Nothing is wrong with checkout-api: a customer complaint, everything healthy around it."""

from bench.diagnosis.scenario import Scenario


def make(env):  # type: ignore[no-untyped-def]
    del env  # the baseline: checkout-api runs 2/2, its dependencies answer


SCENARIO = Scenario(
    symptom="a customer says checkout-api felt slow this morning, is something wrong with it?",
    style="question",
    kind="kubernetes",
    expected="nothing: checkout-api and what it uses are healthy",
    make=make,
)
