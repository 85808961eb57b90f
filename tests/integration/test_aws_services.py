"""The ecs provider's checks and actions on the services around ECS, against the moto server.

Aurora, Secrets Manager (no value ever shown), ACM, IAM, CloudWatch and SNS. A subscription
pending confirmation, which moto cannot produce, is set on its backend objects.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from providers.base import ConfirmationRequired
from providers.contract import CheckStatus
from providers.ecs_provider import EcsProvider
from tests.integration import aws_checks
from tests.integration.aws_checks import SECRET_VALUE, run
from tests.servers.moto_server import SECRET_ARN, MotoAws

pytestmark = pytest.mark.integration
provider = aws_checks.ecs_provider  # the fixture, under the name the tests use


async def test_rds_cluster_stopped_then_started(aws: MotoAws, provider: EcsProvider) -> None:
    rds = aws.client("rds")
    rds.create_db_cluster(
        DBClusterIdentifier="shop-prod",
        Engine="aurora-postgresql",
        MasterUsername="shop",
        MasterUserPassword=SECRET_VALUE,
    )
    healthy = await run(provider, "rds.cluster_status", cluster="shop-prod")
    assert healthy.status is CheckStatus.PASS, healthy.summary
    assert healthy.facts["writer_endpoint"].startswith("shop-prod.cluster-")
    assert healthy.facts["reader_endpoint"].startswith("shop-prod.cluster-ro-")
    rds.stop_db_cluster(DBClusterIdentifier="shop-prod")
    stopped = await run(provider, "rds.cluster_status", cluster="shop-prod")
    assert stopped.status is CheckStatus.FAIL
    assert stopped.facts["status"] == "stopped" and stopped.facts["not_available"] == ["shop-prod"]
    plan = await provider.plan_action("rds.start_cluster", {"cluster": "shop-prod"})
    assert not plan.preview.destructive and "now stopped" in plan.preview.summary
    # Not destructive: the cluster it starts, never a bare yes.
    assert plan.confirmation_word() == "shop-prod"
    for wrong in (None, "yes"):
        with pytest.raises(ConfirmationRequired, match="type 'shop-prod' to run it"):
            await provider.run_action(plan, confirmation=wrong)
    still = await run(provider, "rds.cluster_status", cluster="shop-prod")
    assert still.facts["status"] == "stopped"
    outcome = await provider.run_action(plan, confirmation="shop-prod")
    assert outcome.ok, outcome.summary
    after = await run(provider, "rds.cluster_status", cluster="shop-prod")
    assert after.facts["status"] != "stopped"


async def test_secret_state_scheduled_missing_present(aws: MotoAws, provider: EcsProvider) -> None:
    sm = aws.client("secretsmanager")
    for name in ("shop/prod/app-secrets", "shop/prod/api-keys"):
        sm.create_secret(Name=name, SecretString=SECRET_VALUE)
    sm.delete_secret(SecretId="shop/prod/api-keys", RecoveryWindowInDays=30)
    names = "shop/prod/app-secrets,shop/prod/api-keys,shop/prod/database-password"
    result = await run(provider, "secretsmanager.secret_state", secrets=names)
    assert result.status is CheckStatus.FAIL
    assert result.facts["states"] == {
        "shop/prod/app-secrets": "present",
        "shop/prod/api-keys": "scheduled_for_deletion",
        "shop/prod/database-password": "missing",
    }
    assert result.facts["scheduled_for_deletion"] == ["shop/prod/api-keys"]
    present = await run(provider, "secretsmanager.secret_state", secrets="shop/prod/app-secrets")
    assert present.status is CheckStatus.PASS and present.facts["missing"] == []


async def test_secret_state_of_a_service_checks_the_secrets_its_task_definition_reads(
    aws: MotoAws, provider: EcsProvider
) -> None:
    stack = aws.ecs_stack()
    service = {"cluster": stack.cluster, "service": stack.service}
    never_made = await run(provider, "secretsmanager.secret_state", **service)
    assert never_made.status is CheckStatus.FAIL
    assert never_made.facts["missing"] == [SECRET_ARN]

    name = SECRET_ARN.split(":secret:")[1].rsplit("-", 1)[0]
    sm = aws.client("secretsmanager")
    sm.create_secret(Name=name, SecretString=SECRET_VALUE)
    aws.backend("secretsmanager").secrets[name].arn = SECRET_ARN  # the ARN the service names
    present = await run(provider, "secretsmanager.secret_state", **service)
    assert present.status is CheckStatus.PASS, present.summary
    assert present.facts["states"] == {SECRET_ARN: "present"}

    sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    marked = await run(provider, "secretsmanager.secret_state", **service)
    assert marked.status is CheckStatus.FAIL
    assert marked.facts["scheduled_for_deletion"] == [SECRET_ARN]
    assert SECRET_VALUE not in f"{marked.summary} {marked.evidence}"

    with pytest.raises(ValueError, match="give secrets, or cluster and service"):
        await provider.secret_state({"secrets": ""})


async def test_force_delete_secret_needs_the_target_and_its_name_typed(
    aws: MotoAws, provider: EcsProvider
) -> None:
    sm = aws.client("secretsmanager")
    sm.create_secret(Name="shop/prod/api-keys", SecretString=SECRET_VALUE)
    sm.delete_secret(SecretId="shop/prod/api-keys", RecoveryWindowInDays=30)
    plan = await provider.plan_action(
        "secretsmanager.force_delete_secret", {"secret": "shop/prod/api-keys"}
    )
    assert plan.preview.destructive and plan.preview.target == "shop/prod/api-keys"
    assert "scheduled for deletion" in plan.preview.summary
    assert SECRET_VALUE not in plan.preview.summary
    # Destructive: the target's name with the secret's; the bare secret name is not enough.
    word = "prod/shop/prod/api-keys"
    assert plan.confirmation_word() == word
    for wrong in (None, "yes", "shop/prod/api-keys", "staging/shop/prod/api-keys"):
        with pytest.raises(ConfirmationRequired, match=f"type '{word}' to run it"):
            await provider.run_action(plan, confirmation=wrong)
    kept = await run(provider, "secretsmanager.secret_state", secrets="shop/prod/api-keys")
    assert kept.facts["states"] == {"shop/prod/api-keys": "scheduled_for_deletion"}
    outcome = await provider.run_action(plan, confirmation=word)
    assert outcome.ok, outcome.summary
    gone = await run(provider, "secretsmanager.secret_state", secrets="shop/prod/api-keys")
    assert gone.status is CheckStatus.FAIL and gone.facts["missing"] == ["shop/prod/api-keys"]


async def test_acm_pending_validation_lists_cname_records(
    aws: MotoAws, provider: EcsProvider
) -> None:
    acm = aws.client("acm")
    arn = acm.request_certificate(DomainName="shop.example.com", ValidationMethod="DNS")[
        "CertificateArn"
    ]
    result = await run(provider, "acm.pending_validation")
    assert result.status is CheckStatus.FAIL
    assert result.facts["count"] == 1 and result.facts["domains"] == ["shop.example.com"]
    (record,) = result.facts["records"]
    assert record["type"] == "CNAME" and record["name"].endswith(".shop.example.com.")
    assert record["value"].endswith(".acm-validations.aws.")
    assert result.facts["pending"][0]["arn"] == arn
    other = await run(provider, "acm.pending_validation", domain="other.example.com")
    assert other.status is CheckStatus.PASS and other.facts["count"] == 0


async def test_iam_role_allows_for_execution_and_task_roles(
    aws: MotoAws, provider: EcsProvider
) -> None:
    aws.ecs_stack(desired=1, running=1)
    aws.role(
        "shop-prod-api-execution",
        [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}],
    )
    aws.role(
        "shop-prod-api-task",
        [
            {"Effect": "Allow", "Action": "connect:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "connect:ListUsers", "Resource": "*"},
        ],
    )
    service = {"cluster": "shop-prod", "service": "shop-prod-api"}
    execution = await run(
        provider,
        "iam.role_allows",
        action="secretsmanager:GetSecretValue",
        which="execution",
        **service,
    )
    assert execution.status is CheckStatus.PASS, execution.summary
    assert execution.facts["role"] == "shop-prod-api-execution"
    assert execution.facts["allowed"] is True
    assert execution.facts["deciding_policies"] == ["shop-prod-api-execution-inline"]
    task = await run(
        provider, "iam.role_allows", action="connect:ListUsers", which="task", **service
    )
    assert task.status is CheckStatus.FAIL
    assert task.facts["decision"] == "explicitDeny" and task.facts["allowed"] is False
    missing = await run(
        provider, "iam.role_allows", action="kinesisvideo:GetMedia", role="shop-prod-api-task"
    )
    assert missing.status is CheckStatus.FAIL and missing.facts["decision"] == "implicitDeny"


@pytest.mark.parametrize("granted", ["the task's secret", "another secret"])
async def test_an_execution_role_is_asked_about_the_secrets_its_tasks_name(
    aws: MotoAws, provider: EcsProvider, granted: str
) -> None:
    """Roles are given secrets by ARN: one that may read exactly its tasks' secret may read
    what it needs, though not "*"; one given another secret may not."""
    aws.ecs_stack(desired=1, running=1)
    other = SECRET_ARN.replace("shop/prod/db-AbCdEf", "shop/prod/search-XyZ123")
    resource = SECRET_ARN if granted == "the task's secret" else other
    aws.role(
        "shop-prod-api-execution",
        [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": resource}],
    )
    result = await run(
        provider,
        "iam.role_allows",
        action="secretsmanager:GetSecretValue",
        which="execution",
        cluster="shop-prod",
        service="shop-prod-api",
    )
    assert result.facts["resources"] == [SECRET_ARN], result.facts
    if granted == "the task's secret":
        assert result.status is CheckStatus.PASS and result.facts["allowed"] is True, result.summary
    else:
        assert result.status is CheckStatus.FAIL and result.facts["allowed"] is False
        assert result.facts["refused_resources"] == [SECRET_ARN]


async def test_cloudwatch_alarms_in_alarm_and_muted(aws: MotoAws, provider: EcsProvider) -> None:
    cw = aws.client("cloudwatch")
    for name in ("shop-prod-ecs-cpu-high", "shop-prod-alb-5xx", "shop-prod-db-cpu"):
        cw.put_metric_alarm(
            AlarmName=name,
            MetricName="CPUUtilization",
            Namespace="AWS/ECS",
            Statistic="Average",
            Period=60,
            EvaluationPeriods=1,
            Threshold=80.0,
            ComparisonOperator="GreaterThanThreshold",
        )
    cw.set_alarm_state(
        AlarmName="shop-prod-ecs-cpu-high",
        StateValue="ALARM",
        StateReason="Threshold Crossed: 1 datapoint [97.5] was greater than 80.0",
    )
    cw.disable_alarm_actions(AlarmNames=["shop-prod-db-cpu"])
    result = await run(provider, "cloudwatch.alarms", prefix="shop-prod")
    assert result.status is CheckStatus.FAIL
    assert result.facts["in_alarm"] == ["shop-prod-ecs-cpu-high"]
    assert result.facts["actions_disabled"] == ["shop-prod-db-cpu"]
    assert "97.5" in result.facts["reasons"]["shop-prod-ecs-cpu-high"]
    cw.set_alarm_state(AlarmName="shop-prod-ecs-cpu-high", StateValue="OK", StateReason="ok")
    muted = await run(provider, "cloudwatch.alarms", prefix="shop-prod")
    assert muted.status is CheckStatus.WARN and muted.facts["in_alarm"] == []


async def test_cloudwatch_service_metrics_last_hour(aws: MotoAws, provider: EcsProvider) -> None:
    cw = aws.client("cloudwatch")
    now = datetime.now(UTC)
    dims = [
        {"Name": "ClusterName", "Value": "shop-prod"},
        {"Name": "ServiceName", "Value": "shop-prod-api"},
    ]
    data = []
    for minutes, cpu, memory in ((30, 40.0, 70.0), (20, 60.0, 92.0), (10, 50.0, 80.0)):
        at = now - timedelta(minutes=minutes)
        data.append(
            {"MetricName": "CPUUtilization", "Dimensions": dims, "Timestamp": at, "Value": cpu}
        )
        data.append(
            {
                "MetricName": "MemoryUtilization",
                "Dimensions": dims,
                "Timestamp": at,
                "Value": memory,
            }
        )
    cw.put_metric_data(Namespace="AWS/ECS", MetricData=data)
    lb_dim = [{"Name": "LoadBalancer", "Value": "app/shop-alb/0123456789abcdef"}]
    cw.put_metric_data(
        Namespace="AWS/ApplicationELB",
        MetricData=[
            {
                "MetricName": "TargetResponseTime",
                "Dimensions": lb_dim,
                "Timestamp": now - timedelta(minutes=5),
                "Value": 0.25,
            }
        ],
    )
    result = await run(
        provider,
        "cloudwatch.service_metrics",
        cluster="shop-prod",
        service="shop-prod-api",
        load_balancer="app/shop-alb/0123456789abcdef",
    )
    assert result.status is CheckStatus.WARN  # memory max 92% > 85%
    assert (result.facts["cpu_avg"], result.facts["cpu_max"]) == (50.0, 60.0)
    assert result.facts["memory_max"] == 92.0
    assert result.facts["response_time_max"] == 0.25
    assert "memory max 92%" in result.summary


async def test_sns_pending_subscriptions(aws: MotoAws, provider: EcsProvider) -> None:
    sns = aws.client("sns")
    topic = sns.create_topic(Name="shop-prod-alarms")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="oncall@example.com")
    confirmed = await run(provider, "sns.pending_subscriptions", topic=topic)
    assert confirmed.status is CheckStatus.PASS and confirmed.facts["confirmed_count"] == 1
    backend = aws.backend("sns")
    (subscription,) = backend.subscriptions.values()
    subscription.arn = "PendingConfirmation"
    backend.subscriptions = {"PendingConfirmation": subscription}
    pending = await run(provider, "sns.pending_subscriptions")
    assert pending.status is CheckStatus.WARN
    assert pending.facts["pending"] == [
        {"topic": "shop-prod-alarms", "protocol": "email", "endpoint": "oncall@example.com"}
    ]
