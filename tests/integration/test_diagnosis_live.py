"""`triage diagnose` on a live shop: the diagnosis benchmark's world (Redis, PostgreSQL,
RabbitMQ, an HTTP endpoint, a Docker engine with compose services, the fake Kubernetes API, moto),
with its own unrelated troubles around (a compose job of another project exited, a deployment of
another namespace crash-looping). Each test breaks something new and asks in an operator's words.

What each step of a diagnosis must do is seen on real servers: the entity named by a pod's
hashed name, by a host:port, by a queue's name; a runbook for a kind that is not here never
first; one deployment's diagnosis left alone by another's fault; PostgreSQL at max_connections
named as such; a decisive stop reason kept when the check that would corroborate it errors; and
every cascade of the benchmark (one per pair of kinds) answered with the dependency.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from bench.diagnosis import faults_aws_compose as aws_faults
from bench.diagnosis import faults_kube as kube
from bench.diagnosis.scenario import Scenario, ask, load_scenarios, right
from bench.diagnosis.world import ScenarioEnv, World, run_triage, scenario_env

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

# The benchmark's cascades; its held-out scenarios (`heldout_`, `heldout2_`, ...) measure what
# triage does on faults it was not raised on, and are counted by the benchmark, not pinned here.
CASCADES = [
    scenario
    for scenario in load_scenarios()
    if scenario.cascade and not scenario.name.startswith("heldout")
]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    shop = World(tmp_path_factory.mktemp("shop"))
    try:
        shop.baseline_targets()  # every server up, healthy, before the first fault
        yield shop
    finally:
        shop.close()


@pytest.fixture
def env(world: World) -> Iterator[ScenarioEnv]:
    with scenario_env(world) as made:
        yield made


def diagnose(env: ScenarioEnv, symptom: str) -> dict[str, Any]:
    done, _ = run_triage(env, "diagnose", symptom, "--json")
    assert done.returncode in (0, 1), done.stderr[-2000:]
    document: dict[str, Any] = json.loads(done.stdout)
    return document


def shown(document: dict[str, Any]) -> str:
    """The findings, one per line, for a failure message."""
    return "\n".join(
        f"{item['verdict']:>10} {item['runbook']}:{item['cause']} about "
        f"{item['about'].get('node', '-')}: {' | '.join(item['evidence'][:2])}"
        for item in document["diagnoses"]
    )


def answer_of(document: dict[str, Any]) -> tuple[str, str, str, str]:
    answer = document["answer"] or {}
    return (
        answer.get("runbook", ""),
        answer.get("cause", ""),
        answer.get("verdict", ""),
        (answer.get("about") or {}).get("node", ""),
    )


# -- entities ----------------------------------------------------------------------------------


def test_a_pod_named_by_its_hashed_name_is_its_deployment_and_another_deployments_fault_stays_out(
    env: ScenarioEnv,
) -> None:
    """checkout-api's 4.1.0 rollout cannot pull its image while catalog, in the same namespace,
    is being OOM-killed: asked about one checkout-api pod by name, the answer is the image of
    checkout-api, and nothing about catalog is confirmed."""
    rs = "6b8f9d7c5"
    checkout = kube.app_container("checkout-api", "4.1.0")
    pulling = [
        kube.app_pod(
            "checkout-api",
            rs,
            suffix,
            checkout,
            [
                kube.stuck(
                    checkout,
                    "ImagePullBackOff",
                    f'Back-off pulling image "{checkout["image"]}"',
                )
            ],
            phase="Pending",
        )
        for suffix in ("q7wrx", "t2mzn")
    ]
    env.kube_put(kube.app_deployment("checkout-api", checkout, replicas=2, ready=0))
    kube.replace_pods(env, "checkout-api", *pulling)
    kube.put_events(
        env,
        *(
            kube.pod_event(
                pod["metadata"]["name"],
                "Failed",
                f'Failed to pull image "{checkout["image"]}": rpc error: code = NotFound desc = '
                f'failed to pull and unpack image "{checkout["image"]}": not found',
                count=9,
                seconds_ago=20,
            )
            for pod in pulling
        ),
    )
    catalog = kube.app_container("catalog", "3.8.2")
    name = f"catalog-{rs}-m4hzt"
    oom = kube.app_pod(
        "catalog",
        rs,
        "m4hzt",
        catalog,
        [kube.crash_looping(catalog, name, restarts=12, reason="OOMKilled", exit_code=137)],
    )
    env.kube_put(kube.app_deployment("catalog", catalog, replicas=2, ready=0))
    kube.replace_pods(env, "catalog", oom)

    document = diagnose(
        env,
        "what's wrong with checkout-api-6b8f9d7c5-q7wrx? it never came up after the 4.1.0 release",
    )

    runbook, cause, verdict, about = answer_of(document)
    assert (runbook, cause, verdict) == (
        "k8s-application-wont-start",
        "image-pull",
        "confirmed",
    ), shown(document)
    # The pod named, or its deployment: checkout-api's, found by the pod's hashed name.
    assert about.startswith("kubernetes:k8s/shop/") and "checkout-api" in about, shown(document)
    assert any("checkout-api" in m["node"] for m in document["entities"]), document["entities"]
    sure = [d for d in document["diagnoses"] if d["verdict"] in ("confirmed", "likely")]
    assert all("checkout-api" in d["about"].get("node", "") for d in sure), shown(document)


def test_an_address_in_a_pasted_error_names_the_target_that_lives_there(
    env: ScenarioEnv,
) -> None:
    """A second Redis (the sessions store) went down; the cache is fine. The operator pastes
    the login page's error, which names the dead one by localhost:port only."""
    env.dead_address("sessions", "redis", "redis")
    port = env.values["sessions_port"]

    document = diagnose(
        env,
        "login page gives a 500, the app log says: redis.exceptions.ConnectionError: Error 111 "
        f"connecting to localhost:{port}. Connection refused.",
    )

    runbook, cause, verdict, about = answer_of(document)
    assert (runbook, cause, verdict) == (
        "redis-connection-errors",
        "redis-unreachable",
        "confirmed",
    ), shown(document)
    assert about == "redis:sessions", shown(document)


