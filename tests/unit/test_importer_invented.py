"""The importer on guides it has never seen: another product, another way of writing."""

from __future__ import annotations

import textwrap
from pathlib import Path

import yaml

from runbooks.importer import import_guide
from runbooks.importer.commands import split_block
from runbooks.importer.guide import ImportResult
from runbooks.importer.sections import parse

GUIDE = textwrap.dedent(
    """\
    # Ledgerline operations notes

    Intro text that is not a problem.

    ## Contents

    - [Invoices pile up](#invoices-pile-up)

    ## Invoices pile up in the ingest queue

    **What you see:** the dashboard counter keeps rising and "consumer timeout" shows in logs.

    **How to check:**

    ~~~sh
    $ rabbitmqctl list_queues -p /billing name messages consumers
    $ redis-cli -h cache.internal -p 6380 INFO memory
    ~~~

    **Likely causes:**

    1. **The worker pool is down**
       - Workers crashed after a deploy
       ~~~sh
       $ nc -zv db.internal 5432
       ~~~
    2. **Poison messages block the consumers**
       ~~~sh
       # Drop the backlog (loses every message!)
       rabbitmqctl purge_queue invoices.ingest -p /billing
       ~~~

    ## Reports time out

    **What you see:** report pages fail after 30 seconds.

    ```sql
    -- queries stuck for more than 5 minutes
    SELECT pid, state, query FROM pg_stat_activity
    WHERE now() - query_start > interval '5 minutes';
    ```

    **How to fix:**

    - Cancel the offending report from the admin page.
    - Probe the partner API:
      `curl -s https://partner.example.net/v2/ping -H "X-Api-Key: sk-live-abc123secret"`

    ## Error codes

    | Error | Fix |
    |-------|-----|
    | `LL-101` | `redis-cli DEL session:<user-id>` |
    | `LL-102` | Restart the exporter |
    """
)


def _import(tmp_path: Path) -> tuple[ImportResult, dict[str, dict]]:
    path = tmp_path / "ledgerline-notes.md"
    path.write_text(GUIDE, encoding="utf-8")
    result = import_guide(path)
    assert result.errors == []
    return result, {key: yaml.safe_load(text) for key, text in result.yaml.items()}


def test_an_unseen_guide_imports_into_runbooks_with_checks(tmp_path: Path) -> None:
    result, documents = _import(tmp_path)
    assert sorted(documents) == [
        "ledgerline-notes-error-codes",
        "ledgerline-notes-invoices-pile-up-in-the-ingest-queue",
        "ledgerline-notes-reports-time-out",
    ]
    kinds = {section.slug: section.kind for section in result.coverage.sections}
    assert kinds["contents"] == "reference"

    queue = documents["ledgerline-notes-invoices-pile-up-in-the-ingest-queue"]
    assert queue["source"] == "ledgerline-notes.md#invoices-pile-up-in-the-ingest-queue"
    assert queue["symptoms"][0].startswith("the dashboard counter keeps rising")
    assert "consumer\\ timeout" in queue["signatures"]
    uses = {step["use"]: step for step in queue["checks"]}
    assert uses["rabbitmq.queues"]["with"] == {"vhost": "$vhost"}
    assert queue["params"]["vhost"]["default"] == "/billing"
    assert "redis.memory" in uses
    assert uses["tcp.connect"]["with"] == {"host": "$host", "port": "$port"}
    assert queue["params"]["host"]["default"] == "db.internal"
    assert queue["params"]["port"]["default"] == 5432
    titles = [cause["title"] for cause in queue["causes"]]
    assert titles == ["The worker pool is down", "Poison messages block the consumers"]
    down, poison = queue["causes"]
    assert down["evidence"] == [{"check": uses["tcp.connect"]["id"], "status": ["fail", "warn"]}]
    assert {
        "title": "Workers crashed after a deploy",
        "manual": "Workers crashed after a deploy",
    } in down["fixes"]
    purge = poison["fixes"][0]
    assert purge["action"] == "rabbitmq.purge_queue"
    assert purge["title"] == "Drop the backlog (loses every message!)"
    assert purge["with"] == {"queue": "$queue", "vhost": "$vhost"}


