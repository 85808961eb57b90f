"""Which troubleshooting-guide sections the built-in library covers, computed from the files.

Every symptom, problem, error-message, quick-fix or recovery section of a guide must map to a
runbook, or to a cause inside one. The map lives in runbooks/library/coverage/*.yaml
(`"GUIDE#section-slug": runbook-id` or `runbook-id#cause-id`); the sections come from the
guides' own headings, so a new section in a guide shows up as uncovered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from runbooks.importer.guide import _flatten_labels, classify, clean_title
from runbooks.importer.sections import parse
from runbooks.model import Runbook

COVERAGE_DIR = Path(__file__).parent / "library" / "coverage"
COVERED_KINDS = frozenset({"symptom", "procedure"})


@dataclass(frozen=True, slots=True)
class GuideSection:
    anchor: str  # "002_10817c68e5111664.txt#problem-ecs-tasks-failing-to-start"
    title: str
    kind: str
    line: int


def guide_sections(path: Path) -> list[GuideSection]:
    root = parse(path.read_text(encoding="utf-8", errors="replace"))
    _flatten_labels(root)
    return [
        GuideSection(
            f"{path.name}#{section.slug}",
            clean_title(section.title),
            classify(section),
            section.line,
        )
        for section in root.walk()[1:]
    ]


def required_sections(paths: Iterable[Path]) -> list[GuideSection]:
    """The sections the library must cover: symptoms and procedures, not references."""
    return [s for path in paths for s in guide_sections(path) if s.kind in COVERED_KINDS]


def load_coverage(directory: Path = COVERAGE_DIR) -> dict[str, str]:
    coverage: dict[str, str] = {}
    for path in sorted(directory.glob("*.yaml")):
        entries = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for anchor, target in entries.items():
            if anchor in coverage:
                raise ValueError(f"{path.name}: {anchor} is mapped twice")
            coverage[str(anchor)] = str(target)
    return coverage


def coverage_problems(
    sections: Iterable[GuideSection],
    coverage: Mapping[str, str],
    runbooks: Mapping[str, Runbook],
) -> list[str]:
    """What is uncovered or points nowhere; empty when the library covers every section."""
    problems = []
    known = {section.anchor for section in sections}
    for section in sections:
        if section.anchor not in coverage:
            problems.append(
                f"{section.anchor} ({section.title!r}, line {section.line}) is not "
                "covered by any runbook"
            )
    for anchor, target in coverage.items():
        runbook_id, _, cause_id = target.partition("#")
        runbook = runbooks.get(runbook_id)
        if runbook is None:
            problems.append(f"{anchor} maps to {target}, but there is no runbook {runbook_id!r}")
        elif cause_id and cause_id not in {cause.id for cause in runbook.causes}:
            problems.append(
                f"{anchor} maps to {target}, but {runbook_id} has no cause {cause_id!r}"
            )
        if anchor not in known:
            problems.append(f"{anchor} is mapped but no such section needs covering")
    return problems


@dataclass(frozen=True, slots=True)
class AutomationShare:
    automated: int
    manual: int

    @property
    def share(self) -> float:
        total = self.automated + self.manual
        return self.automated / total if total else 0.0


def automation_share(runbooks: Iterable[Runbook]) -> AutomationShare:
    """Diagnostic steps that run as checks, against those left as manual steps."""
    automated = manual = 0
    for runbook in runbooks:
        automated += len(runbook.checks)
        manual += len(runbook.manual)
    return AutomationShare(automated, manual)