def test_a_queue_named_in_passing_is_the_queue_diagnosed(env: ScenarioEnv) -> None:
    """Refund messages pile up in a queue nothing consumes (its worker was never deployed
    after a rename); the other queues have their consumers."""
    aws_faults.backlog(env, "refunds", 240)

    document = diagnose(env, "refunds haven't gone out since lunch, finance keeps asking")

    runbook, cause, verdict, about = answer_of(document)
    assert (runbook, cause, verdict) == ("mq-queue-backlog", "no-consumers", "confirmed"), shown(
        document
    )
    assert document["answer"]["params"].get("queue") == "refunds", document["answer"]
    assert about.endswith("refunds"), shown(document)


def test_a_virtual_host_a_client_is_refused_at_is_the_one_looked_for_on_the_broker(
    env: ScenarioEnv,
) -> None:
    """A worker's AMQP URL names a virtual host the broker never had (a typo in a new
    deployment); the broker and its own vhost are fine. The operator pastes the Node client's
    error, which words it differently from pika's."""
    document = diagnose(
        env,
        "the invoice worker dies right after it starts: Error: Handshake terminated by server: "
        '530 (NOT-ALLOWED) with message "NOT_ALLOWED - vhost billing not found"',
    )

    runbook, cause, verdict, about = answer_of(document)
    assert (runbook, cause, verdict) == ("mq-connection-refused", "vhost-missing", "confirmed"), (
        shown(document)
    )
    assert about == "rabbitmq:broker", shown(document)
    assert document["answer"]["params"].get("vhost") == "billing", document["answer"]


def test_a_database_a_client_asks_for_that_the_server_lacks_is_named_as_missing(
    env: ScenarioEnv,
) -> None:
    """A nightly reporting job is pointed at a database `reports` that was never created on
    orders-db (the server and its own database are fine). The operator pastes a Go client's
    line, worded as lib/pq words it."""
    document = diagnose(
        env,
        "the nightly reports job failed again, its log ends with: "
        'level=fatal msg="open db" err="pq: database \\"reports\\" does not exist"',
    )

    runbook, cause, verdict, about = answer_of(document)
    assert (runbook, cause, verdict) == (
        "db-cannot-connect",
        "database-not-initialised",
        "confirmed",
    ), shown(document)
    assert about.startswith("postgres:orders-db"), shown(document)
    assert document["answer"]["params"].get("missing_database") == "reports", document["answer"]


def test_a_table_a_service_misses_found_in_another_schema_of_what_it_depends_on(
    env: ScenarioEnv,
) -> None:
    """The api (healthy, its DATABASE_URL on orders-db) logs that `invoices` does not exist;
    a migration made it in a schema `accounting` its search_path does not hold."""
    server = env.world.postgres()
    with server.connect(dbname="shop") as conn:
        conn.execute("CREATE SCHEMA accounting; CREATE TABLE accounting.invoices (id int)")

    def drop() -> None:
        with server.connect(dbname="shop") as conn:
            conn.execute("DROP SCHEMA IF EXISTS accounting CASCADE")

    env.later(drop)

    document = diagnose(
        env,
        "invoices page of the api is a 500 since the release. api log: "
        'sqlalchemy.exc.ProgrammingError: (psycopg.errors.UndefinedTable) relation "invoices" '
        "does not exist",
    )

    runbook, cause, verdict, about = answer_of(document)
    assert (runbook, cause, verdict) == ("db-missing-relation", "wrong-schema", "confirmed"), shown(
        document
    )
    assert about.startswith("postgres:orders-db"), shown(document)
    assert document["answer"]["params"].get("table") == "invoices", document["answer"]


