"""A guide file -> runbooks and a coverage report; the entry points the CLI uses."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from providers.registry import action_catalogue, check_catalogue
from providers.yamlsource import SourceError
from runbooks.importer.build import Builder, Draft
from runbooks.importer.labels import label_role, table_roles
from runbooks.importer.report import MAPPED, Coverage, SectionRecord
from runbooks.importer.sections import Block, Section, parse, slugify
from runbooks.loader import load_runbook
from runbooks.model import Runbook

REFERENCE = re.compile(
    r"^(?:table of contents|contents|overview|introduction|getting help|help|support(?: \w+)?|"
    r"contact\w*|document history|change ?log|references?|see also|before asking.*|"
    r"information to provide|(?:\w+ )?checklist|glossary|log locations|prerequisites|summary)$",
    re.IGNORECASE,
)
PROBLEM = re.compile(
    r"\b(?:errors?|fail\w*|can'?t|cannot|won'?t|not|unable|slow|high|exhaust\w*|refused|"
    r"time[ds]? ?outs?|timed out|crash\w*|restart\w*|backlog|denied|expired?|invalid|pending|"
    r"missing|leaks?|out of|unavailable|stuck|dropp\w*|corrupt\w*|unhealthy|issues?|problems?|"
    r"inconsisten\w*|exceeded|block\w*|emergency|broken|lag|oom\w*|[45]\d\d|false positives?|"
    r"already|wrong|unreachable|hang\w*)\b",
    re.IGNORECASE,
)
PROCEDURE_START = re.compile(
    r"^(?:view|viewing|find|finding|check|checking|connect|connecting|set|setting|collect\w*|"
    r"enable|run|running|use|using|get|getting|test|testing|monitor|monitoring|how to|debug\w*)\b",
    re.IGNORECASE,
)
PROCEDURE_END = re.compile(
    r"(?:inspection|debugging|analysis|queries|recovery|maintenance|strategy|procedures?|tools|"
    r"commands|health check|diagnostics)$",
    re.IGNORECASE,
)
# A question about what happens ("Why are users logged out?") names a problem, like a symptom.
WHY = re.compile(r"^why\b.*\?$", re.IGNORECASE)
TITLE_PREFIX = re.compile(r"^(?:(?:problem|issue|error|symptom)\s*:\s*|\d+[.)](?:\s+|$))+", re.I)


NO_SYMPTOMS = 3  # the exit code of `triage import` for a guide with no symptom section


@dataclass
class ImportResult:
    """The runbooks of one guide (validated models and their YAML) and the coverage report."""

    guide: Path
    runbooks: list[Runbook] = field(default_factory=list)
    yaml: dict[str, str] = field(default_factory=dict)  # runbook id -> YAML text
    coverage: Coverage = field(default_factory=lambda: Coverage(""))
    errors: list[str] = field(default_factory=list)


def clean_title(title: str) -> str:
    """The heading without its numbering; quotes around all of it (a quoted error message)
    go, a quote that closes a phrase inside it stays."""
    title = TITLE_PREFIX.sub("", " ".join(title.split())).strip()
    quotes = "\"'“”"
    if len(title) > 1 and title[0] in quotes and title[-1] in quotes:
        return title[1:-1].strip() or title
    return title


def _flatten_labels(section: Section) -> None:
    """`#### Symptom` / `#### Solution` headings are labels of their parent, not sections.

    Not under the guide itself (the root, or the one level-1 heading that titles the whole
    guide): there a `## Quick fixes` or `## Solutions` is a part of the guide of its own."""
    for child in section.children:
        _flatten_labels(child)
    titles_the_guide = section.level == 0 or (
        section.level == 1 and section.parent is not None and section.parent.children == [section]
    )
    if titles_the_guide:
        return
    kept: list[Section] = []
    for child in section.children:
        if label_role(child.title) and not child.children:
            section.blocks.append(Block("paragraph", child.title, child.line, label=child.title))
            section.blocks.extend(child.blocks)
        else:
            kept.append(child)
    section.children = kept


def classify(section: Section) -> str:
    """symptom | procedure | reference | container."""
    blocks = [b for b in section.blocks if b.kind != "rule"]
    substantive = [b for b in blocks if b.kind in {"code", "table", "item"} or b.label]
    title = clean_title(section.title)
    if section.children and not substantive:
        return "container"
    if REFERENCE.match(title) or not blocks:
        return "reference"
    roles = {label_role(b.label) for b in blocks if b.label}
    tables = [b for b in blocks if b.kind == "table" and table_roles(b.header)]
    if "symptom" in roles or tables:
        return "symptom"
    if TITLE_PREFIX.match(section.title) and not section.title[:1].isdigit():
        return "symptom"
    if re.match(r"^[\"'“]", section.title) or WHY.match(title):
        return "symptom"
    if PROCEDURE_START.match(title):
        return "procedure" if any(b.kind == "code" for b in blocks) else "reference"
    if PROBLEM.search(title) or roles & {"cause", "causes", "solution", "diagnosis"}:
        return "symptom"
    if any(b.kind == "code" for b in blocks) or PROCEDURE_END.search(title):
        return "procedure" if any(b.kind == "code" for b in blocks) else "reference"
    return "reference"


def _draft(
    section: Section, guide: Path, checks: Mapping[str, Any], actions: Mapping[str, Any]
) -> Draft:
    title = clean_title(section.title)
    draft = Draft(
        id=f"{slugify(guide.stem)}-{section.slug}",
        title=title,
        source=f"{guide.name}#{section.slug}",
    )
    if re.match(r"^[\"'“]", section.title):
        draft.signatures.append(re.escape(title))
    builder = Builder(draft, section, checks, actions)
    builder.feed(section.blocks)
    builder.finish()
    return draft


def _references(value: Any) -> set[str]:
    if isinstance(value, str):
        return set(re.findall(r"\$\{?([a-z_][a-z0-9_]*)\}?", value))
    if isinstance(value, dict):
        return set().union(*(_references(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(_references(item) for item in value))
    return set()


def document(draft: Draft) -> dict[str, Any]:
    """The runbook as plain data, in the order a person reads it."""
    causes: list[dict[str, Any]] = []
    used_ids: set[str] = set()
    signatures = list(draft.signatures)
    for cause in draft.causes:
        base = slugify(cause.title)[:60].strip("-") or "cause"
        cause_id, count = base, 1
        while cause_id in used_ids:
            count += 1
            cause_id = f"{base}-{count}"
        used_ids.add(cause_id)
        entry: dict[str, Any] = {"id": cause_id, "title": cause.title}
        if cause.description:
            entry["description"] = " ".join(cause.description)
        if cause.evidence:
            entry["evidence"] = cause.evidence
        entry["fixes"] = cause.fixes
        causes.append(entry)
        signatures += [s for s in cause.signatures if s not in signatures]
    doc: dict[str, Any] = {
        "id": draft.id,
        "title": draft.title,
        "source": draft.source,
        "symptoms": draft.symptoms,
    }
    if signatures:
        doc["signatures"] = signatures
    if draft.applies_to:
        doc["applies_to"] = draft.applies_to
    body = {"checks": draft.checks, "causes": causes}
    used = _references(body) | {step["on"] for step in draft.checks}
    used |= {fix["on"] for cause in causes for fix in cause["fixes"] if "on" in fix}
    used |= set(draft.command_targets)
    params = {name: p for name, p in draft.table.params.items() if name in used}
    if params:
        doc["params"] = dict(sorted(params.items(), key=lambda item: "target" not in item[1]))
    if draft.checks:
        doc["checks"] = draft.checks
    doc["causes"] = causes
    if draft.checks:
        doc["verify"] = [step["id"] for step in draft.checks]
    return doc


class _Dumper(yaml.SafeDumper):
    pass


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _string)


def to_yaml(doc: dict[str, Any]) -> str:
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def import_guide(path: Path) -> ImportResult:
    """Runbooks and a coverage report from one Markdown troubleshooting guide."""
    checks, actions = check_catalogue(), action_catalogue()  # what is registered now
    text = path.read_text(encoding="utf-8", errors="replace")
    root = parse(text)
    _flatten_labels(root)
    result = ImportResult(path, coverage=Coverage(path.name))
    for section in root.walk()[1:]:
        kind = classify(section)
        record = SectionRecord(
            section.slug, clean_title(section.title), section.line, kind, "", level=section.level
        )
        result.coverage.sections.append(record)
        if kind in {"reference", "container"}:
            record.outcome = "skipped"
            continue
        draft = _draft(section, path, checks, actions)
        result.coverage.commands.extend(draft.records)
        result.coverage.notes += [f"#{section.slug}: {note}" for note in draft.header_notes]
        yaml_text = to_yaml(document(draft))
        try:
            runbook = load_runbook(
                Path(f"{draft.id}.yaml"), text=yaml_text, checks=checks, actions=actions
            )
        except SourceError as error:
            record.outcome, record.detail = "failed", str(error)
            result.errors.append(str(error))
            continue
        result.runbooks.append(runbook)
        result.yaml[runbook.id] = yaml_text
        record.outcome, record.runbook = "runbook", runbook.id
        mapped = sum(1 for c in draft.records if c.outcome in MAPPED)
        record.detail = (
            f"{len(runbook.causes)} causes, {len(runbook.checks)} checks, {mapped} "
            f"of {len([c for c in draft.records if c.outcome != 'unknown'])} commands"
        )
    return result


def write_runbooks(result: ImportResult, out_dir: Path) -> list[Path]:
    """One YAML file per runbook, named by its id."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for runbook_id, text in result.yaml.items():
        path = out_dir / f"{runbook_id}.yaml"
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def run_import(guide: Path, out_dir: Path | None) -> tuple[int, str]:
    """For `triage import GUIDE.md [-o DIR]`: (exit code, the report to print).

    0: every runbook validated; 1: some section failed to import; 2: the guide cannot be read;
    3 (`NO_SYMPTOMS`): the guide has no symptom section, and the report says which headings it
    saw and what it looks for.
    """
    try:
        result = import_guide(guide)
    except OSError as error:
        return 2, f"triage import: cannot read {guide}: {error.strerror or error}\n"
    if not result.coverage.symptom_sections:
        return NO_SYMPTOMS, result.coverage.no_symptoms()
    report = result.coverage.render()
    if out_dir is not None:
        written = write_runbooks(result, out_dir)
        report += f"\nWrote {len(written)} runbooks to {out_dir}\n"
    else:
        report += f"\n{len(result.yaml)} runbooks (not written: pass -o DIR to write them)\n"
    if result.errors:
        report += "\nSections that failed to import:\n" + "".join(
            f"  {error}\n" for error in result.errors
        )
    return (1 if result.errors else 0), report


