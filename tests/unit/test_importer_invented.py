"""The importer on guides it has never seen: another product, another way of writing."""

from __future__ import annotations

import textwrap
from pathlib import Path

import yaml

from runbooks.importer import import_guide
from runbooks.importer.commands import split_block
from runbooks.importer.markdown import parse

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


def _import(tmp_path: Path) -> tuple[object, dict[str, dict]]:
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
    assert code[1].indent == 3 and code[1].text == "$ nc -zv db.internal 5432"
    table = root.walk()[-1].blocks[0]
    assert table.rows[0] == ["Error", "Fix"] and len(table.rows) == 3


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
