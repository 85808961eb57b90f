"""What a scenario is, how triage is asked about it, and whether its answer is right.

A scenario is a small module in `scenarios/`: `make(env)` breaks something in the shop (see
world.py), and `SCENARIO` says what the operator types or pastes, in their words, and which root
cause a reviewer expects. Triage is asked through its command line, as the README shows an
operator: `triage diagnose "SYMPTOM" --json`; where this triage has no `diagnose` yet, the two
steps the README documents instead: `triage suggest "SYMPTOM"`, then `triage check --runbook`
with the first runbook suggested. No `--param`: triage finds what it needs in the inventory.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.diagnosis.world import ScenarioEnv, run_triage

STYLES = ("paste", "vague", "question", "alert")
KINDS = ("redis", "postgres", "rabbitmq", "http", "compose", "kubernetes", "ecs")


@dataclass(frozen=True)
class Scenario:
    """A fault as the operator meets it, and the answer a reviewer expects.

    `accept`: the (runbook, cause) pairs that name the root cause; empty for a healthy twin,
    where the right answer is that nothing is confirmed. `about`: the entity (target, service,
    deployment, queue...) the answer must be about, when it matters which one.
    """

    symptom: str
    style: str
    kind: str
    expected: str
    make: Callable[[ScenarioEnv], None]
    accept: tuple[tuple[str, str], ...] = ()
    about: str = ""
    cascade: bool = False
    name: str = ""

    @property
    def healthy(self) -> bool:
        return not self.accept

    def __post_init__(self) -> None:
        if self.style not in STYLES:
            raise ValueError(f"style {self.style!r}: one of {STYLES}")
        if self.kind not in KINDS:
            raise ValueError(f"kind {self.kind!r}: one of {KINDS}")


def load_scenarios(only: str = "") -> list[Scenario]:
    """Every scenario module of bench/diagnosis/scenarios, by name (`only`: a substring)."""
    from bench.diagnosis import scenarios

    found: list[Scenario] = []
    for module in sorted(pkgutil.iter_modules(scenarios.__path__), key=lambda m: m.name):
        if only and only not in module.name:
            continue
        loaded = importlib.import_module(f"{scenarios.__name__}.{module.name}")
        scenario: Scenario = loaded.SCENARIO
        found.append(
            Scenario(**{**scenario.__dict__, "name": module.name})  # named by its file
        )
    return found


@dataclass
class Answer:
    """What triage answered: its top runbook and cause, the verdict, what it was about."""

    runbook: str = ""
    cause: str = ""
    title: str = ""
    verdict: str = ""
    about: list[str] = field(default_factory=list)
    confirmed: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    error: str = ""
    how: str = ""

    def shown(self) -> str:
        if self.error:
            return f"({self.error})"
        if not self.runbook:
            return "(no runbook)"
        cause = f"{self.cause} ({self.verdict})" if self.cause else "(no cause)"
        return f"{self.runbook}: {cause}"


def ask(env: ScenarioEnv, symptom: str, *, use_diagnose: bool) -> Answer:
    if use_diagnose:
        return _ask_diagnose(env, symptom)
    return _ask_suggest_then_check(env, symptom)


def _ask_diagnose(env: ScenarioEnv, symptom: str) -> Answer:
    done, seconds = run_triage(env, "diagnose", symptom, "--json")
    answer = Answer(seconds=seconds, how="diagnose")
    try:
        document = json.loads(done.stdout)
    except json.JSONDecodeError:
        answer.error = (done.stderr.strip().splitlines() or ["no answer"])[-1][:80]
        return answer
    top = document.get("answer") or {}
    answer.runbook = top.get("runbook", "")
    answer.cause = top.get("cause", "")
    answer.title = top.get("title", "")
    answer.verdict = top.get("verdict", "")
    about = top.get("about") or {}
    answer.about = [str(value) for value in about.values() if value]
    answer.about += [str(value) for value in (top.get("params") or {}).values()]
    answer.confirmed = [
        (item["runbook"], item["cause"])
        for item in document.get("causes", [])
        if item.get("verdict") == "confirmed"
    ]
    return answer


def _ask_suggest_then_check(env: ScenarioEnv, symptom: str) -> Answer:
    suggested, first = run_triage(env, "suggest", symptom, "--json")
    answer = Answer(seconds=first, how="suggest+check")
    try:
        ranked = json.loads(suggested.stdout)
    except json.JSONDecodeError:
        ranked = []
    if not ranked:
        answer.error = "no runbook suggested"
        return answer
    answer.runbook = ranked[0]["runbook"]
    checked, second = run_triage(env, "check", "--runbook", answer.runbook, "--json")
    answer.seconds += second
    try:
        document = json.loads(checked.stdout)
    except json.JSONDecodeError:
        answer.error = (checked.stderr.strip().splitlines() or ["no answer"])[-1][:80]
        return answer
    causes = document.get("causes", [])
    if causes:
        answer.cause, answer.title = causes[0]["id"], causes[0]["title"]
        answer.verdict = causes[0]["verdict"]
    answer.about = [str(value) for value in (document.get("params") or {}).values()]
    answer.confirmed = [
        (answer.runbook, cause["id"]) for cause in causes if cause["verdict"] == "confirmed"
    ]
    return answer


def right(scenario: Scenario, answer: Answer) -> bool:
    """A fault: the top cause is one the reviewer accepts, confirmed or likely, about the right
    entity. A healthy twin: nothing confirmed."""
    if scenario.healthy:
        return not answer.confirmed and answer.verdict != "confirmed"
    if (answer.runbook, answer.cause) not in scenario.accept:
        return False
    if answer.verdict not in ("confirmed", "likely"):
        return False
    return not scenario.about or any(scenario.about in value for value in answer.about)


def outcome(scenario: Scenario, answer: Answer) -> dict[str, Any]:
    return {
        "scenario": scenario.name,
        "kind": scenario.kind,
        "style": scenario.style,
        "cascade": scenario.cascade,
        "healthy": scenario.healthy,
        "expected": scenario.expected,
        "accept": [list(pair) for pair in scenario.accept],
        "about": scenario.about,
        "answer": answer.__dict__,
        "right": right(scenario, answer),
    }
