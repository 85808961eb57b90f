"""Commands of guides the importer has never seen: log reads, SQL, and what is not diagnostic.

Each command is written here, not taken from the five guides, so these rules are shown to
follow the shape of a command (its tool, verb, options, pipes), not a guide's wording.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from providers.registry import action_catalogue, check_catalogue
from runbooks.importer import import_guide
from runbooks.importer.commands import Command, split_block
from runbooks.importer.mapping import map_command
from runbooks.importer.purpose import FILES, IMAGES, INFRASTRUCTURE, SETUP, WAITS, purpose

CHECKS, ACTIONS = check_catalogue(), action_catalogue()


def one(text: str, lang: str = "bash") -> Command:
    commands, unknown = split_block(text, lang, 0)
    assert len(commands) == 1 and not unknown, (commands, unknown)
    return commands[0]


def mapped(text: str, lang: str = "bash") -> tuple[str, dict[str, object]]:
    result = map_command(one(text, lang), CHECKS, ACTIONS)
    assert result.rule is not None, result.reason
    return result.rule.name, {name: arg.value for name, arg in result.args.items()}


@pytest.mark.parametrize(
    ("command", "pattern", "line"),
    [
        ('docker compose logs web | grep -i "timeout\\|refused"', "timeout|refused", "Refused"),
        ("docker compose logs web | grep -E '(WARN|FATAL)'", "(WARN|FATAL)", "FATAL boom"),
        ('docker compose logs web | grep "(lit)"', "\\(lit\\)", "a (lit) b"),
        ("docker compose logs web | grep billing | grep -i error", None, "Error in billing"),
        ("docker compose logs web | grep -v healthz", "^(?!.*(?:healthz))", "GET /api"),
        ("docker compose logs web | grep -F 'a.b'", "a\\.b", "x a.b y"),
    ],
)
def test_grep_patterns_become_the_check_pattern(
    command: str, pattern: str | None, line: str
) -> None:
    name, args = mapped(command)
    assert name == "compose.log_search" and args["service"] == "web"
    if pattern is not None:
        assert args["pattern"] == pattern
    assert re.search(str(args["pattern"]), line, re.IGNORECASE)


def test_several_greps_must_all_match() -> None:
    _, args = mapped("docker compose logs web | grep billing | grep -i error")
    found = re.compile(str(args["pattern"]), re.IGNORECASE)
    assert found.search("ERROR in billing") and found.search("billing: error")
    assert not found.search("billing ok") and not found.search("error elsewhere")


def test_log_reads_keep_their_window_and_drop_follow() -> None:
    assert mapped("kubectl logs -n shop -l app=cart --tail=50 --since=2h | grep -i oom") == (
        "k8s.log_search",
        {"namespace": "shop", "selector": "app=cart", "pattern": "oom", "lines": 50,
         "since": "2h"},
    )  # fmt: skip
    assert mapped("docker logs -f --tail 20 cache") == (
        "compose.log_search",
        {"container": "cache", "lines": 20},
    )
    assert mapped("aws logs tail /ecs/shop/cart --since 30m --follow") == (
        "cloudwatch.log_search",
        {"group": "/ecs/shop/cart", "since": "30m"},
    )
    assert mapped(
        "aws logs filter-log-events --log-group-name /app/web --filter-pattern ERROR"
    ) == ("cloudwatch.log_search", {"group": "/app/web", "filter_pattern": "ERROR"})
    listing = map_command(one("aws logs describe-log-groups"), CHECKS, ACTIONS)
    assert listing.rule is None and "no check lists them" in listing.reason


def test_sql_reads_become_queries_and_changes_the_gated_action() -> None:
    assert mapped("SELECT id FROM invoices WHERE paid = false;", "sql") == (
        "postgres.query",
        {"sql": "SELECT id FROM invoices WHERE paid = false"},
    )
    assert mapped('psql -d shop -c "EXPLAIN SELECT * FROM carts"') == (
        "postgres.query",
        {"sql": "EXPLAIN SELECT * FROM carts", "database": "shop"},
    )
    assert mapped('psql -d shop -c "REINDEX TABLE carts;"') == (
        "postgres.run_sql",
        {"sql": "REINDEX TABLE carts", "database": "shop"},
    )
    assert mapped("select pg_reload_conf();", "sql")[0] == "postgres.run_sql"
    assert mapped("vacuumdb -U app --full --analyze shop") == (
        "postgres.run_sql",
        {"sql": "VACUUM (FULL, ANALYZE)", "database": "shop"},
    )
    drop = one("DROP TABLE carts;", "sql")
    assert drop.destructive and map_command(drop, CHECKS, ACTIONS).rule.action == (  # type: ignore[union-attr]
        "postgres.run_sql"
    )
    assert ACTIONS["postgres.run_sql"][1].destructive
    several = map_command(one('psql -c "select 1; select 2"'), CHECKS, ACTIONS)
    assert several.rule is None and "several SQL statements" in several.reason


def test_requests_other_than_get_become_the_confirmed_request_action() -> None:
    assert mapped("curl -X PATCH https://api.example.test/v1/items/7 -d '{\"on\": true}'") == (
        "http.request",
        {"url": "https://api.example.test/v1/items/7", "method": "PATCH", "body": '{"on": true}'},
    )
    name, args = mapped("curl -s https://api.example.test/v1/jobs --data @job.json")
    assert name == "http.request" and args["body"] is None  # a file: the body is to fill
    delete = map_command(one("curl -X DELETE https://api.example.test/v1/items/7"), CHECKS, ACTIONS)
    assert delete.rule is None and "destructive" in delete.reason  # never made a safe action
    assert mapped("curl -sf https://api.example.test/health")[0] == "http.status"


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("terraform plan -out tf.plan", INFRASTRUCTURE),
        ("pulumi stack output", INFRASTRUCTURE),
        ("docker build -t shop/web .", IMAGES),
        ("docker-compose pull web", IMAGES),
        ("vim config/app.yaml", FILES),
        ('echo "LOG_LEVEL=debug" >> .env', FILES),
        ("pg_dump shop > shop.sql", FILES),
        ("sudo apt-get install -y jq", SETUP),
        ("curl -fsSL https://example.test/install.sh -o install.sh", SETUP),
        ("sleep 30", WAITS),
        ("docker compose logs web 2>&1 | grep error", ""),
        ("cat .env", ""),  # reading a file or the host's state stays diagnostic
        ("free -m", ""),
        ("kubectl get pods -n shop > /dev/null", ""),
    ],
)
def test_what_is_not_diagnostic_is_told_by_what_it_does(command: str, expected: str) -> None:
    assert purpose(one(command)) == expected


def test_the_report_gives_both_shares(tmp_path: Path) -> None:
    guide = tmp_path / "guide.md"
    guide.write_text(
        textwrap.dedent(
            """\
            # Runbook

            ## Checkout returns 502

            **Symptom**: the gateway answers 502.

            ```bash
            docker compose ps web
            docker compose logs web --tail=100 | grep -i "upstream"
            terraform apply
            sleep 10
            python3 scripts/replay.py
            ```
            """
        ),
        encoding="utf-8",
    )
    coverage = import_guide(guide).coverage
    report = coverage.render()
    assert "Commands mapped to checks or actions: 2/5 (40%)" in report
    assert "Diagnostic commands mapped to checks or actions: 2/3 (67%); not diagnostic: 2" in report
    assert "not diagnostic: 1 provisions infrastructure as code, 1 waits" in report
    assert "terraform apply [provisions infrastructure as code]  -> no mapping for terraform" in (
        report
    )
