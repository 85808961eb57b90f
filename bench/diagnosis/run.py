"""Run the diagnosis scenarios, print one row each and the accuracy, write the results.

`python -m bench --only diagnosis` (with the other benchmarks' table) or `python -m
bench.diagnosis [--only NAME]` on its own. Results: bench/results/diagnosis.json.
"""

from __future__ import annotations

import json
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.diagnosis.scenario import Answer, Scenario, ask, load_scenarios, outcome
from bench.diagnosis.world import World, run_triage, scenario_env
from bench.harness import Figure


def reused_symptoms(scenarios: list[Scenario]) -> dict[str, str]:
    """Scenarios whose symptom holds a runbook's own symptom text (4 words or more): such a
    scenario tests that the runbook exists, not that triage finds the cause. A pasted log line
    may hold the server's own error message (a runbook lists it too), but not as most of it."""
    from runbooks.loader import load_library

    phrases = {
        symptom.lower(): runbook.id
        for runbook in load_library().runbooks.values()
        for symptom in runbook.symptoms
        if len(symptom.split()) >= 4
    }
    return {
        scenario.name: f"{phrases[phrase]}: {phrase!r}"
        for scenario in scenarios
        for phrase in phrases
        if phrase in scenario.symptom.lower()
        and (scenario.style != "paste" or len(phrase) > 0.6 * len(scenario.symptom))
    }


def run(scenarios: list[Scenario], *, log: Any = sys.stderr) -> list[dict[str, Any]]:
    """Each scenario in turn: its fault made, triage asked, the fault undone."""
    reused = reused_symptoms(scenarios)
    if reused:
        raise SystemExit(
            "scenarios reuse a runbook's symptom text:\n"
            + "\n".join(f"  {name}: {why}" for name, why in reused.items())
        )
    world = World()
    results: list[dict[str, Any]] = []
    try:
        started = time.monotonic()
        world.baseline_targets()  # every server up before the first scenario is timed
        print(f"servers up in {time.monotonic() - started:.0f} s", file=log, flush=True)
        with scenario_env(world) as probe:
            done, _ = run_triage(probe, "diagnose", "--help")
            use_diagnose = done.returncode == 0
        for scenario in scenarios:
            with scenario_env(world) as env:
                try:
                    scenario.make(env)
                    symptom = scenario.symptom.format(**env.values)
                    answer = ask(env, symptom, use_diagnose=use_diagnose)
                except Exception as error:  # one broken scenario must not hide the others
                    symptom = scenario.symptom
                    answer = Answer(error=f"{type(error).__name__}: {error}"[:120])
            result = {**outcome(scenario, answer), "symptom": symptom}
            results.append(result)
            mark = "right" if result["right"] else "WRONG"
            print(f"  {mark:5} {scenario.name}: {answer.shown()}", file=log, flush=True)
    finally:
        world.close()
    return results


def _cut(text: str, width: int) -> str:
    text = re.sub(r"\s+", " ", text)
    return text if len(text) <= width else text[: width - 1] + "…"


def table(results: list[dict[str, Any]]) -> str:
    rows = [("scenario", "symptom", "expected", "triage: runbook / cause (verdict)", "", "s")]
    for item in results:
        answer = item["answer"]
        expected = "nothing confirmed" if item["healthy"] else item["expected"]
        rows.append(
            (
                item["scenario"],
                _cut(item["symptom"], 44),
                _cut(expected, 40),
                _cut(Answer(**answer).shown(), 58),
                "right" if item["right"] else "WRONG",
                f"{answer['seconds']:.1f}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    right = [item for item in results if item["right"]]
    seconds = [item["answer"]["seconds"] for item in results]
    by_kind: dict[str, list[int]] = {}
    for item in results:
        counts = by_kind.setdefault(item["kind"], [0, 0])
        counts[0] += item["right"]
        counts[1] += 1
    cascades = [item for item in results if item["cascade"]]
    twins = [item for item in results if item["healthy"]]
    styles = Counter(item["style"] for item in results)
    return {
        "right": len(right),
        "total": len(results),
        "by_kind": by_kind,
        "styles": dict(styles),
        "cascades": [sum(item["right"] for item in cascades), len(cascades)],
        "twins_confirmed": sum(not item["right"] for item in twins),
        "twins": len(twins),
        "median_seconds": statistics.median(seconds) if seconds else float("nan"),
        "worst_seconds": max(seconds) if seconds else float("nan"),
        "worst": max(results, key=lambda item: item["answer"]["seconds"])["scenario"]
        if results
        else "",
        "how": results[0]["answer"]["how"] if results else "",
    }


def summary_lines(found: dict[str, Any]) -> str:
    kinds = ", ".join(f"{kind} {r}/{n}" for kind, (r, n) in sorted(found["by_kind"].items()))
    cascades = found["cascades"]
    return "\n".join(
        [
            f"top-1 accuracy: {found['right']}/{found['total']} "
            f"({found['right'] / max(found['total'], 1):.0%}), asked with `triage "
            f"{found['how']}`",
            f"by kind: {kinds}",
            f"cascades answered with the dependency: {cascades[0]}/{cascades[1]}",
            f"healthy twins with a cause confirmed: {found['twins_confirmed']}/{found['twins']}",
            f"seconds per scenario: median {found['median_seconds']:.1f}, worst "
            f"{found['worst_seconds']:.1f} ({found['worst']})",
        ]
    )


def figures(found: dict[str, Any]) -> list[Figure]:
    share = 100 * found["right"] / max(found["total"], 1)
    return [
        Figure("diagnosis top-1 accuracy", share, "%", goal=95, at_least=True),
        Figure(
            "diagnosis: cascades answered with the dependency",
            found["cascades"][0],
            f"of {found['cascades'][1]}",
            goal=found["cascades"][1],
            at_least=True,
        ),
        Figure(
            "diagnosis: healthy twins with a cause confirmed",
            found["twins_confirmed"],
            f"of {found['twins']}",
            goal=0,
        ),
        Figure("diagnosis: worst scenario", found["worst_seconds"], "s", goal=5),
        Figure("diagnosis: median scenario", found["median_seconds"], "s"),
    ]


def measure(servers: Any, out_dir: Path, *, quick: bool = False, only: str = "") -> list[Figure]:
    """For `python -m bench --only diagnosis`: the suite, its table, the figures."""
    del servers, quick  # the scenarios' world has servers of its own; every scenario runs
    results = run(load_scenarios(only))
    found = summary(results)
    print(table(results))
    print(summary_lines(found))
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "diagnosis.json").write_text(
        json.dumps({"summary": found, "scenarios": results}, indent=2, default=str),
        encoding="utf-8",
    )
    return figures(found)