def test_sql_thresholds_and_secrets_in_an_unseen_guide(tmp_path: Path) -> None:
    result, documents = _import(tmp_path)
    reports = documents["ledgerline-notes-reports-time-out"]
    slow = next(step for step in reports["checks"] if step["use"] == "postgres.long_queries")
    assert slow["with"] == {"threshold_seconds": 300.0}
    probe = next(step for step in reports["checks"] if step["use"] == "http.status")
    target = reports["params"][probe["on"]]
    assert "options.headers: {X-Api-Key: {env: X_API_KEY}}" in target["description"]
    for text in result.yaml.values():
        assert "sk-live-abc123secret" not in text
    assert "sk-live-abc123secret" not in result.coverage.render()


def test_an_error_code_table_becomes_causes_with_signatures(tmp_path: Path) -> None:
    _, documents = _import(tmp_path)
    codes = documents["ledgerline-notes-error-codes"]
    assert [cause["title"] for cause in codes["causes"]] == ["LL-101", "LL-102"]
    assert codes["signatures"] == ["\\bLL-101\\b", "\\bLL-102\\b"]
    delete = codes["causes"][0]["fixes"][0]
    assert delete["action"] == "redis.delete_keys"
    assert delete["with"] == {"pattern": "session:$user_id"}
    assert codes["params"]["user_id"] == {"description": "fill in: <user-id>", "required": True}
    assert codes["causes"][1]["fixes"] == [
        {"title": "Restart the exporter", "manual": "Restart the exporter"}
    ]


def test_markdown_sections_labels_tables_and_indented_fences() -> None:
    root = parse(GUIDE)
    titles = [section.title for section in root.walk()[1:]]
    assert titles[:2] == ["Ledgerline operations notes", "Contents"]
    queue = root.walk()[3]
    assert queue.slug == "invoices-pile-up-in-the-ingest-queue"
    labels = [block.label for block in queue.blocks if block.label]
    assert labels[:3] == ["What you see", "How to check", "Likely causes"]
    code = [block for block in queue.blocks if block.kind == "code"]
    assert code[1].depth == 1 and code[1].text == "$ nc -zv db.internal 5432"  # in its item
    table = root.walk()[-1].blocks[0]
    assert table.header == ["Error", "Fix"] and len(table.rows) == 3
    assert table.rows[1][1].code == ("redis-cli DEL session:<user-id>",)


def test_commands_join_continuations_and_read_sessions() -> None:
    block = textwrap.dedent(
        """\
        # Check the service
        aws ecs describe-services \\
          --cluster prod --services api
        TASK=$(aws ecs list-tasks --cluster prod --query 'taskArns[0]' --output text)
        docker exec -it cache redis-cli
        > KEYS user:*
        > FLUSHALL
        Error: this line is output
        """
    )
    commands, unknown = split_block(block, "bash", 10)
    assert [c.tool for c in commands] == ["aws", "aws", "redis", "redis"]
    assert commands[0].title == "Check the service"
    assert "--services api" in commands[0].text and commands[0].line == 12
    assert commands[1].assigns == "TASK"
    assert commands[2].inner == "KEYS user:*" and not commands[2].destructive
    assert commands[3].destructive
    assert unknown == [(18, "Error: this line is output")]


PLATFORM_GUIDE = textwrap.dedent(
    """\
    # Storefront platform notes

    ## Checkout pods keep crashing

    **Symptom**: checkout returns 503 after a deploy.

    **Diagnosis**:

    ```bash
    kubectl get pods -n shop -l app=checkout
    kubectl describe pod checkout-7d9f -n shop
    kubectl get endpoints checkout -n shop
    kubectl rollout status deployment/checkout -n shop
    kubectl logs checkout-7d9f -n shop --previous
    aws ecs describe-services --cluster shop-prod --services checkout
    aws secretsmanager get-secret-value --secret-id shop/db
    aws iam simulate-principal-policy --policy-source-arn arn:aws:iam::1:role/app \\
      --action-names s3:GetObject
    aws cloudwatch get-metric-statistics --namespace AWS/RDS --metric-name CPUUtilization
    ```

    **Solution**:

    ```bash
    kubectl rollout restart deployment/checkout -n shop
    kubectl scale deployment checkout --replicas=3
    kubectl delete pod checkout-7d9f -n shop
    aws ecs update-service --cluster shop-prod --service checkout --desired-count 4
    aws ecs stop-task --cluster shop-prod --task $TASK_ID
    aws secretsmanager delete-secret --secret-id shop/old
    docker compose up -d worker
    ```
    """
)


