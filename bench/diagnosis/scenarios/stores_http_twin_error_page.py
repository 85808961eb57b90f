"""Nothing is wrong with the storefront: one customer's error page, the endpoint answers 200."""

from bench.diagnosis.scenario import Scenario


def make(env):  # type: ignore[no-untyped-def]
    del env  # the baseline: storefront answers 200 quickly


SCENARIO = Scenario(
    symptom="a customer got an error page from the storefront at 10:02, is it down?",
    style="question",
    kind="http",
    expected="nothing: the storefront answers 200, quickly, with a valid response",
    make=make,
)