@dataclass
class Measurement:
    """Both shares over a set of guides, with the numbers of each."""

    per_guide: dict[str, tuple[int, int, int, int]]  # name -> sections done/total, commands
    # name -> diagnostic commands mapped/total (those not for provisioning, builds, files ...)
    diagnostic: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def section_share(self) -> float:
        done = sum(v[0] for v in self.per_guide.values())
        total = sum(v[1] for v in self.per_guide.values())
        return done / total if total else 1.0

    @property
    def command_share(self) -> float:
        done = sum(v[2] for v in self.per_guide.values())
        total = sum(v[3] for v in self.per_guide.values())
        return done / total if total else 1.0

    @property
    def diagnostic_share(self) -> float:
        done = sum(v[0] for v in self.diagnostic.values())
        total = sum(v[1] for v in self.diagnostic.values())
        return done / total if total else 1.0


def measure(paths: Iterable[Path]) -> Measurement:
    """Imports every guide and counts symptom sections imported and commands mapped: all of
    them, and the diagnostic ones."""
    per_guide: dict[str, tuple[int, int, int, int]] = {}
    diagnostics: dict[str, tuple[int, int]] = {}
    for path in paths:
        coverage = import_guide(path).coverage
        symptoms = coverage.symptom_sections
        counted = coverage.counted_commands()
        per_guide[path.name] = (
            sum(1 for s in symptoms if s.outcome in {"runbook", "cause"}),
            len(symptoms),
            sum(1 for c in counted if c.outcome in MAPPED),
            len(counted),
        )
        diagnostic = coverage.diagnostic_commands()
        diagnostics[path.name] = (
            sum(1 for c in diagnostic if c.outcome in MAPPED),
            len(diagnostic),
        )
    return Measurement(per_guide, diagnostics)
