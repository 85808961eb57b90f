"""A scraper hammered the storefront last night, so this morning the security team added a
rate-based rule to the storefront's web ACL: 100 requests per 5 minutes per source address, then
block. The team's uptime checks, the office, the internal tools and triage itself all leave
through the office's single NAT address, which goes over that within minutes of a normal
working morning: from there, every request to the storefront is answered 403 Forbidden by the
load balancer (the WAF's default block page, `Server: awselb/2.0`), never reaching the app.
Customers, each from their own address, see the shop as usual. The WAF's blocked-requests alarm
is in ALARM. Nobody told the on-call. The operator describes it."""

from bench.diagnosis import faults_aws_compose as f
from bench.diagnosis.faults_heldout4 import fetch
from bench.diagnosis.faults_heldout5 import alarm_state, metric_points, oncall_alarm
from bench.diagnosis.faults_stores import own_http
from bench.diagnosis.scenario import Scenario
from tests.servers.http import Route

BLOCKED = (
    "<html>\r\n<head><title>403 Forbidden</title></head>\r\n<body>\r\n"
    "<center><h1>403 Forbidden</h1></center>\r\n</body>\r\n</html>\r\n"
)
ALARM = "shop-prod-storefront-waf-blocked-requests"
WAF = {"WebACL": "shop-storefront", "Region": "us-east-1", "Rule": "ALL"}


def make(env):  # type: ignore[no-untyped-def]
    block = Route(403, BLOCKED, headers={"Server": "awselb/2.0", "Content-Type": "text/html"})
    server = own_http(env, {"/health": block, "/": block, "/products": block})
    status, body = fetch(server.url("/health"))
    if status != 403 or "403 Forbidden" not in body:
        raise AssertionError(f"the storefront answered {status}")
    stack = f.ecs_service(env)  # the AWS account, moto put back after the scenario
    oncall_alarm(
        stack.aws,
        ALARM,
        namespace="AWS/WAFV2",
        metric="BlockedRequests",
        dimensions=WAF,
        comparison="GreaterThanThreshold",
        threshold=500,
        statistic="Sum",
        periods=1,
    )
    blocked = [0, 0, 2, 0, 1, 0, 0, 212, 386, 402, 377, 415, 398, 421, 409, 393]
    metric_points(stack.aws, "AWS/WAFV2", "BlockedRequests", WAF, blocked, ending_minutes_ago=1)
    alarm_state(
        stack.aws,
        ALARM,
        "ALARM",
        "Threshold Crossed: 1 out of the last 1 datapoints [1612.0] was greater than the "
        "threshold (500.0) (minimum 1 datapoint for OK -> ALARM transition).",
    )


SCENARIO = Scenario(
    symptom=(
        "the status page has shown the storefront as down since about 10 this morning, every "
        "check comes back 403. I get the same from my laptop in the office, but on my phone "
        "over 4G the shop loads fine and orders are coming in. nobody deployed the storefront "
        "today. what's going on?"
    ),
    style="vague",
    kind="http",
    expected=(
        "the storefront's WAF blocks the office's address: this morning's rate-based rule "
        "(100 requests per 5 minutes per IP) is exceeded by the checks and tools that share the "
        "office NAT, so the load balancer answers them 403 (blocked-requests alarm in ALARM)"
    ),
    accept=(
        ("aws-waf-blocking-requests", "request-forbidden"),
        ("aws-waf-blocking-requests", "waf-alarm-firing"),
    ),
    about="storefront",
    make=make,
)