def test_a_write_refused_as_read_only_is_a_replica_where_the_writer_was_expected(
    env: ScenarioEnv,
) -> None:
    """orders-db came back from maintenance as a standby (in recovery: it answers, its checks
    pass, it refuses writes). The api, its DATABASE_URL on orders-db, logs the refusal."""
    server = env.world.postgres()
    signal = server.datadir / "standby.signal"

    def writer_again() -> None:
        signal.unlink(missing_ok=True)
        server.restart()

    env.later(writer_again)
    server.stop()
    signal.touch()
    server.start()
    assert server.execute("SELECT pg_is_in_recovery()") == [(True,)]

    document = diagnose(
        env,
        "every order fails since the maintenance window, from the api: "
        "psycopg.errors.ReadOnlySqlTransaction: cannot execute INSERT in a read-only transaction",
    )

    runbook, cause, verdict, about = answer_of(document)
    assert (runbook, cause, verdict) == ("db-cannot-connect", "wrong-endpoint", "confirmed"), shown(
        document
    )
    assert about.startswith("postgres:orders-db"), shown(document)


# -- candidates ----------------------------------------------------------------------------------


def test_a_runbook_for_a_kind_that_is_not_here_never_ranks_first(env: ScenarioEnv) -> None:
    """A machine with Docker and the stores, no AWS and no Kubernetes: a container killed for
    memory is a compose matter, whatever the ECS and Kubernetes runbooks say of OOM kills."""
    del env.targets["aws"], env.targets["k8s"]
    renderer = env.container(
        "pdf-renderer",
        "echo 'rendering invoice batch 2026-12 (1840 pages)'; "
        "pages=$(yes 'rendered-page-row' | head -c 80000000); echo done",
        mem_limit="24m",
        memswap_limit="24m",
    )
    aws_faults.until(
        lambda: aws_faults.state(renderer)["Status"] == "exited", what="pdf-renderer killed"
    )

    document = diagnose(
        env, "pdf-renderer got OOM killed again, exit code 137. do we just give it more memory?"
    )

    candidates = document["candidates"]
    assert candidates and candidates[0]["runnable"], candidates[:3]
    runnable = [c["runnable"] for c in candidates]
    assert runnable == sorted(runnable, reverse=True), candidates  # none that cannot run first
    runbook, cause, verdict, about = answer_of(document)
    assert runbook.startswith("compose-") and cause == "oom-killed", shown(document)
    assert verdict == "confirmed" and about.endswith("pdf-renderer"), shown(document)


def test_a_short_name_part_that_only_one_service_has_names_it(env: ScenarioEnv) -> None:
    """The sso-gateway container is held to a fifth of a CPU and spins on every request; the
    operator calls it "the sso thing". It runs, so the sweep sees nothing wrong: its CPU, which
    only the runbook's own sample reads, is the answer."""
    gateway = env.container(
        "sso-gateway",
        "echo 'sso-gateway 2.4.0 listening on :8443'; while :; do :; done",
        nano_cpus=200_000_000,
        restart_policy={"Name": "unless-stopped"},
    )
    aws_faults.until(
        lambda: aws_faults.state(gateway)["Status"] == "running", what="sso-gateway running"
    )

    document = diagnose(env, "signing in through the sso thing takes ages since the deploy")

    runbook, cause, verdict, about = answer_of(document)
    assert (runbook, cause, verdict) == (
        "compose-high-cpu",
        "container-cpu-saturated",
        "confirmed",
    ), shown(document)
    assert about.endswith("sso-gateway"), shown(document)


def test_with_nothing_named_a_failing_store_comes_before_an_unrelated_failing_workload(
    env: ScenarioEnv,
) -> None:
    """orders-db went away; a batch deployment crash-loops and a report job exited, as they
    did yesterday. A report that names nothing is answered with the store."""
    env.dead_address("orders-db", "postgres", "postgresql")

    document = diagnose(env, "everything is erroring for customers since a few minutes, help")

    runbook, cause, verdict, about = answer_of(document)
    assert (runbook, verdict) == ("db-cannot-connect", "confirmed"), shown(document)
    assert cause == "server-down" and about == "postgres:orders-db", shown(document)