def test_platform_commands_map_by_their_shape(tmp_path: Path) -> None:
    path = tmp_path / "storefront.md"
    path.write_text(PLATFORM_GUIDE, encoding="utf-8")
    result = import_guide(path)
    assert result.errors == []
    doc = yaml.safe_load(next(iter(result.yaml.values())))
    outcome = {r.text.split(" \\")[0]: (r.outcome, r.detail) for r in result.coverage.commands}
    assert outcome["kubectl get pods -n shop -l app=checkout"] == (
        "check",
        "k8s.unready_pods + k8s.pod_waiting_reasons",
    )
    assert outcome["kubectl describe pod checkout-7d9f -n shop"][1] == (
        "k8s.pod_waiting_reasons + k8s.warning_events"
    )
    assert outcome["kubectl logs checkout-7d9f -n shop --previous"] == ("check", "k8s.log_search")
    assert outcome["aws secretsmanager get-secret-value --secret-id shop/db"] == (
        "check",
        "secretsmanager.secret_state",
    )
    metrics = (
        "aws cloudwatch get-metric-statistics --namespace AWS/RDS --metric-name CPUUtilization"
    )
    assert outcome[metrics][0] == "run" and "ECS service" in outcome[metrics][1]
    checks = {step["use"]: step.get("with", {}) for step in doc["checks"]}
    assert checks["k8s.unready_pods"] == {"namespace": "$namespace", "selector": "$selector"}
    assert checks["k8s.warning_events"] == {
        "namespace": "$namespace",
        "name": "$pod",
        "kind": "Pod",
    }
    assert checks["k8s.service_endpoints"] == {"namespace": "$namespace", "name": "$service"}
    assert checks["k8s.log_search"] == {"namespace": "$namespace", "pod": "$pod", "previous": True}
    assert checks["k8s.deployment_replicas"] == {"namespace": "$namespace", "name": "$deployment"}
    assert checks["ecs.service_counts"] == {"cluster": "$cluster", "service": "$service"}
    assert checks["secretsmanager.secret_state"] == {"secrets": "$secret_id"}
    assert checks["iam.role_allows"] == {"role": "$role", "action": "$iam_action"}
    assert doc["params"]["iam_action"]["default"] == "s3:GetObject"

    fixes = [fix for cause in doc["causes"] for fix in cause["fixes"]]
    actions = {fix.get("action"): fix.get("with") for fix in fixes if "action" in fix}
    assert actions["k8s.rollout_restart"] == {"namespace": "$namespace", "name": "$deployment"}
    # no namespace in the command: a parameter to fill, not a guess
    assert actions["k8s.scale"]["replicas"] == "$replicas"
    assert actions["k8s.delete_pod"] == {"namespace": "$namespace", "pod": "$pod"}
    assert actions["ecs.set_desired_count"]["count"] == "$desired_count"
    assert actions["ecs.stop_task"] == {"cluster": "$cluster", "task": "$task_id"}
    assert doc["params"]["task_id"] == {"description": "the guide's $TASK_ID", "required": True}
    assert actions["compose.start_service"] == {"service": "$service_2"}
    delete = next(fix for fix in fixes if "delete-secret" in fix.get("run", ""))
    assert delete["destructive"] is True  # scheduled deletion: no action, kept as it is
    records = {r.text.split(" \\")[0]: r for r in result.coverage.commands}
    for text in ("kubectl delete pod checkout-7d9f -n shop", "aws ecs stop-task"):
        record = next(r for key, r in records.items() if key.startswith(text))
        assert record.destructive and record.outcome == "action"
    assert "value" not in str(checks["secretsmanager.secret_state"])
