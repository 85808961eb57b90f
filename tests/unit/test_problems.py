"""Problems from log lines: one scan per line against every runbook signature at once."""

from __future__ import annotations

from datetime import UTC, datetime

from providers.contract import CheckResult, CheckStatus, LogLine
from runbooks.loader import load_library
from tui.problems import SignatureScanner, problems_from_results

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def line(text: str, level: str = "error") -> LogLine:
    return LogLine(NOW, "worker", level, text)


def test_a_telling_line_suggests_its_runbook_and_ordinary_lines_pass() -> None:
    scanner = SignatureScanner(load_library().runbooks.values())
    found = scanner.problems(
        "compose:docker/shop/worker",
        [
            line("GET /health 200 3 ms", "info"),
            line("Error: connect ECONNREFUSED 127.0.0.1:5672"),
            line("CannotPullContainerError: pull image manifest has been retried 5 time(s)"),
        ],
    )
    assert [(p.text[:30], p.suggestions[0].runbook.id) for p in found] == [
        ("Error: connect ECONNREFUSED 12", "mq-connection-refused"),
        ("CannotPullContainerError: pull", "ecs-tasks-failing-to-start"),
    ]
    assert {p.node_id for p in found} == {"compose:docker/shop/worker"}


def test_escape_sequences_in_a_log_line_never_reach_the_problem_text() -> None:
    scanner = SignatureScanner(load_library().runbooks.values())
    (problem,) = scanner.problems("n", [line("\x1b]52;c;ZXZpbA==\x07ECONNREFUSED 10.0.0.1:5672")])
    assert "\x1b" not in problem.text and "\x07" not in problem.text


def test_a_failing_check_ranks_the_runbook_that_runs_it_and_fits_the_node() -> None:
    result = CheckResult(
        check="redis.memory",
        target="cache",
        status=CheckStatus.FAIL,
        summary="out of memory: 2.0 MiB of 2.0 MiB maxmemory (100%), policy noeviction",
        node_id="redis:cache",
    )
    (problem,) = problems_from_results(
        [result], load_library().runbooks.values(), {"redis:cache": "redis.instance"}
    )
    best = problem.suggestions[0]
    assert best.runbook.id == "redis-out-of-memory"
    assert best.reasons[:2] == ("made for redis.instance", "runs redis.memory")