def test_tasks_replaced_by_the_load_balancer_are_answered_with_why_its_checks_fail(
    env: ScenarioEnv,
) -> None:
    """The target group checks /healthz; the api answers on /health, so every target fails
    with 404 and ECS replaces tasks that were never sick. The stop reason says "failed ELB
    health checks"; the answer is why they fail, found in the load balancer runbook."""
    stack = aws_faults.ecs_service(env)
    aws_faults.secret_readable(stack)
    lb = aws_faults.load_balancer(
        stack,
        health_path="/healthz",
        health=(
            "unhealthy",
            "Target.ResponseCodeMismatch",
            "Health checks failed with these codes: [404]",
        ),
    )
    replaced = [stack.running[0], aws_faults.new_task(stack)]
    aws_faults.stop(
        stack,
        replaced,
        stop_code="ServiceSchedulerInitiated",
        reason=f"Task failed ELB health checks in (target-group {lb.target_group})",
        exit_code=143,
        minutes_apart=5,
    )
    aws_faults.new_task(stack)
    aws_faults.register_running(stack, lb)
    aws_faults.counts(stack, running=2)

    document = diagnose(env, "shop-prod-api keeps cycling its tasks, the app logs look fine")

    runbook, cause, verdict, _ = answer_of(document)
    assert (runbook, cause, verdict) == (
        "ecs-alb-5xx",
        "all-targets-unhealthy",
        "confirmed",
    ), shown(document)
    replaced_by_elb = [d for d in document["diagnoses"] if d["cause"] == "health-check-failure"]
    assert replaced_by_elb and all(
        d["explained_by"] == "ecs-alb-5xx: all-targets-unhealthy" for d in replaced_by_elb
    ), shown(document)


# -- evidence ------------------------------------------------------------------------------------


def test_postgres_at_max_connections_is_diagnosed_as_such(env: ScenarioEnv) -> None:
    """Every slot of orders-db is held by leaked sessions; triage must still find out, with
    no slot of its own to spare, and say the limit is reached."""
    server = env.own_postgres("orders-db", max_connections=10)
    server.exhaust_connections()
    host, port = server.address.split(":")

    document = diagnose(
        env,
        f'psycopg2.OperationalError: connection to server at "{host}", port {port} failed: '
        "FATAL:  sorry, too many clients already",
    )

    runbook, cause, verdict, about = answer_of(document)
    assert (runbook, verdict) == ("db-connection-pool-exhausted", "confirmed"), shown(document)
    assert cause == "limit-reached" and about == "postgres:orders-db", shown(document)


def test_a_decisive_stop_reason_stands_when_the_check_that_would_corroborate_it_errors(
    env: ScenarioEnv,
) -> None:
    """Tasks stop with "unable to pull secrets" and the execution role they name is gone
    from IAM (deleted in a clean-up), so the check of what the role may do errors: the stop
    reason alone still makes the secrets cause the answer."""
    stack = aws_faults.ecs_service(env)
    iam = stack.aws.client("iam")
    role = aws_faults.EXECUTION_ROLE
    for policy in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        iam.delete_role_policy(RoleName=role, PolicyName=policy)
    for attached in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
        iam.detach_role_policy(RoleName=role, PolicyArn=attached["PolicyArn"])
    iam.delete_role(RoleName=role)
    failed = [*stack.running, *(aws_faults.new_task(stack) for _ in range(2))]
    aws_faults.stop(
        stack,
        failed,
        stop_code="TaskFailedToStart",
        reason=(
            "ResourceInitializationError: unable to pull secrets or registry auth: execution "
            "resource retrieval failed: unable to retrieve secret from asm: AccessDeniedException"
        ),
    )
    aws_faults.counts(stack, running=0)

    document = diagnose(env, "shop-prod-api tasks won't stay up since the IAM clean-up")

    runbook, cause, verdict, _ = answer_of(document)
    assert (runbook, cause) == ("ecs-tasks-failing-to-start", "secrets-unreadable"), shown(document)
    assert verdict in ("confirmed", "likely"), shown(document)
    evidence = document["answer"]["evidence"]
    assert any("secrets" in line for line in evidence), evidence
    assert any("error" in line.lower() or "unknown" in line.lower() for line in evidence), evidence


# -- correlation ---------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", CASCADES, ids=[s.name for s in CASCADES])
def test_every_cascade_of_the_benchmark_is_answered_with_the_dependency(
    env: ScenarioEnv, scenario: Scenario
) -> None:
    """One per pair of kinds: an HTTP, compose, Kubernetes or ECS symptom caused by a store, a
    broker or another service; the answer names the dependency, not the symptom, as the
    benchmark judges it."""
    scenario.make(env)
    answer = ask(env, scenario.symptom.format(**env.values), use_diagnose=True)

    assert answer.verdict == "confirmed" and right(scenario, answer), (
        f"{scenario.expected!r}: answered {answer.shown()} about {answer.about}"
    )
