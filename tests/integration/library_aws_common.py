"""Shared by the aws family's runbook scenario tests: load a runbook, diagnose it on moto.

No tests here; test_library_aws_ecs.py and test_library_aws_account.py hold the scenarios.
"""

from __future__ import annotations

from typing import Any

from providers.environment import LiveEnvironment
from providers.inventory import Environment, Inventory, Target
from runbooks.engine import Diagnosis, Verdict, diagnose
from runbooks.loader import LIBRARY, load_runbook
from tests.servers.moto_server import MotoAws

CLUSTER, SERVICE = "shop-prod", "shop-prod-api"


async def run_runbook(
    runbook_id: str,
    aws: MotoAws,
    params: dict[str, Any] | None = None,
    *,
    targets: list[Target] | None = None,
) -> Diagnosis:
    """Diagnose the library's runbook in an environment of the moto ecs target (and `targets`)."""
    runbook = load_runbook(LIBRARY / f"{runbook_id}.yaml")
    inventory = Inventory(
        environments={
            "prod": Environment(
                targets=[aws.target(timeout=10), *(targets or [])],
                params={"cluster": CLUSTER, "service": SERVICE},
            )
        }
    )
    live = LiveEnvironment(inventory)
    try:
        return await diagnose(runbook, live, params or {})
    finally:
        await live.close()


def assert_first(diagnosis: Diagnosis, cause_id: str) -> None:
    """The injected cause is ranked first, confirmed, with every piece of its evidence holding."""
    first = diagnosis.causes[0]
    verdicts = [(c.cause.id, c.verdict.value) for c in diagnosis.causes]
    checks = {k: (r.status.value, r.summary) for k, r in diagnosis.results.items()}
    assert (first.cause.id, first.verdict) == (cause_id, Verdict.CONFIRMED), (verdicts, checks)
    assert first.evidence and all(item.holds for item in first.evidence)


def assert_nothing_confirmed(diagnosis: Diagnosis) -> None:
    confirmed = [c.cause.id for c in diagnosis.confirmed]
    checks = {k: (r.status.value, r.summary) for k, r in diagnosis.results.items()}
    assert confirmed == [], checks
    errors = {k: v for k, v in checks.items() if v[0] == "error"}
    assert errors == {}, errors


def http_target(name: str, url: str, **options: Any) -> Target:
    return Target(kind="http", name=name, url=url, timeout=3, options=options)
