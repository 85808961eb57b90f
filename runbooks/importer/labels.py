"""Labels and tables: how a guide says "symptom", "cause", "solution" and "diagnosis"."""

from __future__ import annotations

import re

LABELS: list[tuple[str, str]] = [
    ("symptom", r"^(?:symptoms?|error messages?|what you (?:see|notice)|what happens|signs?)$"),
    (
        "causes",
        r"^(?:common|possible|likely|typical)\s+(?:causes|errors|issues|problems)|"
        r"\bcauses?\s*(?:&|and)\s*(?:solutions?|fixes)",
    ),
    ("cause", r"^(?:root\s+|likely\s+|probable\s+)?causes?$|^(?:reason|why)$"),
    (
        "solution",
        r"^(?:solutions?|resolution|fix(?:es)?|remediation|workaround|quick fix(?:es)?|"
        r"how to (?:fix|resolve)|what to do|recovery)$",
    ),
    (
        "diagnosis",
        r"^(?:diagnos[ie]s|diagnostics?|diagnostic steps|investigation|check|"
        r"how to (?:check|diagnose|confirm)|verification|confirm)$",
    ),
]
STEP_VERBS = r"^(?:check|verify|test|inspect|confirm|look|review|find|identify|monitor|view|debug)"


def label_role(label: str) -> str:
    lowered = " ".join(label.split()).lower().rstrip(":").strip()
    return next((role for role, pattern in LABELS if re.search(pattern, lowered)), "")


def table_roles(header: list[str]) -> tuple[int, int | None, int] | None:
    """(symptom, meaning, fix) columns of a symptom/fix or error-code table, or None."""
    lowered = [" ".join(cell.split()).lower() for cell in header]

    def find(pattern: str) -> int | None:
        return next((i for i, cell in enumerate(lowered) if re.search(pattern, cell)), None)

    symptom = find(r"symptom|problem|issue|error|code|message|status")
    fix = find(r"fix|solution|resolution|remed|action|what to do|workaround")
    meaning = find(r"meaning|description|cause|explanation")
    if symptom is None or fix is None or symptom == fix:
        return None
    return symptom, meaning if meaning not in {symptom, fix} else None, fix
