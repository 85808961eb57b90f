"""The aws family's account-level runbooks on moto (ACM, Secrets Manager, IAM, CloudWatch, SNS,
WAF): each injected fault is ranked first and confirmed; a healthy account confirms nothing."""

from __future__ import annotations

import pytest

from tests.integration.library_aws_common import (
    SERVICE,
    assert_first,
    assert_nothing_confirmed,
    http_target,
    run_runbook,
)
from tests.servers.http import Route, serve_http
from tests.servers.moto_server import MotoAws

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("pending", [True, False], ids=["pending", "healthy"])
async def test_certificate_pending_validation(aws: MotoAws, pending: bool) -> None:
    if pending:
        acm = aws.client("acm")
        acm.request_certificate(DomainName="shop.example.com", ValidationMethod="DNS")
    diagnosis = await run_runbook("aws-certificate-pending-validation", aws)
    if pending:
        assert_first(diagnosis, "validation-records-missing")
        assert any("CNAME" in line for line in diagnosis.results["pending"].evidence)
    else:
        assert_nothing_confirmed(diagnosis)


@pytest.mark.parametrize("scheduled", [True, False], ids=["scheduled", "healthy"])
async def test_secret_scheduled_for_deletion(aws: MotoAws, scheduled: bool) -> None:
    sm = aws.client("secretsmanager")
    sm.create_secret(Name="shop/prod/app-secrets", SecretString="s3cr3t-Value-Never-Shown")
    if scheduled:
        sm.delete_secret(SecretId="shop/prod/app-secrets", RecoveryWindowInDays=30)
    diagnosis = await run_runbook(
        "aws-secret-scheduled-for-deletion", aws, {"secret": "shop/prod/app-secrets"}
    )
    if scheduled:
        assert_first(diagnosis, "scheduled-for-deletion")
        fix = diagnosis.causes[0].cause.fixes[0]
        assert fix.action == "secretsmanager.force_delete_secret"
    else:
        assert_nothing_confirmed(diagnosis)
    assert "Never-Shown" not in repr([r.to_dict() for r in diagnosis.results.values()])


@pytest.mark.parametrize("enabled", [False, True], ids=["denied", "healthy"])
async def test_connect_permission_errors(aws: MotoAws, enabled: bool) -> None:
    aws.ecs_stack(desired=1, running=1)
    statements = [
        {"Effect": "Allow", "Action": ["connect:*", "kinesisvideo:*"], "Resource": "*"},
    ]
    aws.role(f"{SERVICE}-task", statements if enabled else [])
    diagnosis = await run_runbook("aws-connect-permission-errors", aws)
    if enabled:
        assert_nothing_confirmed(diagnosis)
    else:
        assert_first(diagnosis, "connect-not-allowed")
        assert diagnosis.results["connect"].facts["decision"] == "implicitDeny"


def _alarm(aws: MotoAws, name: str) -> None:
    aws.client("cloudwatch").put_metric_alarm(
        AlarmName=name,
        MetricName="CPUUtilization",
        Namespace="AWS/ECS",
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=80.0,
        ComparisonOperator="GreaterThanThreshold",
    )


@pytest.mark.parametrize(
    ("fault", "cause"),
    [
        ("pending", "subscription-pending-confirmation"),
        ("firing", "alarm-firing"),
        (None, None),
    ],
    ids=["pending", "firing", "healthy"],
)
async def test_cloudwatch_alarms(aws: MotoAws, fault: str | None, cause: str | None) -> None:
    sns = aws.client("sns")
    topic = sns.create_topic(Name="shop-prod-alarms")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="oncall@example.com")
    _alarm(aws, "shop-prod-ecs-cpu-high")
    if fault == "pending":
        backend = aws.backend("sns")
        (subscription,) = backend.subscriptions.values()
        subscription.arn = "PendingConfirmation"
        backend.subscriptions = {"PendingConfirmation": subscription}
    if fault == "firing":
        aws.client("cloudwatch").set_alarm_state(
            AlarmName="shop-prod-ecs-cpu-high",
            StateValue="ALARM",
            StateReason="Threshold Crossed: 1 datapoint [81.2] was greater than 80.0",
        )
    diagnosis = await run_runbook("aws-cloudwatch-alarms", aws, {"alarm_prefix": "shop-prod"})
    if cause:
        assert_first(diagnosis, cause)
    else:
        assert_nothing_confirmed(diagnosis)


@pytest.mark.parametrize("status", [403, 200], ids=["forbidden", "healthy"])
async def test_waf_blocking_requests(aws: MotoAws, status: int) -> None:
    with serve_http(
        {"/api/sessions": Route(status, "Forbidden" if status == 403 else "[]")}
    ) as app:
        target = http_target("app", app.url("/api/sessions"))
        diagnosis = await run_runbook("aws-waf-blocking-requests", aws, targets=[target])
    if status == 403:
        assert_first(diagnosis, "request-forbidden")
    else:
        assert_nothing_confirmed(diagnosis)


@pytest.mark.parametrize("allowed", [False, True], ids=["no-permission", "healthy"])
async def test_vpc_flow_logs_missing(aws: MotoAws, allowed: bool) -> None:
    statements = [{"Effect": "Allow", "Action": "logs:*", "Resource": "*"}]
    aws.role("shop-prod-vpc-flow-logs-role", statements if allowed else [])
    diagnosis = await run_runbook(
        "aws-vpc-flow-logs-missing", aws, {"role": "shop-prod-vpc-flow-logs-role"}
    )
    if allowed:
        assert_nothing_confirmed(diagnosis)
    else:
        assert_first(diagnosis, "role-cannot-write-logs")
