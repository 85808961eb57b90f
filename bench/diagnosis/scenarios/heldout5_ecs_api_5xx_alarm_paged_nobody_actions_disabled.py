"""Last Tuesday's database maintenance muted the api's alarms for its window the way the
maintenance runbook says (`aws cloudwatch disable-alarm-actions`), and the step that enables them
again was skipped when the window ran late. Last night, shortly after two, a bad batch of
product images made the api answer 5xx for about half an hour: the load balancer counted
hundreds a minute, the 5xx alarm went to ALARM and, a half hour later, back to OK, and nobody
was woken: an alarm whose actions are disabled changes state without notifying its topic. The
topic and its pager subscription are fine (the CPU and task-count alarms still notify it). The
api itself is healthy again this morning. The operator asks why no one was paged."""

from bench.diagnosis import faults_aws_compose as f
from bench.diagnosis.faults_heldout5 import (
    alarm_state,
    described_alarm,
    metric_points,
    oncall_alarm,
)
from bench.diagnosis.scenario import Scenario

ALARM = "shop-prod-api-5xx-high"
LB = "app/shop-alb/50dc6c495c0c9188"


def make(env):  # type: ignore[no-untyped-def]
    stack = f.ecs_service(env)
    f.secret_readable(stack)
    aws = stack.aws
    service = {"ClusterName": f.CLUSTER, "ServiceName": f.ECS_SERVICE}
    oncall_alarm(
        aws,
        "shop-prod-api-cpu-high",
        namespace="AWS/ECS",
        metric="CPUUtilization",
        dimensions=service,
        comparison="GreaterThanThreshold",
        threshold=85,
    )
    oncall_alarm(
        aws,
        "shop-prod-api-running-tasks-low",
        namespace="ECS/ContainerInsights",
        metric="RunningTaskCount",
        dimensions=service,
        comparison="LessThanThreshold",
        threshold=2,
        statistic="Minimum",
    )
    oncall_alarm(
        aws,
        ALARM,
        namespace="AWS/ApplicationELB",
        metric="HTTPCode_Target_5XX_Count",
        dimensions={"LoadBalancer": LB},
        comparison="GreaterThanThreshold",
        threshold=50,
        statistic="Sum",
    )
    # The maintenance window's first step; its last one (enable-alarm-actions) never ran.
    aws.client("cloudwatch").disable_alarm_actions(AlarmNames=[ALARM])
    # Last night's half hour of 5xx, seven hours ago, and the alarm's way through it.
    metric_points(
        aws,
        "AWS/ApplicationELB",
        "HTTPCode_Target_5XX_Count",
        {"LoadBalancer": LB},
        [3, 2, 188, 412, 506, 498, 521, 477, 530, 489, 512, 467, 390, 122, 4, 1],
        ending_minutes_ago=7 * 60,
    )
    alarm_state(
        aws,
        ALARM,
        "ALARM",
        "Threshold Crossed: 3 out of the last 3 datapoints [506.0, 412.0, 188.0] were greater "
        "than the threshold (50.0) (minimum 3 datapoints for OK -> ALARM transition).",
    )
    alarm_state(
        aws,
        ALARM,
        "OK",
        "Threshold Crossed: 3 out of the last 3 datapoints [1.0, 4.0, 122.0] were not greater "
        "than the threshold (50.0) (minimum 3 datapoints for ALARM -> OK transition).",
    )
    muted = described_alarm(aws, ALARM)
    if muted["ActionsEnabled"] or muted["StateValue"] != "OK":
        raise AssertionError(f"{ALARM}: {muted['ActionsEnabled']=} {muted['StateValue']=}")
    for other in ("shop-prod-api-cpu-high", "shop-prod-api-running-tasks-low"):
        if not described_alarm(aws, other)["ActionsEnabled"]:
            raise AssertionError(f"{other} does not notify")
    f.service_metrics(
        stack,
        cpu=[31, 30, 33, 29, 32, 30, 31, 34, 30, 29],
        memory=[48, 48, 49, 48, 49, 49, 50, 49, 49, 50],
    )


SCENARIO = Scenario(
    symptom=(
        "the api was throwing 500s for ~30 min around 2am, you can see it on the ALB graph, "
        "and the 5xx alarm history shows it went red and back. but PagerDuty never called "
        "anyone, the on-call phone was silent all night. why didn't we get woken up?"
    ),
    style="question",
    kind="ecs",
    expected=(
        "the 5xx alarm's actions are disabled (muted for last Tuesday's maintenance and never "
        "enabled again): it went to ALARM and back without notifying the on-call topic"
    ),
    accept=(("aws-cloudwatch-alarms", "alarm-actions-disabled"),),
    make=make,
)
