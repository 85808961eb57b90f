"""The coverage report of one import: what became runbooks, checks and actions, what did not."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

MAPPED = {"check", "action"}
KIND_WHY = {
    "container": "only holds other sections",
    "reference": "reference: no symptom label, symptom table or problem in its title",
    "procedure": "a procedure: commands, but no problem named",
}
LOOKS_FOR = """\
A symptom section is a heading over a **Symptom**: label (also Symptoms, Error message, What
you see: bold, in a block quote, or a heading of its own), a heading over a table with
symptom or error-code and fix columns, a title that names a problem (error, fails, cannot,
timeout, slow, crash, ...), an error message as the title ("..." or Error: ...), or a question
asking why something happens ("Why ...?")."""


@dataclass
class CommandRecord:
    """One command of the guide and what it became."""

    section: str
    line: int
    text: str
    tool: str
    outcome: str  # check | action | run | lookup | unknown
    detail: str = ""  # the check or action, or why it stayed a step to run by hand
    destructive: bool = False
    changing: bool = False
    purpose: str = ""  # what it is for when not diagnostic (runbooks.importer.purpose)


@dataclass
class SectionRecord:
    """One section of the guide and what it became."""

    slug: str
    title: str
    line: int
    kind: str  # symptom | procedure | reference | container
    outcome: str  # runbook | cause | skipped | failed
    runbook: str = ""
    detail: str = ""
    level: int = 1  # of its heading (1 for `#`)


@dataclass
class Coverage:
    guide: str
    sections: list[SectionRecord] = field(default_factory=list)
    commands: list[CommandRecord] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def symptom_sections(self) -> list[SectionRecord]:
        return [section for section in self.sections if section.kind == "symptom"]

    @property
    def section_share(self) -> float:
        """Symptom sections that became a valid runbook or cause, of all symptom sections."""
        symptoms = self.symptom_sections
        done = [s for s in symptoms if s.outcome in {"runbook", "cause"}]
        return len(done) / len(symptoms) if symptoms else 1.0

    def counted_commands(self, kinds: tuple[str, ...] = ("symptom",)) -> list[CommandRecord]:
        """Commands the guide gives in sections of `kinds` (look-ups and non-commands aside)."""
        sections = {s.slug for s in self.sections if s.kind in kinds}
        return [
            c
            for c in self.commands
            if c.section in sections and c.outcome not in {"lookup", "unknown"}
        ]

    def diagnostic_commands(self) -> list[CommandRecord]:
        """Counted commands that look at or act on a running system: not those that provision
        infrastructure as code, build images, edit files, set up the host, wait or make a value."""
        return [c for c in self.counted_commands() if not c.purpose]

    @property
    def diagnostic_share(self) -> float:
        """Diagnostic commands of symptom sections that became checks or actions."""
        commands = self.diagnostic_commands()
        mapped = [c for c in commands if c.outcome in MAPPED]
        return len(mapped) / len(commands) if commands else 1.0

    @property
    def command_share(self) -> float:
        """Commands of symptom sections that became checks or actions, of all of them."""
        commands = self.counted_commands()
        mapped = [c for c in commands if c.outcome in MAPPED]
        return len(mapped) / len(commands) if commands else 1.0

    def missing_by_provider(self) -> dict[str, int]:
        """Unmapped commands of symptom sections, by the reason they stayed manual."""
        reasons: Counter[str] = Counter()
        for command in self.counted_commands():
            if command.outcome not in MAPPED:
                reason = command.detail
                if reason.startswith("not yet automatable"):
                    reason = reason.split(" (would be")[0]
                reasons[reason] += 1
        return dict(reasons.most_common())

    def no_symptoms(self) -> str:
        """Why nothing can be imported, when the guide has no symptom section; else ""."""
        if self.symptom_sections:
            return ""
        lines = [f"triage import: no symptom section found in {self.guide}: nothing to import."]
        if self.sections:
            lines.append(f"Headings seen ({len(self.sections)}):")
            lines += [
                f"  {'  ' * (s.level - 1)}{s.title}  ({KIND_WHY.get(s.kind, s.kind)})"
                for s in self.sections
            ]
        else:
            lines.append("Headings seen: none (the guide has no headings to divide it).")
        return "\n".join([*lines, LOOKS_FOR]) + "\n"

    def render(self) -> str:
        if not self.symptom_sections:
            return self.no_symptoms()
        lines = [f"Import of {self.guide}", ""]
        symptoms = self.symptom_sections
        done = [s for s in symptoms if s.outcome in {"runbook", "cause"}]
        counted = self.counted_commands()
        mapped = [c for c in counted if c.outcome in MAPPED]
        lines.append(
            f"Symptom sections imported: {len(done)}/{len(symptoms)} ({self.section_share:.0%})"
        )
        lines.append(
            f"Commands mapped to checks or actions: {len(mapped)}/{len(counted)} "
            f"({self.command_share:.0%})"
        )
        diagnostic = self.diagnostic_commands()
        lines.append(
            f"Diagnostic commands mapped to checks or actions: "
            f"{sum(1 for c in diagnostic if c.outcome in MAPPED)}/{len(diagnostic)} "
            f"({self.diagnostic_share:.0%}); not diagnostic: {len(counted) - len(diagnostic)}"
        )
        others = Counter(c.purpose for c in counted if c.purpose)
        if others:
            lines.append(
                "  not diagnostic: " + ", ".join(f"{n} {why}" for why, n in others.most_common())
            )
        lines += ["", "Sections:"]
        for section in self.sections:
            if section.kind == "container":
                continue
            target = f" -> {section.runbook}" if section.runbook else ""
            detail = f" ({section.detail})" if section.detail else ""
            lines.append(f"  {section.outcome:8} {section.kind:9} #{section.slug}{target}{detail}")
        by_outcome: dict[str, list[CommandRecord]] = defaultdict(list)
        for command in self.commands:
            by_outcome[command.outcome].append(command)
        titles = {
            "check": "Commands that became checks",
            "action": "Commands that became actions",
            "run": "Commands kept as steps to run by hand (run:)",
            "lookup": "Commands that compute a parameter (kept as its description)",
            "unknown": "Lines not understood (not a command triage knows)",
        }
        for outcome, title in titles.items():
            if not by_outcome.get(outcome):
                continue
            lines += ["", f"{title}: {len(by_outcome[outcome])}"]
            for command in by_outcome[outcome]:
                flag = " [destructive]" if command.destructive else ""
                flag += f" [{command.purpose}]" if command.purpose else ""
                detail = f"  -> {command.detail}" if command.detail else ""
                lines.append(f"  line {command.line:4}: {command.text[:70]}{flag}{detail}")
        missing = self.missing_by_provider()
        if missing:
            lines += ["", "Why commands of symptom sections stayed manual:"]
            lines += [f"  {count:3}  {reason}" for reason, count in missing.items()]
        if self.notes:
            lines += ["", "Notes:"] + [f"  {note}" for note in self.notes]
        return "\n".join(lines) + "\n"
