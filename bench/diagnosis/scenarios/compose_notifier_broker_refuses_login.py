"""The broker's password was rotated at the broker (rabbitmqctl change_password) and nobody
updated the apps: RabbitMQ refuses the login, the compose notifier crash-loops on it. The
operator pastes the notifier's log."""

from bench.diagnosis import faults_aws_compose as f
from bench.diagnosis.scenario import Scenario

REFUSED = (
    "ProbableAuthenticationError: Client was disconnected at a connection stage indicating a "
    "probable authentication error: (\"ConnectionClosedByBroker: (403) 'ACCESS_REFUSED - Login "
    "was refused using authentication mechanism PLAIN. For details see the broker logfile.'\",)"
)

SCRIPT = f"""
now=$(date -u '+%F %T')
cat <<LOG
$now,114 INFO notifier: connecting to the broker at $BROKER_HOST
$now,131 ERROR pika.adapters.blocking_connection: Connection workflow failed: \
AMQPConnectionWorkflowFailed: 1 exceptions in all; last exception - \
AMQPConnectorAMQPHandshakeError: {REFUSED}
Traceback (most recent call last):
  File "/app/notifier/main.py", line 22, in <module>
    connection = pika.BlockingConnection(pika.URLParameters(os.environ["AMQP_URL"]))
pika.exceptions.ProbableAuthenticationError: ConnectionClosedByBroker: (403) 'ACCESS_REFUSED - \
Login was refused using authentication mechanism PLAIN. For details see the broker logfile.'
LOG
exit 1
"""


def make(env):  # type: ignore[no-untyped-def]
    broker = f.rotate_broker_password(env)
    notifier = env.container(
        "notifier",
        SCRIPT,
        env={
            "AMQP_URL": broker.amqp_url,  # the password the apps (and the inventory) still use
            "BROKER_HOST": broker.address,
            "QUEUE": "emails",
        },
        restart=True,
    )
    f.restarted(notifier, 2)
    env.values["broker"] = broker.address


SCENARIO = Scenario(
    symptom=(
        "notifier-1  | 2026-12-08 09:31:02,114 INFO notifier: connecting to the broker at "
        "{broker}\n"
        "notifier-1  | 2026-12-08 09:31:02,131 ERROR pika.adapters.blocking_connection: "
        "Connection workflow failed: AMQPConnectionWorkflowFailed: 1 exceptions in all; last "
        "exception - AMQPConnectorAMQPHandshakeError: ProbableAuthenticationError: Client was "
        "disconnected at a connection stage indicating a probable authentication error: "
        "(\"ConnectionClosedByBroker: (403) 'ACCESS_REFUSED - Login was refused using "
        "authentication mechanism PLAIN. For details see the broker logfile.'\",)\n"
        "notifier-1  | Traceback (most recent call last):\n"
        'notifier-1  |   File "/app/notifier/main.py", line 22, in <module>\n'
        "notifier-1  |     connection = pika.BlockingConnection(pika.URLParameters("
        'os.environ["AMQP_URL"]))\n'
        "notifier-1  | pika.exceptions.ProbableAuthenticationError: ConnectionClosedByBroker: "
        "(403) 'ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For "
        "details see the broker logfile.'\n"
        "notifier-1 exited with code 1"
    ),
    style="paste",
    kind="rabbitmq",
    cascade=True,
    expected=(
        "RabbitMQ (broker) refuses the login: the user's password was changed at the broker and "
        "no longer matches the one the apps use"
    ),
    accept=(("mq-connection-refused", "login-refused"),),
    about="broker",
    make=make,
)
