"""Suggesting runbooks from a piece of text: signatures first, then symptom overlap, with why."""

from __future__ import annotations

import re

import pytest

import runbooks.suggest as suggest_module
from runbooks.loader import load_library
from runbooks.model import Runbook
from runbooks.suggest import Suggestion, suggest

OOM = Runbook(
    id="redis-oom",
    title="Redis out of memory",
    symptoms=["Writes fail with OOM"],
    signatures=["OOM command not allowed", "used memory > 'maxmemory'"],
)
ECS = Runbook(
    id="ecs-tasks-failing",
    title="ECS tasks failing to start",
    symptoms=["Tasks transition from PENDING to STOPPED", "Service shows 0/2 running tasks"],
    signatures=["CannotPullContainerError", r"ResourceInitializationError: .* secrets"],
)
PG = Runbook(
    id="pg-connections",
    title="Postgres connections exhausted",
    symptoms=["FATAL: sorry, too many clients already"],
    signatures=["too many clients already", "remaining connection slots are reserved"],
)
ALL = [OOM, ECS, PG]


def summary(found: list[Suggestion]) -> list[tuple[str, float, tuple[str, ...]]]:
    return [(item.runbook.id, item.score, item.reasons) for item in found]


def test_every_matching_signature_counts() -> None:
    found = suggest("OOM command not allowed when used memory > 'maxmemory'", ALL)
    assert summary(found) == [
        (
            "redis-oom",
            20.0,
            (
                "matches signature 'OOM command not allowed'",
                "matches signature \"used memory > 'maxmemory'\"",
            ),
        )
    ]
    assert found[0].runbook is OOM


def test_signatures_are_regular_expressions_matched_anywhere() -> None:
    text = "stoppedReason: ResourceInitializationError: unable to pull secrets or registry auth"
    assert summary(suggest(text, ALL)) == [
        (
            "ecs-tasks-failing",
            10.0,
            ("matches signature 'ResourceInitializationError: .* secrets'",),
        )
    ]


def test_matching_is_case_insensitive() -> None:
    assert summary(suggest("oom COMMAND not Allowed", ALL)) == [
        ("redis-oom", 10.0, ("matches signature 'OOM command not allowed'",))
    ]
    assert summary(suggest("TASKS stuck in pending, then stopped", ALL)) == summary(
        suggest("tasks stuck in PENDING, then STOPPED", ALL)
    )


def test_symptom_overlap_scores_by_the_share_of_the_symptom_words() -> None:
    # "Tasks transition from PENDING to STOPPED": tasks, transition, pending, stopped (from, to
    # are stop words); the text has three of the four.
    found = suggest("tasks stuck in PENDING then STOPPED", ALL)
    assert summary(found) == [
        (
            "ecs-tasks-failing",
            3.75,
            ("like symptom 'Tasks transition from PENDING to STOPPED' (75% of its words)",),
        )
    ]


def test_less_than_half_of_a_symptom_is_not_a_match() -> None:
    # One word of four of the title, one of five of "Service shows 0/2 running tasks".
    assert suggest("tasks", ALL) == []


def test_the_title_counts_as_a_symptom() -> None:
    assert summary(suggest("postgres connections", ALL)) == [
        (
            "pg-connections",
            round(5.0 * 2 / 3, 3),
            ("like symptom 'Postgres connections exhausted' (67% of its words)",),
        )
    ]


def test_signatures_outrank_symptoms_and_scores_add_up() -> None:
    found = suggest("ECS tasks failing: too many clients already", ALL)
    assert summary(found) == [
        (
            "pg-connections",
            13.333,
            (
                "matches signature 'too many clients already'",
                "like symptom 'FATAL: sorry, too many clients already' (67% of its words)",
            ),
        ),
        (
            "ecs-tasks-failing",
            3.75,
            ("like symptom 'ECS tasks failing to start' (75% of its words)",),
        ),
    ]


def test_equal_scores_are_ordered_by_id_and_limited() -> None:
    twin = OOM.model_copy(update={"id": "a-redis-oom"})
    found = suggest("OOM command not allowed", [OOM, twin, PG])
    assert [item.runbook.id for item in found] == ["a-redis-oom", "redis-oom"]
    assert [
        item.runbook.id for item in suggest("OOM command not allowed", [OOM, twin], limit=1)
    ] == ["a-redis-oom"]


def test_stop_words_alone_match_nothing() -> None:
    assert suggest("the error is not in this", ALL) == []


def test_no_match_gives_an_empty_list() -> None:
    assert suggest("disk quota exceeded on /var/lib/docker", ALL) == []
    assert suggest("", ALL) == []
    assert suggest("OOM command not allowed", []) == []


def test_the_library_runbook_is_suggested_for_its_redis_error() -> None:
    library = load_library()
    found = suggest(
        "ERR OOM command not allowed when used memory > 'maxmemory'", library.runbooks.values()
    )
    assert found[0].runbook.id == "redis-out-of-memory"
    assert found[0].reasons[:2] == (
        "matches signature 'OOM command not allowed'",
        "matches signature \"used memory > 'maxmemory'\"",
    )


