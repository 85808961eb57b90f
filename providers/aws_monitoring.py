"""Around ECS, permissions and monitoring: IAM role policies, CloudWatch alarms and metrics, SNS."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from providers.aws_policy import evaluate
from providers.aws_session import AwsSession, arn_name
from providers.base import Finding, check
from providers.contract import CheckStatus, ParamSpec, utc_now


def secrets_named(definition: Mapping[str, Any]) -> list[str]:
    """The Secrets Manager secrets a task definition's containers take values from, as the
    ARNs a policy names them by (`...:secret:shop/prod/db-AbCdEf`, without a `:key::` suffix)."""
    found: list[str] = []
    for container in definition.get("containerDefinitions") or []:
        for secret in container.get("secrets") or []:
            value = str(secret.get("valueFrom", ""))
            if value.startswith("arn:aws:secretsmanager:"):
                arn = ":".join(value.split(":")[:7])
                if arn not in found:
                    found.append(arn)
    return found


class AwsMonitoring(AwsSession):
    """Mixed into the ecs provider."""

    async def _role_name(self, params: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
        """The role, and the task definition it was read from (empty when named directly)."""
        if params.get("role"):
            return arn_name(str(params["role"])), {}
        if not (params.get("cluster") and params.get("service")):
            raise ValueError("give role, or cluster and service (and which: execution or task)")
        answer = await self.aws(
            "ecs", "describe_services", cluster=params["cluster"], services=[params["service"]]
        )
        definition = await self.aws(
            "ecs",
            "describe_task_definition",
            taskDefinition=answer["services"][0]["taskDefinition"],
        )
        key = "executionRoleArn" if params.get("which") == "execution" else "taskRoleArn"
        arn = definition["taskDefinition"].get(key)
        if not arn:
            raise LookupError(f"the task definition has no {key}")
        return arn_name(str(arn)), definition["taskDefinition"]

    async def _role_policies(self, role: str) -> dict[str, Any]:
        policies: dict[str, Any] = {}
        for name in await self.aws_pages("iam", "list_role_policies", "PolicyNames", RoleName=role):
            got = await self.aws("iam", "get_role_policy", RoleName=role, PolicyName=name)
            policies[name] = got["PolicyDocument"]
        attached = await self.aws_pages(
            "iam", "list_attached_role_policies", "AttachedPolicies", RoleName=role
        )
        for policy in attached:
            meta = await self.aws("iam", "get_policy", PolicyArn=policy["PolicyArn"])
            version = await self.aws(
                "iam",
                "get_policy_version",
                PolicyArn=policy["PolicyArn"],
                VersionId=meta["Policy"]["DefaultVersionId"],
            )
            policies[policy["PolicyName"]] = version["PolicyVersion"]["Document"]
        return policies

    @check(
        "iam.role_allows",
        "An IAM role's policies allow an action",
        "Whether a role (or a service's execution or task role) may perform an action: "
        "secretsmanager:GetSecretValue for the execution role, connect:ListUsers for the task "
        "role. Uses SimulatePrincipalPolicy, else evaluates the role's policy documents.",
        applies_to=("ecs.service", "aws.account"),
        params={
            "action": ParamSpec(
                "IAM action, e.g. secretsmanager:GetSecretValue", str, required=True
            ),
            "resource": ParamSpec("Resource ARN", str, "*"),
            "role": ParamSpec("Role name or ARN", str),
            "cluster": ParamSpec("ECS cluster, to take the role from a service", str),
            "service": ParamSpec("ECS service, to take the role from its task definition", str),
            "which": ParamSpec("execution or task: which role of the service", str, "task"),
        },
    )
    async def role_allows(self, params: Mapping[str, Any]) -> Finding:
        role, definition = await self._role_name(params)
        action, resource = str(params["action"]), str(params["resource"] or "*")
        # A role is given the secrets it needs, by ARN: asked about "*", it is refused even
        # though it may read every secret its tasks name. Those are what it must read.
        named = secrets_named(definition) if action.startswith("secretsmanager:") else []
        resources = named if resource == "*" and named else [resource]
        arn = (await self.aws("iam", "get_role", RoleName=role))["Role"]["Arn"]
        policies = await self._role_policies(role)
        decided = {each: await self._decide(arn, policies, action, each) for each in resources}
        refused = [each for each, answer in decided.items() if answer[0] != "allowed"]
        # The answer for the first resource refused, else for the first: all must be allowed.
        decision, _, _, method, simulate_error = decided[(refused or resources)[0]]
        deciding = sorted({name for answer in decided.values() for name in answer[1]})
        conditional = any(answer[2] for answer in decided.values())
        resource = ", ".join(resources)
        allowed = not refused
        facts = {
            "role": role,
            "role_arn": arn,
            "action": action,
            "resource": resource,
            "resources": resources,
            "refused_resources": refused,
            "allowed": allowed,
            "decision": decision,
            "deciding_policies": deciding,
            "policies": sorted(policies),
            "conditional": conditional,
            "method": method,
            "simulate_error": simulate_error,
        }
        evidence = (
            f"role {arn}: policies {', '.join(sorted(policies)) or 'none'}",
            f"{action} on {resource}: {decision} ({method})"
            + (f" by {', '.join(deciding)}" if deciding else ""),
        )
        if allowed:
            note = " (with conditions)" if conditional else ""
            return Finding(CheckStatus.PASS, f"{role} may {action}{note}", facts, evidence)
        why = "explicitly denied" if decision == "explicitDeny" else "not allowed by any policy"
        return Finding(CheckStatus.FAIL, f"{role} may not {action}: {why}", facts, evidence)

    async def _decide(
        self, arn: str, policies: Mapping[str, Any], action: str, resource: str
    ) -> tuple[str, list[str], bool, str, str]:
        """(decision, deciding policies, conditional, how it was decided, why the simulation
        could not be used) for one action on one resource: SimulatePrincipalPolicy, else the
        role's own policy documents."""
        try:
            answer = await self.aws(
                "iam",
                "simulate_principal_policy",
                PolicySourceArn=arn,
                ActionNames=[action],
                ResourceArns=[resource],
            )
        except Exception as error:  # not permitted, or not offered: read the documents
            simulate_error = self.describe_aws_error(error) or type(error).__name__
            decision, deciding, conditional = evaluate(policies, action, resource)
            return decision, deciding, conditional, "policy documents", simulate_error
        result = answer["EvaluationResults"][0]
        deciding = [str(s.get("SourcePolicyId")) for s in result.get("MatchedStatements", [])]
        return str(result["EvalDecision"]), deciding, False, "simulate_principal_policy", ""

    @check(
        "cloudwatch.alarms",
        "CloudWatch alarms in ALARM, and alarms with actions disabled",
        "Alarms now in ALARM (with their reason) and alarms whose actions are disabled, so "
        "nobody is notified (aws cloudwatch describe-alarms).",
        applies_to=("aws.account",),
        params={"prefix": ParamSpec("Only alarms whose name starts with this", str)},
    )
    async def alarms(self, params: Mapping[str, Any]) -> Finding:
        query = {"AlarmNamePrefix": params["prefix"]} if params.get("prefix") else {}
        alarms = await self.aws_pages("cloudwatch", "describe_alarms", "MetricAlarms", **query)
        firing = [a for a in alarms if a.get("StateValue") == "ALARM"]
        muted = [a["AlarmName"] for a in alarms if not a.get("ActionsEnabled", True)]
        facts = {
            "in_alarm": [a["AlarmName"] for a in firing],
            "actions_disabled": muted,
            "insufficient_data": [
                a["AlarmName"] for a in alarms if a.get("StateValue") == "INSUFFICIENT_DATA"
            ],
            "total": len(alarms),
            "reasons": {a["AlarmName"]: a.get("StateReason", "") for a in firing},
        }
        evidence = tuple(
            [
                f"ALARM {a['AlarmName']} ({a.get('Namespace')} {a.get('MetricName')}): "
                f"{a.get('StateReason', '')}"
                for a in firing
            ]
            + [f"actions disabled: {name}" for name in muted]
        )
        if firing:
            summary = f"{len(firing)} alarms in ALARM: {', '.join(a['AlarmName'] for a in firing)}"
            if muted:
                summary = f"{summary}; {len(muted)} with actions disabled"
            return Finding(CheckStatus.FAIL, summary, facts, evidence)
        if muted:
            return Finding(
                CheckStatus.WARN,
                f"{len(muted)} alarms have actions disabled: {', '.join(muted)}",
                facts,
                evidence,
            )
        return Finding(CheckStatus.PASS, f"{len(alarms)} alarms, none in ALARM", facts, evidence)

    @check(
        "cloudwatch.service_metrics",
        "ECS service CPU, memory and target response time over the last hour",
        "Average and maximum CPUUtilization and MemoryUtilization of a service (AWS/ECS) and, "
        "given its load balancer, TargetResponseTime (AWS/ApplicationELB).",
        applies_to=("ecs.service",),
        params={
            "cluster": ParamSpec("ECS cluster name", str, required=True),
            "service": ParamSpec("ECS service name", str, required=True),
            "load_balancer": ParamSpec("Load balancer dimension, app/NAME/ID", str),
            "minutes": ParamSpec("How far back", int, 60),
            "warn_percent": ParamSpec("Warn when CPU or memory max is above", float, 85.0),
            "warn_seconds": ParamSpec("Warn when response time max is above", float, 2.0),
        },
    )
    async def service_metrics(self, params: Mapping[str, Any]) -> Finding:
        dims = [
            {"Name": "ClusterName", "Value": params["cluster"]},
            {"Name": "ServiceName", "Value": params["service"]},
        ]
        wanted = {
            ("cpu", "AWS/ECS", "CPUUtilization"): dims,
            ("memory", "AWS/ECS", "MemoryUtilization"): dims,
        }
        if params.get("load_balancer"):
            wanted[("response_time", "AWS/ApplicationELB", "TargetResponseTime")] = [
                {"Name": "LoadBalancer", "Value": params["load_balancer"]}
            ]
        queries = [
            {
                "Id": f"{key}_{stat.lower()}",
                "ReturnData": True,
                "MetricStat": {
                    "Metric": {"Namespace": ns, "MetricName": metric, "Dimensions": d},
                    "Period": 60,
                    "Stat": stat,
                },
            }
            for (key, ns, metric), d in wanted.items()
            for stat in ("Average", "Maximum")
        ]
        end = utc_now()
        answer = await self.aws(
            "cloudwatch",
            "get_metric_data",
            MetricDataQueries=queries,
            StartTime=end - timedelta(minutes=int(params["minutes"])),
            EndTime=end,
        )
        facts: dict[str, Any] = {}
        points = 0
        for series in answer.get("MetricDataResults", []):
            values = [float(v) for v in series.get("Values", [])]
            points += len(values)
            key, stat = series["Id"].rsplit("_", 1)
            agg = (
                (sum(values) / len(values) if stat == "average" else max(values))
                if values
                else None
            )
            facts[f"{key}_{'avg' if stat == 'average' else 'max'}"] = (
                round(agg, 3) if agg is not None else None
            )
        facts["datapoints"] = points
        evidence = tuple(f"{name}: {value}" for name, value in sorted(facts.items()))
        if not points:
            return Finding(
                CheckStatus.WARN,
                f"no datapoints in the last {params['minutes']} minutes (is the service running?)",
                facts,
                evidence,
            )
        hot = [
            f"{k} max {facts[f'{k}_max']:.0f}%"
            for k in ("cpu", "memory")
            if (facts.get(f"{k}_max") or 0) > float(params["warn_percent"])
        ]
        if (facts.get("response_time_max") or 0) > float(params["warn_seconds"]):
            hot.append(f"response time max {facts['response_time_max']:.2f}s")
        summary = (
            f"cpu avg {facts.get('cpu_avg')}% max {facts.get('cpu_max')}%, memory avg "
            f"{facts.get('memory_avg')}% max {facts.get('memory_max')}%"
        )
        if facts.get("response_time_avg") is not None:
            summary = f"{summary}, response time avg {facts['response_time_avg']}s"
        if hot:
            return Finding(CheckStatus.WARN, f"high: {', '.join(hot)}; {summary}", facts, evidence)
        return Finding(CheckStatus.PASS, summary, facts, evidence)

    @check(
        "sns.pending_subscriptions",
        "SNS subscriptions pending confirmation",
        "Subscriptions (of a topic) still PendingConfirmation: their alarms notify nobody "
        "(aws sns list-subscriptions-by-topic).",
        applies_to=("aws.account",),
        params={"topic": ParamSpec("Topic ARN; default: every topic", str)},
    )
    async def pending_subscriptions(self, params: Mapping[str, Any]) -> Finding:
        if params.get("topic"):
            subs = await self.aws_pages(
                "sns", "list_subscriptions_by_topic", "Subscriptions", TopicArn=params["topic"]
            )
        else:
            subs = await self.aws_pages("sns", "list_subscriptions", "Subscriptions")
        pending = [
            {
                "topic": arn_name(s["TopicArn"]),
                "protocol": s.get("Protocol"),
                "endpoint": s.get("Endpoint"),
            }
            for s in subs
            if s.get("SubscriptionArn") == "PendingConfirmation"
        ]
        facts = {
            "pending": pending,
            "pending_count": len(pending),
            "confirmed_count": len(subs) - len(pending),
            "topics": sorted({arn_name(s["TopicArn"]) for s in subs}),
        }
        evidence = tuple(
            f"{p['topic']}: {p['protocol']} {p['endpoint']} PendingConfirmation" for p in pending
        )
        if pending:
            return Finding(
                CheckStatus.WARN,
                f"{len(pending)} subscriptions pending confirmation",
                facts,
                evidence,
            )
        if not subs:
            return Finding(CheckStatus.WARN, "no subscriptions: alarms notify nobody", facts)
        return Finding(CheckStatus.PASS, f"{len(subs)} subscriptions confirmed", facts, evidence)
