"""The compose service `crm-sync` pushes each new shop customer to HubSpot every minute, with the
token of the private app "shop-crm-sync". Yesterday afternoon HubSpot's super admin did the
quarterly access review and trimmed the private apps' scopes; taking "shop-crm-sync" for the
marketing team's company-enrichment app, they left it the companies scopes and removed its
contacts ones. The token is still valid; every contacts call made with it now gets 403
MISSING_SCOPES. crm-sync keeps running, logs the failure and tries again the next minute, so
`docker compose ps` shows it up; no new customer has reached HubSpot since. The inventory lists
the CRM API as the http target `hubspot` (a contacts GET with the same token). The operator has
only what the sales team says."""

from bench.diagnosis import faults_aws_compose as f
from bench.diagnosis.faults_heldout5 import crm_api, until
from bench.diagnosis.scenario import Scenario

TOKEN = "pat-na1-6f1c2b9e-4d3a-4b8e-9c7f-2a5e8d1b3c40"
TRIMMED = {"crm.objects.companies.read", "crm.objects.companies.write", "oauth"}

# Every minute (here: every 2 s), the customers created since the last run go to HubSpot.
SYNC = """
n=118300
echo "$(date -u '+%F %T'),004 INFO crm_sync: starting crm-sync 1.6.2 (batch 100, every 60s)"
echo "$(date -u '+%F %T'),011 INFO crm_sync.db: reading new customers from orders-db"
while true; do
  n=$((n + 3))
  echo "$(date -u '+%F %T'),102 INFO crm_sync.push: 3 new customers since last run \
(ids $((n - 2))..$n)"
  if wget -q -O /tmp/answer --header "Authorization: Bearer $HUBSPOT_API_KEY" \
      --header "Content-Type: application/json" \
      --post-data '{"inputs": [{"idProperty": "email", "id": "c'$n'@shop.test"}]}' \
      "$HUBSPOT_API_URL/crm/v3/objects/contacts/batch/upsert" 2>/tmp/error; then
    echo "$(date -u '+%F %T'),388 INFO crm_sync.push: upserted 3 contacts"
  else
    echo "$(date -u '+%F %T'),391 ERROR crm_sync.push: batch upsert failed: $(cat /tmp/error)"
    echo "$(date -u '+%F %T'),392 WARNING crm_sync: 3 customers left for the next run"
  fi
  sleep 2
done
"""


def make(env):  # type: ignore[no-untyped-def]
    api = crm_api(env, {TOKEN: TRIMMED})
    base = f"http://127.0.0.1:{api.port}"
    env.shell["HUBSPOT_API_KEY"] = TOKEN
    env.targets["hubspot"] = {
        "kind": "http",
        "name": "hubspot",
        "url": f"{base}/crm/v3/objects/contacts?limit=1",
        "options": {"headers": {"Authorization": {"env": "HUBSPOT_API_KEY", "prefix": "Bearer "}}},
    }
    sync = env.container(
        "crm-sync",
        SYNC,
        env={
            "HUBSPOT_API_URL": base,
            "HUBSPOT_API_KEY": TOKEN,
            "DATABASE_URL": env.targets["orders-db"]["url"],
        },
    )
    until(
        lambda: (
            sum(1 for _, _, status in api.seen if status == 403) >= 2
            and b"batch upsert failed" in sync.logs()
        ),
        30,
        "crm-sync refused twice by the CRM API",
    )
    if any(status != 403 for _, _, status in api.seen):
        raise AssertionError(f"the CRM API answered otherwise: {api.seen}")
    if f.state(sync)["Status"] != "running":
        raise AssertionError("crm-sync is not running")


SCENARIO = Scenario(
    symptom=(
        "sales says new customers stopped showing up in HubSpot since yesterday afternoon. "
        "crm-sync is up in docker compose ps and nobody deployed it. what's going on?"
    ),
    style="vague",
    kind="http",
    cascade=True,
    expected=(
        "HubSpot refuses crm-sync's calls: the private app's token no longer has the contacts "
        "scopes (removed in the access review), so every contacts call gets 403 MISSING_SCOPES"
    ),
    accept=(("api-crm-sync", "missing-scopes"),),
    about="hubspot",
    make=make,
)
