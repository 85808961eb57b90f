"""A target whose URL names a port no one can connect to (99999, -5, abc) is said once, in one
line naming the target and the value; the environment's other targets are still checked."""

from __future__ import annotations

import pytest

from providers.addresses import port_problem, url_port_problem
from providers.contract import CheckStatus, Health, Node
from providers.environment import LiveEnvironment, TargetChecked, target_problem
from providers.inventory import Environment, Inventory, SecretRef, Target
from tests.servers.process import free_port

BAD_PORTS = {
    "99999": "port 99999 is out of range 1-65535",
    "-5": "port -5 is out of range 1-65535",
    "abc": "port 'abc' is not a number",
}
URLS = {
    "redis": "redis://127.0.0.1:{port}/0",
    "postgres": "postgresql://app@127.0.0.1:{port}/orders",
    "http": "http://127.0.0.1:{port}/health",
    "rabbitmq": "amqp://guest@127.0.0.1:{port}/%2F",
}


@pytest.mark.parametrize("kind", URLS)
@pytest.mark.parametrize("port", BAD_PORTS)
def test_a_bad_port_in_each_kind_of_url_is_named_with_its_value(kind: str, port: str) -> None:
    target = Target(kind=kind, name="cache", url=URLS[kind].format(port=port))
    assert url_port_problem(URLS[kind].format(port=port)) == BAD_PORTS[port]
    assert target_problem(target) == f"target cache: {BAD_PORTS[port]}"


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:6379/0",
        "redis://cache.internal/0",  # no port: the kind's default
        "rediss://:pw@[::1]:6380",
        "postgresql://app@db:5432,replica:5433/orders",
        "host=db port=5432 dbname=orders",
        "host=/run/postgresql dbname=orders",
        "unix:///var/run/docker.sock",
        "https://api.example.com/health?port=99999",  # a query is not the port
    ],
)
def test_usable_urls_have_no_problem(url: str) -> None:
    assert url_port_problem(url) is None


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("host=db port=99999 dbname=orders", "port 99999 is out of range 1-65535"),
        ("postgresql://app@db:5432,replica:70000/orders", "port 70000 is out of range 1-65535"),
        ("redis://[::1]:0", "port 0 is out of range 1-65535"),
        ("http://h:+5/", "port '+5' is not a number"),
        # urllib takes ASCII digits only (this is ARABIC-INDIC DIGIT FIVE)
        ("http://h:\u0665/", "port '\u0665' is not a number"),
    ],
)
def test_ports_in_keyword_strings_host_lists_and_odd_digits(url: str, problem: str) -> None:
    assert url_port_problem(url) == problem


def test_a_long_word_where_the_port_goes_is_not_echoed() -> None:
    """`redis://:hunter2-secret` (the `@` forgotten) puts a password where the port goes."""
    assert port_problem("hunter2-secret") == "the port is not a number"
    assert "hunter2" not in (url_port_problem("redis://:hunter2-secret") or "")


def test_a_url_from_the_environment_is_read_before_it_is_judged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SESSIONS_REDIS_URL", "redis://127.0.0.1:99999/0")
    target = Target(kind="redis", name="sessions", url=SecretRef(env="SESSIONS_REDIS_URL"))
    assert target_problem(target) == "target sessions: port 99999 is out of range 1-65535"
    monkeypatch.delenv("SESSIONS_REDIS_URL")
    assert target_problem(target) is None  # unset: the provider says so, with its other errors


def test_a_management_url_option_is_judged_too() -> None:
    target = Target(
        kind="rabbitmq",
        name="broker",
        url="amqp://guest@127.0.0.1:5672/%2F",
        options={"management_url": "http://127.0.0.1:abc"},
    )
    assert target_problem(target) == "target broker: management_url: port 'abc' is not a number"


def environment_with_bad_targets() -> Inventory:
    closed = free_port()
    targets = [
        Target(kind="redis", name="cache", url="redis://127.0.0.1:99999/0", timeout=2),
        Target(kind="postgres", name="orders-db", url="postgresql://h:-5/db", timeout=2),
        Target(kind="http", name="api", url="http://127.0.0.1:abc/health", timeout=2),
        # A closed port refuses at once; the timeout only has to outlast a busy machine.
        Target(kind="redis", name="sessions", url=f"redis://127.0.0.1:{closed}/0", timeout=15),
    ]
    return Inventory(environments={"prod": Environment(targets=targets)}, source="test")


EXPECTED = {
    "redis:cache": "target cache: port 99999 is out of range 1-65535",
    "postgres:orders-db": "target orders-db: port -5 is out of range 1-65535",
    "http:api": "target api: port 'abc' is not a number",
}


async def test_the_tree_keeps_a_bad_target_failing_with_its_reason_and_shows_it_at_once() -> None:
    live = LiveEnvironment(environment_with_bad_targets())
    heard: list[Node] = []
    try:
        nodes = await live.discover(heard.append)
    finally:
        await live.close()
    failing = {node.id: node.status.reason for node in nodes if node.kind == "provider"}
    assert failing == EXPECTED
    assert all(node.status.health is Health.FAILING for node in nodes)
    # Heard as soon as the tree is asked for, before the reachable target answers.
    assert [node.id for node in heard[:3]] == list(EXPECTED)
    assert heard[3].id == "redis:sessions"
    assert live.unusable_targets == EXPECTED


async def test_every_check_run_says_the_bad_targets_once_and_checks_the_others() -> None:
    live = LiveEnvironment(environment_with_bad_targets())
    try:
        _, results = await live.check_everything()
    finally:
        await live.close()
    said = {r.node_id: (r.check, r.status, r.summary) for r in results if r.check == "target.url"}
    assert said == {
        root: ("target.url", CheckStatus.ERROR, reason) for root, reason in EXPECTED.items()
    }
    others = [result for result in results if result.target == "sessions"]
    assert {result.check for result in others} >= {"redis.ping", "redis.memory"}
    assert all("connection refused" in result.summary for result in others)


async def test_checking_target_by_target_hands_the_bad_ones_first_then_the_others() -> None:
    live = LiveEnvironment(environment_with_bad_targets())
    done: list[TargetChecked] = []
    try:
        await live.check_each_target(done.append, targets_at_once=1)
    finally:
        await live.close()
    assert [checked.tree.id for checked in done] == [*EXPECTED, "redis:sessions"]
    for checked in done[:3]:
        (result,) = checked.results
        assert (result.check, result.summary) == ("target.url", EXPECTED[checked.tree.id])
    assert {result.check for result in done[3].results} >= {"redis.ping", "redis.memory"}


@pytest.mark.parametrize("port", BAD_PORTS)
def test_a_provider_given_a_bad_port_anyway_names_it_instead_of_raising(port: str) -> None:
    """Made outside an environment (which never makes them): its address, shown in every
    error, says the port, where urllib's ValueError used to end the whole run."""
    from providers.rabbitmq_provider import RabbitMQProvider
    from providers.redis_provider import RedisProvider

    redis = RedisProvider(Target(kind="redis", name="cache", url=URLS["redis"].format(port=port)))
    assert redis.address == f"cache ({BAD_PORTS[port]})"
    url = URLS["rabbitmq"].format(port=port)
    broker = RabbitMQProvider(Target(kind="rabbitmq", name="broker", url=url))
    assert broker.address == f"broker ({BAD_PORTS[port]})"
