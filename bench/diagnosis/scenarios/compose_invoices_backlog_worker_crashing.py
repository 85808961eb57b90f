"""The invoices queue backs up because its only consumer, the compose invoice-worker, crashes
on every start (a TypeError rendering a PDF) and restarts in a loop. The broker is fine. The
alert is about the queue."""

from bench.diagnosis import faults_aws_compose as f
from bench.diagnosis.scenario import Scenario

SCRIPT = """
echo "$(date -u '+%F %T'),220 INFO invoice-worker: connected to broker, consuming 'invoices' \
(prefetch 10)"
echo "$(date -u '+%F %T'),231 INFO invoice-worker: rendering invoice 88412 for customer 1042"
echo 'Traceback (most recent call last):'
echo '  File "/app/invoices/worker.py", line 64, in on_message'
echo '    pdf = render_pdf(invoice)'
echo '  File "/app/invoices/render.py", line 57, in render_pdf'
echo '    line_total = item.quantity * item.unit_price'
echo "TypeError: unsupported operand type(s) for *: 'NoneType' and 'decimal.Decimal'"
exit 1
"""


def make(env):  # type: ignore[no-untyped-def]
    broker = f.backlog(env, "invoices", 1400)
    worker = env.container(
        "invoice-worker",
        SCRIPT,
        env={"AMQP_URL": broker.amqp_url, "QUEUE": "invoices", "PREFETCH": "10"},
        restart=True,
    )
    f.restarted(worker, 3)
    broker.wait_for_management_depth("invoices", 1400)


SCENARIO = Scenario(
    symptom="[FIRING:1] RabbitMQ queue invoices backlog > 1000 (broker, vhost /)",
    style="alert",
    kind="compose",
    cascade=True,
    expected=(
        "invoice-worker, the only consumer of invoices, crash-loops (TypeError in render_pdf), "
        "so the queue has no consumer and backs up"
    ),
    accept=(
        ("compose-container-restarting", "application-crash-loop"),
        ("compose-services-wont-start", "crashed-on-start"),
        ("compose-log-errors", "repeated-crashes"),
        ("compose-log-errors", "exception-in-logs"),
        ("env-health", "containers-crashing"),
    ),
    about="invoice-worker",
    make=make,
)
