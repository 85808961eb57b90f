"""The broker's data disk filled up overnight: a debug setting left on after last week's incident
has it write a trace of every message to its log directory, on the same volume. Twenty minutes ago
free space went under the broker's free-disk limit and RabbitMQ raised its disk alarm, which blocks
every connection that publishes until space is freed. checkout-api (Kubernetes, namespace shop)
publishes an `order.created` event for each order: its publishing connection is blocked, the
publish waits, and checkout requests hang until the app gives up and answers 500. Consumers
are not blocked, so the queues drain and look healthy. The operator pastes checkout-api's
log."""

from datetime import UTC, datetime, timedelta

from bench.diagnosis import faults_kube as f
from bench.diagnosis.faults_heldout3 import disk_alarm
from bench.diagnosis.scenario import Scenario


def log(seconds_ago: float) -> str:
    """checkout-api's lines about one order, as it logs them."""
    at = datetime.now(UTC) - timedelta(seconds=seconds_ago)

    def t(later: float) -> str:
        stamp = at + timedelta(seconds=later)
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"

    return (
        f"{t(0)} INFO  checkout.api: POST /checkout order=118455 customer=c1042\n"
        f"{t(10.009)} ERROR checkout.events: publish of order.created for order 118455 timed "
        "out after 10.0s (connection to the broker blocked)\n"
        f"{t(10.013)} ERROR checkout.api: POST /checkout order=118455 -> 500 "
        "(pika.exceptions.ConnectionBlockedTimeout)\n"
        f"{t(15.533)} INFO  checkout.api: GET /health -> 200\n"
    )


def make(env):  # type: ignore[no-untyped-def]
    disk_alarm(env, publisher="checkout-api", queue="orders")
    for pod in f.baseline_pods("checkout-api"):
        f.add_log(env, pod, log(40))


SCENARIO = Scenario(
    symptom=(
        "checkout is hanging for ~10s and then failing for every customer for the last 20 "
        "minutes or so. nothing deployed. the pods are up and healthy, but their logs show:\n"
        "ERROR checkout.events: publish of order.created for order 118455 timed out after "
        "10.0s (connection to the broker blocked)\n"
        "ERROR checkout.api: POST /checkout order=118455 -> 500 "
        "(pika.exceptions.ConnectionBlockedTimeout)\n"
        "why would the broker block us?"
    ),
    style="question",
    kind="rabbitmq",
    cascade=True,
    expected=(
        "the broker's disk alarm is raised (free disk space under its limit): RabbitMQ blocks "
        "every publishing connection, checkout-api's among them, until space is freed"
    ),
    accept=(
        ("mq-connection-refused", "resource-alarm"),
        ("mq-queue-backlog", "publishers-blocked"),
    ),
    about="broker",
    make=make,
)
