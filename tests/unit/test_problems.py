"""Problems from log lines: every runbook signature, scanned a batch of lines at a time."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from providers.contract import CheckResult, CheckStatus, LogLine
from providers.text import sanitize
from runbooks.loader import load_library
from tui.problems import NewestResults, SignatureScanner, problems_from_results, required_text

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


def test_the_batch_scan_finds_exactly_what_each_signature_finds_line_by_line() -> None:
    """The shortcuts (plain text first, the batch at once) never miss a line a signature
    matches, nor add one; letters that match an ASCII one when case is ignored included."""
    library = load_library().runbooks.values()
    texts = [
        *(f"GET /orders/{n} 200 in {n % 97}ms trace=4bf92f35e0{n:x}" for n in range(300)),
        "error: connect econnrefused 127.0.0.1:6379",  # case differs from the signature
        "\u212aEYERROR: 'SECRET_KEY'",  # Kelvin sign: matches `k` when case is ignored
        "worker: Out of memory: \u017fomething",
        "Sending build context to Docker daemon\n 2.5 GB",  # a newline inside a line
        'relation "orders',  # this line and the next match only when read as one
        '" does not exist',
        "failed E011 while importing",
        "x" * 50 + "İnternal server error",  # dotted capital I: matches `i`
        '{"level": "error", "msg": "OOMKilled"}',
    ]
    lines = [line(text) for text in texts]
    expected = [
        text
        for text in texts
        if any(
            re.search(sig, text, re.IGNORECASE) for runbook in library for sig in runbook.signatures
        )
    ]
    found = SignatureScanner(library).problems("n", lines)
    assert [problem.text for problem in found] == [sanitize(text) for text in expected]
    assert len(expected) == 7 and 'relation "orders' not in expected
    last = SignatureScanner(library).problems("n", lines, limit=2)
    assert [problem.text for problem in last] == [sanitize(text) for text in expected[-2:]]


@pytest.mark.parametrize(
    ("signature", "texts"),
    [
        ("ECONNREFUSED", ("econnrefused",)),
        ("(?i)access token (has )?expired|OAuthException", ("access token ", "oauthexception")),
        ("(?i)(read|gateway|request) time-?out", (" time",)),
        ("(?i)duration: \\d{4,}(\\.\\d+)? ms", ("duration: ",)),
        ("Restarting \\(\\d+\\)", ("restarting (",)),
        ("\\x41BC", ("bc",)),
        ("ab+c", ("ab",)),
        ("a[xyz]bcd|efg", ("bcd", "efg")),
        ("(?x) spaced out", None),
        ("\\d+|word", None),  # one alternative has no text
    ],
)
def test_the_text_a_signature_needs_is_read_conservatively(
    signature: str, texts: tuple[str, ...] | None
) -> None:
    assert required_text(signature) == texts


def test_a_check_saying_the_same_thing_again_is_not_ranked_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import tui.problems as problems

    ranked: list[str] = []
    plain = problems._for_check

    def counting(check, kind, text, library):  # type: ignore[no-untyped-def]
        ranked.append(check)
        return plain(check, kind, text, library)

    monkeypatch.setattr(problems, "_for_check", counting)
    failing = CheckResult(
        check="redis.memory",
        target="cache",
        status=CheckStatus.FAIL,
        summary="out of memory: 2.1 MiB of 2 MiB",
        node_id="redis:cache",
    )
    library = list(load_library().runbooks.values())
    first = problems_from_results([failing], library)
    again = problems_from_results([failing], library)
    assert ranked == ["redis.memory"]
    assert first == again and first[0].suggestions
    reloaded = list(load_library().runbooks.values())  # another library: ranked anew
    problems_from_results([failing], reloaded)
    assert ranked == ["redis.memory", "redis.memory"]


def ping(status: CheckStatus, started_seconds: float) -> CheckResult:
    return CheckResult(
        check="redis.ping",
        target="cache",
        status=status,
        summary=str(status),
        node_id="redis:cache",
        started_at=NOW + timedelta(seconds=started_seconds),
    )


def test_a_node_run_begun_after_the_sweeps_check_wins_whichever_ends_first() -> None:
    # The node's own run began later but ended before the (slow) sweep: it still wins.
    newest = NewestResults()
    assert not newest.finished(ping(CheckStatus.PASS, 2))  # no sweep yet: nothing to replace
    newest.swept([ping(CheckStatus.WARN, 1)])
    assert [r.status for r in newest.results()] == [CheckStatus.PASS]

    # A sweep's result begun after every node run replaces it; the node run is forgotten.
    newest.swept([ping(CheckStatus.WARN, 3)])
    assert [r.status for r in newest.results()] == [CheckStatus.WARN]
    newest.swept([ping(CheckStatus.FAIL, 0)])  # older than the forgotten run: nothing beats it
    assert [r.status for r in newest.results()] == [CheckStatus.FAIL]

    # A node run that ends after the sweep replaces the sweep's result only if begun later.
    assert not newest.finished(ping(CheckStatus.PASS, -1))
    assert newest.finished(ping(CheckStatus.PASS, 4))
    assert [r.status for r in newest.results()] == [CheckStatus.PASS]
    newest.clear()
    assert newest.results() == []


def test_checks_of_one_node_that_could_not_run_for_one_reason_are_one_problem() -> None:
    refused = (
        "eks: kubeconfig user u runs `aws-iam-authenticator` (exec plugin) which is not on PATH"
    )
    errors = [
        CheckResult(
            check=check, target="eks", status=CheckStatus.ERROR, summary=refused, node_id="k8s:eks"
        )
        for check in ("k8s.restarts", "k8s.pending_pods", "k8s.warning_events")
    ]
    elsewhere = CheckResult(
        check="k8s.restarts",
        target="eks2",
        status=CheckStatus.ERROR,
        summary=refused,
        node_id="k8s:eks2",
    )
    other = CheckResult(
        check="k8s.hpa_at_max",
        target="eks",
        status=CheckStatus.ERROR,
        summary="eks: timed out",
        node_id="k8s:eks",
    )
    failing = [
        CheckResult(
            check=check,
            target="eks",
            status=CheckStatus.FAIL,
            summary="same words",
            node_id="k8s:eks",
        )
        for check in ("k8s.a", "k8s.b")
    ]

    problems = problems_from_results([*errors, elsewhere, other, *failing], [])

    texts = sorted(problem.text for problem in problems)
    assert texts == sorted(
        [
            f"k8s.restarts and 2 more checks: {refused}",
            f"k8s.restarts: {refused}",
            "k8s.hpa_at_max: eks: timed out",
            "k8s.a: same words",  # failing checks each say what they found: never merged
            "k8s.b: same words",
        ]
    )
