"""The storefront team tidied its nginx configuration into one template per site and reloaded
it 47 minutes ago. The template's `listen` line for the storefront's HTTPS port lost its `ssl`
flag: since the reload, the storefront (target `storefront`, https in the inventory as it always
was) speaks plain HTTP on the port where clients expect TLS. Customers do not notice (the CDN
reaches the origin on another listener), but every internal client that calls the storefront
directly over HTTPS fails its handshake. One of them is the compose service `stock-sync`, which
pushes stock levels to the storefront every minute: it keeps running and logs the failure each
time, and the site's stock levels stopped updating. The operator pastes its log."""

from bench.diagnosis import faults_aws_compose as f
from bench.diagnosis.faults_heldout4 import https_to_plain_port
from bench.diagnosis.faults_stores import own_http
from bench.diagnosis.scenario import Scenario
from tests.servers.http import Route

PATH = "/internal/stock-levels"

SYNC = """
at() {{ date -u -d "@$(( $(date +%s) - $1 ))" '+%F %T'; }}
for ago in 3000 2940 2880; do
  echo "$(at $ago),204 INFO stock_sync: pushed 1184 stock levels to {url} (200 OK, 0.41s)"
done
for ago in 2820 2760 2700 2640 2580 2520; do
  echo "$(at $ago),117 ERROR stock_sync: push of 1184 stock levels failed, will retry next run"
  echo "$(at $ago),118 ERROR stock_sync: $(cat /etc/stock-sync/error)"
done
sleep 86400
"""


def make(env):  # type: ignore[no-untyped-def]
    server = own_http(
        env,
        {
            "/health": Route(200, '{"status": "ok"}', headers={"Content-Type": "application/json"}),
            PATH: Route(405, "method not allowed"),
        },
    )
    # The inventory has always named the storefront by its HTTPS address.
    url = f"https://127.0.0.1:{server.port}"
    env.targets["storefront"]["url"] = f"{url}/health"
    refused = https_to_plain_port(server.port, PATH)
    errors = env.folder / "stock-sync-error"
    errors.write_text(refused + "\n")
    sync = env.container(
        "stock-sync",
        SYNC.format(url=url + PATH),
        env={
            "STOREFRONT_URL": url,
            "STOCK_PUSH_PATH": PATH,
            "DATABASE_URL": env.targets["orders-db"]["url"],
            "SYNC_INTERVAL_SECONDS": "60",
        },
        volumes={str(errors): {"bind": "/etc/stock-sync/error", "mode": "ro"}},
        restart_policy={"Name": "unless-stopped"},
    )
    f.until(lambda: sync.logs().count(b"will retry") == 6, what="stock-sync logged its failures")
    tail = sync.logs(tail=4).decode().splitlines()
    env.values["sync_log"] = "\n".join(f"stock-sync-1  | {line}" for line in tail)


SCENARIO = Scenario(
    symptom=(
        "stock levels on the site stopped updating about 45 minutes ago. stock-sync is "
        "Up and hasn't restarted, it just logs this every minute:\n"
        "$ docker compose logs --tail 4 stock-sync\n"
        "{sync_log}"
    ),
    style="paste",
    kind="http",
    cascade=True,
    expected=(
        "the storefront no longer serves TLS on its HTTPS port (its nginx listener lost `ssl` "
        "in the config change and speaks plain HTTP there), so stock-sync's HTTPS "
        "handshake fails (wrong version number)"
    ),
    accept=(("http-tls-certificate", "tls-not-served"),),
    about="storefront",
    make=make,
)
