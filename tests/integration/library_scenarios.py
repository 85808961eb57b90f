"""Running a library runbook in a test: diagnose it on given targets, and judge the ranking."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from providers.environment import LiveEnvironment
from providers.inventory import Environment, Inventory, Settings, Target
from runbooks.engine import Diagnosis, Verdict, diagnose
from runbooks.loader import load_library

LIBRARY = load_library().runbooks


async def run(
    runbook_id: str, *targets: Target | Iterable[Target], timeout: float = 5.0, **params: Any
) -> Diagnosis:
    """Diagnose a library runbook in an environment holding exactly these targets."""
    flat = [t for item in targets for t in ([item] if isinstance(item, Target) else item)]
    inventory = Inventory(
        settings=Settings(check_timeout=timeout),
        environments={"test": Environment(targets=flat)},
    )
    live = LiveEnvironment(inventory)
    try:
        return await diagnose(LIBRARY[runbook_id], live, params)
    finally:
        await live.close()


def describe(diagnosis: Diagnosis) -> str:
    """Every cause with its verdict and evidence, for a failure message."""
    return "\n".join(
        f"{item.cause.id}: {item.verdict} "
        + "; ".join(evidence.explanation for evidence in item.evidence)
        for item in diagnosis.causes
    )


def assert_first(diagnosis: Diagnosis, cause_id: str, *evidence: str) -> None:
    """The cause ranks first, confirmed, all its evidence holding (and saying `evidence`)."""
    first = diagnosis.causes[0]
    assert (first.cause.id, first.verdict) == (cause_id, Verdict.CONFIRMED), describe(diagnosis)
    assert first.evidence and all(item.holds for item in first.evidence), describe(diagnosis)
    explained = " | ".join(item.explanation for item in first.evidence)
    for text in evidence:
        assert text in explained, explained


def assert_healthy(diagnosis: Diagnosis) -> None:
    """No cause is confirmed."""
    assert diagnosis.confirmed == [], describe(diagnosis)
