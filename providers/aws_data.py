"""Around ECS, what tasks depend on: Aurora/RDS, Secrets Manager (never a value), ACM."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers.aws_monitoring import secrets_named
from providers.aws_session import AwsSession
from providers.base import ActionPlan, Finding, action, check
from providers.contract import ActionOutcome, ActionPreview, CheckStatus, ParamSpec

RDS_FAILING = {
    "stopped",
    "stopping",
    "inaccessible-encryption-credentials",
    "failed",
    "incompatible-parameters",
    "incompatible-restore",
    "storage-full",
}


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return [str(item) for item in value or []]


class AwsData(AwsSession):
    """Mixed into the ecs provider."""

    @check(
        "rds.cluster_status",
        "Aurora/RDS cluster status and endpoints",
        "Cluster status (available, stopped ...), its writer and reader endpoints and members "
        "(aws rds describe-db-clusters).",
        applies_to=("aws.account",),
        params={"cluster": ParamSpec("DB cluster identifier; default: every cluster", str)},
    )
    async def rds_cluster_status(self, params: Mapping[str, Any]) -> Finding:
        query = {"DBClusterIdentifier": params["cluster"]} if params.get("cluster") else {}
        clusters = await self.aws_pages("rds", "describe_db_clusters", "DBClusters", **query)
        entries = []
        for c in clusters:
            members = c.get("DBClusterMembers", [])
            entries.append(
                {
                    "id": c["DBClusterIdentifier"],
                    "status": c.get("Status"),
                    "engine": c.get("Engine"),
                    "engine_mode": c.get("EngineMode"),
                    "writer_endpoint": c.get("Endpoint"),
                    "reader_endpoint": c.get("ReaderEndpoint"),
                    "port": c.get("Port"),
                    "writer": next(
                        (m["DBInstanceIdentifier"] for m in members if m.get("IsClusterWriter")),
                        None,
                    ),
                    "readers": [
                        m["DBInstanceIdentifier"] for m in members if not m.get("IsClusterWriter")
                    ],
                }
            )
        facts: dict[str, Any] = {"clusters": entries}
        if len(entries) == 1:
            facts.update(
                {
                    k: entries[0][k]
                    for k in ("status", "writer_endpoint", "reader_endpoint", "writer", "id")
                }
            )
        facts["not_available"] = [e["id"] for e in entries if e["status"] != "available"]
        evidence = tuple(
            f"{e['id']} {e['engine']} {e['status']}: writer {e['writer_endpoint']}:{e['port']}, "
            f"reader {e['reader_endpoint']}"
            for e in entries
        )
        failing = [e for e in entries if e["status"] in RDS_FAILING]
        if not entries:
            return Finding(CheckStatus.WARN, "no DB clusters found", facts)
        if failing:
            what = ", ".join(f"{e['id']} is {e['status']}" for e in failing)
            return Finding(CheckStatus.FAIL, what, facts, evidence)
        if facts["not_available"]:
            what = ", ".join(
                f"{e['id']} is {e['status']}" for e in entries if e["status"] != "available"
            )
            return Finding(CheckStatus.WARN, what, facts, evidence)
        return Finding(CheckStatus.PASS, f"{len(entries)} clusters available", facts, evidence)

    @action(
        "rds.start_cluster",
        "Start a stopped Aurora/RDS cluster",
        destructive=False,
        params={"cluster": ParamSpec("DB cluster identifier", str, required=True)},
    )
    async def rds_start_cluster(self, params: Mapping[str, Any]) -> ActionPlan:
        ident = str(params["cluster"])
        answer = await self.aws("rds", "describe_db_clusters", DBClusterIdentifier=ident)
        status = answer["DBClusters"][0].get("Status")
        if status != "stopped":
            raise ValueError(f"cluster {ident} is {status}, not stopped; nothing to start")
        preview = ActionPreview(
            action="rds.start_cluster",
            target=ident,
            destructive=False,
            summary=f"start DB cluster {ident} (now {status}); it takes several minutes",
            touches=(ident,),
            counts={"clusters": 1},
        )

        async def apply() -> ActionOutcome:
            started = await self.aws("rds", "start_db_cluster", DBClusterIdentifier=ident)
            now = started["DBCluster"].get("Status")
            return ActionOutcome("rds.start_cluster", ident, True, f"cluster {ident} is {now}")

        return ActionPlan(preview, apply)

    @check(
        "secretsmanager.secret_state",
        "Secrets exist and are not scheduled for deletion",
        "Each secret's state: present, missing, or scheduled for deletion (the 'already "
        "scheduled for deletion' symptom); with no names, the secrets a service's task "
        "definition reads. Reads metadata only, never a value.",
        applies_to=("aws.account", "ecs.service"),
        params={
            "secrets": ParamSpec("Secret names or ARNs (comma-separated)", str, ""),
            "cluster": ParamSpec("ECS cluster, to take the secrets from a service", str),
            "service": ParamSpec("ECS service, to take the secrets from its task definition", str),
        },
    )
    async def secret_state(self, params: Mapping[str, Any]) -> Finding:
        import botocore.exceptions

        states: dict[str, str] = {}
        scheduled, missing, evidence = [], [], []
        deletion: dict[str, str] = {}
        for name in await self._secrets_to_check(params):
            try:
                meta = await self.aws("secretsmanager", "describe_secret", SecretId=name)
            except botocore.exceptions.ClientError as error:
                if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                    raise
                states[name] = "missing"
                missing.append(name)
                evidence.append(f"{name}: not found")
                continue
            if meta.get("DeletedDate"):
                states[name] = "scheduled_for_deletion"
                scheduled.append(name)
                deletion[name] = meta["DeletedDate"].isoformat()
                evidence.append(
                    f"{meta.get('ARN')}: scheduled for deletion since "
                    f"{meta['DeletedDate']:%Y-%m-%d %H:%M}"
                )
            else:
                states[name] = "present"
                changed = meta.get("LastChangedDate")
                evidence.append(
                    f"{meta.get('ARN')}: present, rotation "
                    f"{'on' if meta.get('RotationEnabled') else 'off'}"
                    + (f", changed {changed:%Y-%m-%d}" if changed else "")
                )
        facts = {
            "states": states,
            "scheduled_for_deletion": scheduled,
            "missing": missing,
            "deleted_dates": deletion,
        }
        if scheduled or missing:
            parts = ([f"scheduled for deletion: {', '.join(scheduled)}"] if scheduled else []) + (
                [f"missing: {', '.join(missing)}"] if missing else []
            )
            return Finding(CheckStatus.FAIL, "; ".join(parts), facts, tuple(evidence))
        return Finding(CheckStatus.PASS, f"{len(states)} secrets present", facts, tuple(evidence))

    async def _secrets_to_check(self, params: Mapping[str, Any]) -> list[str]:
        """The secrets named, else those the service's task definition takes values from."""
        if names := _names(params.get("secrets")):
            return names
        if not (params.get("cluster") and params.get("service")):
            raise ValueError("give secrets, or cluster and service")
        answer = await self.aws(
            "ecs", "describe_services", cluster=params["cluster"], services=[params["service"]]
        )
        if not answer.get("services"):
            raise LookupError(f"service {params['service']} not found in {params['cluster']}")
        definition = await self.aws(
            "ecs",
            "describe_task_definition",
            taskDefinition=answer["services"][0]["taskDefinition"],
        )
        return secrets_named(definition["taskDefinition"])

    @action(
        "secretsmanager.force_delete_secret",
        "Delete a secret now, without the recovery window",
        destructive=True,
        params={"secret": ParamSpec("Secret name or ARN", str, required=True)},
    )
    async def force_delete_secret(self, params: Mapping[str, Any]) -> ActionPlan:
        ident = str(params["secret"])
        meta = await self.aws("secretsmanager", "describe_secret", SecretId=ident)
        name = str(meta.get("Name", ident))
        state = "scheduled for deletion" if meta.get("DeletedDate") else "present"
        preview = ActionPreview(
            action="secretsmanager.force_delete_secret",
            target=name,
            destructive=True,
            summary=f"delete secret {name} ({state}) immediately and for good, with no "
            "recovery window",
            touches=(str(meta.get("ARN", name)),),
            counts={"secrets": 1},
        )

        async def apply() -> ActionOutcome:
            await self.aws(
                "secretsmanager",
                "delete_secret",
                SecretId=meta.get("ARN", ident),
                ForceDeleteWithoutRecovery=True,
            )
            return ActionOutcome(
                "secretsmanager.force_delete_secret",
                name,
                True,
                f"secret {name} deleted without recovery",
            )

        return ActionPlan(preview, apply)

    @check(
        "acm.pending_validation",
        "ACM certificates pending validation, with the CNAME records to create",
        "Certificates in PENDING_VALIDATION and the DNS records that validate them "
        "(aws acm describe-certificate).",
        applies_to=("aws.account",),
        params={"domain": ParamSpec("Only certificates for this domain", str)},
    )
    async def acm_pending(self, params: Mapping[str, Any]) -> Finding:
        summaries = await self.aws_pages("acm", "list_certificates", "CertificateSummaryList")
        domain = params.get("domain")
        pending, records, evidence = [], [], []
        for summary in summaries:
            if domain and summary.get("DomainName") != domain:
                continue
            cert = (
                await self.aws(
                    "acm", "describe_certificate", CertificateArn=summary["CertificateArn"]
                )
            )["Certificate"]
            if cert.get("Status") != "PENDING_VALIDATION":
                continue
            cert_records = []
            for option in cert.get("DomainValidationOptions", []):
                record = option.get("ResourceRecord")
                if option.get("ValidationStatus") == "SUCCESS" or not record:
                    continue
                entry = {
                    "domain": option.get("DomainName"),
                    "name": record["Name"],
                    "type": record["Type"],
                    "value": record["Value"],
                }
                cert_records.append(entry)
                evidence.append(
                    f"{entry['domain']}: create {entry['type']} {entry['name']} -> {entry['value']}"
                )
            records.extend(cert_records)
            pending.append(
                {
                    "arn": cert["CertificateArn"],
                    "domain": cert.get("DomainName"),
                    "records": cert_records,
                }
            )
        facts = {
            "pending": pending,
            "records": records,
            "count": len(pending),
            "domains": [p["domain"] for p in pending],
        }
        if pending:
            return Finding(
                CheckStatus.FAIL,
                f"{len(pending)} certificates pending validation: "
                f"create {len(records)} CNAME records",
                facts,
                tuple(evidence),
            )
        return Finding(CheckStatus.PASS, "no certificates pending validation", facts)