def test_a_runbook_is_prepared_once_however_many_texts_are_ranked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """300 failing services' texts against a library: signatures compiled and symptom words
    taken once per runbook, not once per text (that was most of a large sweep's UI time)."""
    book = Runbook(
        id="fresh", title="Fresh runbook", symptoms=["Writes fail"], signatures=["E0\\d\\d"]
    )
    compiled: list[str] = []
    real_compile = re.compile

    def counting_compile(pattern: str, flags: int = 0) -> re.Pattern[str]:
        compiled.append(pattern)
        return real_compile(pattern, flags)

    monkeypatch.setattr(suggest_module.re, "compile", counting_compile)
    first = [summary(suggest(f"svc-{n}: writes fail with E0{n % 10}7", [book])) for n in range(50)]

    assert compiled == ["E0\\d\\d"]
    assert first[3] == [
        (
            "fresh",
            15.0,
            ("matches signature 'E0\\\\d\\\\d'", "like symptom 'Writes fail' (100% of its words)"),
        )
    ]


SLOW_DB = Runbook(
    id="db-slow",
    title="Slow database queries",
    symptoms=["Requests time out", "Queries wait on locks"],
)


@pytest.mark.parametrize(
    ("said", "troubles"),
    [
        ("the orders page takes 6-8 seconds to open", {"slow"}),
        ("checkout took over 30 secs", {"slow"}),
        ("login is taking a few minutes", {"slow"}),
        ("search takes 2.5s and sometimes times out", {"slow", "timeout"}),
        ("the export timed out twice", {"timeout"}),
        ("the dashboard is crawling", {"slow"}),
        ("it takes the queue ages", set()),  # "takes" without a time is no slowness
        ("orders take part in the report", set()),
    ],
)
def test_the_trouble_a_text_speaks_of_however_it_is_put(said: str, troubles: set[str]) -> None:
    assert suggest_module.troubles(said) == troubles


def test_a_time_out_said_in_words_meets_a_runbook_symptom_of_timeouts() -> None:
    timeouts = Runbook(id="api-gateway", title="Gateway errors", symptoms=["Timeout from the API"])
    [found] = suggest("the api times out", [timeouts])
    assert found.reasons == ("like symptom 'Timeout from the API' (100% of its words)",)


def test_a_runbook_is_about_the_troubles_its_title_and_symptoms_name() -> None:
    assert suggest_module.runbook_troubles(SLOW_DB) == {"slow", "timeout"}
    assert suggest_module.runbook_troubles(OOM) == set()
    crawl = Runbook(id="crawl", title="The site is crawling", symptoms=["Pods keep restarting"])
    assert suggest_module.runbook_troubles(crawl) == {"slow", "restart"}


@pytest.mark.parametrize(
    "error",
    [
        "requests.exceptions.SSLError: HTTPSConnectionPool(host='shop', port=443): Max retries "
        "exceeded (Caused by SSLError(SSLError(1, '[SSL: WRONG_VERSION_NUMBER] wrong version "
        "number (_ssl.c:1006)')))",
        "Error: write EPROTO 40E8A9B1:error:0A00010B:SSL routines:ssl3_get_record:wrong version "
        "number",
        'Get "https://shop:443/": http: server gave HTTP response to HTTPS client',
        "remote error: tls: first record does not look like a TLS handshake",
        "javax.net.ssl.SSLException: Unrecognized SSL message, plaintext connection?",
    ],
    ids=["python", "node", "go-client", "go-server", "java"],
)
def test_a_client_speaking_tls_to_plain_http_is_the_tls_runbook(error: str) -> None:
    found = suggest(error, load_library().runbooks.values())
    assert "http-tls-certificate" in [item.runbook.id for item in found[:2]]
    tls = next(item for item in found if item.runbook.id == "http-tls-certificate")
    assert any(reason.startswith("matches signature") for reason in tls.reasons)


@pytest.mark.parametrize(
    ("said", "troubles"),
    [
        ("the product pages still show the old price", {"stale"}),
        ("stock levels are not updated any more", {"stale"}),
        ("the report is out of date", {"stale"}),
        ("the api still works", set()),
    ],
)
def test_stale_data_however_it_is_put(said: str, troubles: set[str]) -> None:
    assert suggest_module.troubles(said) == troubles


def test_a_runbook_about_the_trouble_spoken_of_is_pointed_at_weakly_when_nothing_else_is() -> None:
    stale = Runbook(id="cache-stale", title="Stale data from the cache", symptoms=["Old values"])
    restarts = Runbook(id="restarts", title="Pods restart", symptoms=["CrashLoopBackOff"])
    found = suggest("the pages still show yesterday's prices", [stale, restarts])
    assert summary(found) == [("cache-stale", 1.0, ("about what is stale, as the text says",))]
    # A symptom that matches already: the trouble adds nothing.
    [matched] = suggest("stale data from the cache, still shown", [stale])
    assert matched.reasons == ("like symptom 'Stale data from the cache' (100% of its words)",)


def test_nobody_paged_said_in_other_words_is_a_missing_notification() -> None:
    alarms = Runbook(
        id="alarms", title="Alarm notifications do not arrive", symptoms=["Notifications missing"]
    )
    [found] = suggest("the alarm fired but PagerDuty never woke anyone", [alarms])
    assert found.reasons == (
        "like symptom 'Notifications missing' (50% of its words)",
        "like symptom 'Alarm notifications do not arrive' (50% of its words)",
    )
