"""Today's security hardening (a penetration test found the cache Redis open to anyone on the
private network) put a password on the cache Redis (target `cache`, `requirepass`), applied with
a restart three minutes ago. The api got the new password through its secret; the compose
`mailer`, a Celery worker whose broker and result backend are that Redis, did not: its URL still
carries no password, so since the restart every connection is refused (NOAUTH) and Celery
retries forever, running but sending nothing. Order confirmation e-mails stop. The inventory was
written before Redis had a password and gives none either. The operator pastes the mailer's
log."""

from bench.diagnosis import faults_aws_compose as f
from bench.diagnosis.faults_heldout2 import redis_refusal
from bench.diagnosis.scenario import Scenario

PASSWORD = "cache-hardened-2026-12"

# Connected 40 minutes ago, lost the broker 3 minutes ago (Redis restarted), retrying since
# (back-off: 4, 8, ... 28 seconds, then every 32).
MAILER = """
start=$(( $(date +%s) - 2400 ))
at() {{ date -u -d "@$(( start + $1 ))" '+%F %T'; }}
echo "[$(at 0),412: INFO/MainProcess] Connected to {url}"
echo "[$(at 0),431: INFO/MainProcess] mingle: searching for neighbors"
echo "[$(at 1),458: INFO/MainProcess] mingle: all alone"
echo "[$(at 1),470: INFO/MainProcess] mailer@shop-mailer-1 ready."
echo "[$(at 1640),102: INFO/MainProcess] Task mailer.send_order_confirmation[7c1e0a9e] received"
echo "[$(at 1641),877: INFO/ForkPoolWorker-2] Task mailer.send_order_confirmation[7c1e0a9e] \
succeeded in 1.77s: None"
echo "[$(at 2256),305: WARNING/MainProcess] consumer: Connection to broker lost. Trying to \
re-establish the connection..."
n=1
t=2256
while [ $n -le 8 ]; do
  wait=$(( n < 8 ? n * 4 : 32 ))
  echo "[$(at $t),311: ERROR/MainProcess] consumer: Cannot connect to {url}: {refusal}."
  echo "Trying again in $wait.00 seconds... ($n/100)"
  t=$(( t + wait ))
  n=$(( n + 1 ))
done
while :; do
  echo "[$(date -u '+%F %T'),311: ERROR/MainProcess] consumer: Cannot connect to {url}: \
{refusal}."
  echo "Trying again in 32.00 seconds... ($n/100)"
  n=$(( n + 1 ))
  sleep 32
done
"""


def make(env):  # type: ignore[no-untyped-def]
    server = env.own_redis("cache")
    client = server.client()
    for index in range(40):
        client.set(f"session:{52000 + index}", f'{{"customer_id": {3100 + index}}}', ex=86400)
    client.close()
    server.require_password(PASSWORD)
    refusal = redis_refusal(server)
    url = f"redis://{server.address}/0"
    mailer = env.container(
        "mailer",
        MAILER.format(url=url, refusal=refusal),
        env={
            "CELERY_BROKER_URL": url,
            "CELERY_RESULT_BACKEND": url,
            "SMTP_HOST": "smtp.shop.internal",
            "SMTP_PORT": "587",
            "MAIL_FROM": "orders@shop.example",
        },
        restart_policy={"Name": "unless-stopped"},
    )
    f.until(
        lambda: f.state(mailer)["Status"] == "running" and b"(9/100)" in mailer.logs(tail=4),
        what="mailer retrying its broker",
    )
    tail = mailer.logs(tail=4).decode().splitlines()
    env.values["mailer_log"] = "\n".join(f"mailer-1  | {line}" for line in tail)


SCENARIO = Scenario(
    symptom=(
        "no order confirmation emails have gone out for the last few minutes. the mailer "
        "container is up but its logs are full of this:\n"
        "$ docker compose logs --tail 4 mailer\n"
        "{mailer_log}"
    ),
    style="paste",
    kind="redis",
    cascade=True,
    expected=(
        "the cache Redis now requires a password (requirepass, set by today's hardening) that "
        "the mailer's broker URL does not give: every connection is refused (NOAUTH), so the "
        "mailer cannot fetch its tasks"
    ),
    accept=(("redis-connection-errors", "redis-unreachable"),),
    about="cache",
    make=make,
)
