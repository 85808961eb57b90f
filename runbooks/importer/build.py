"""Guide sections -> runbook drafts (plain data, validated by the loader afterwards).

A symptom section becomes one runbook. Its causes come from the guide's structure: a
**Cause**: label, numbered bold items under **Common Causes**/**Solutions**, rows of a
symptom/fix or error-code table, or, when a section holds several Symptom/Solution pairs,
one cause per pair. Commands become checks (read-only ones the registry can run), actions
(changing ones it can run, destructive only onto destructive actions), or `run:` steps;
prose becomes manual steps. A `run:` step passes the loader's command rules: it declares a
target of each kind it reaches (optional when no check needs it) and takes every value from the
runbook; one that needs a secret the operator holds, loops in the shell, or builds images or
installs tools on a workstation is a manual step instead.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from providers.registry import command_catalogue
from runbooks.commands import kinds_used, programs, references
from runbooks.importer.commands import Command, looks_like_command, split_block
from runbooks.importer.labels import STEP_VERBS, label_role, table_roles
from runbooks.importer.mapping import Arg, Mapping_, map_command
from runbooks.importer.params import (
    SECRET_NAME,
    ParamTable,
    by_hand,
    command_values,
    fill_placeholders,
    parameterize,
    redact_headers,
)
from runbooks.importer.prose import prose_checks
from runbooks.importer.purpose import FILES, IMAGES, SETUP, purpose
from runbooks.importer.report import CommandRecord
from runbooks.importer.sections import Block, Inline, Section, slugify

SNIPPET_LIMIT = 1500
# An argument that holds a placeholder or a variable (`$x`, `<x>`, `your-x`, `sg-xxx`).
PLACEHOLDER_LIKE = re.compile(r"[$<]|\byour-|-x{3,}")


@dataclass
class CauseDraft:
    title: str
    description: list[str] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    fixes: list[dict[str, Any]] = field(default_factory=list)
    signatures: list[str] = field(default_factory=list)


@dataclass
class Draft:
    """A runbook being built from one section."""

    id: str
    title: str
    source: str
    symptoms: list[str] = field(default_factory=list)
    signatures: list[str] = field(default_factory=list)
    table: ParamTable = field(default_factory=ParamTable)
    checks: list[dict[str, Any]] = field(default_factory=list)
    causes: list[CauseDraft] = field(default_factory=list)
    applies_to: list[str] = field(default_factory=list)
    records: list[CommandRecord] = field(default_factory=list)
    header_notes: list[str] = field(default_factory=list)
    command_targets: list[str] = field(default_factory=list)  # target params `run:` steps reach


class Builder:
    """Builds one runbook draft from one section's blocks."""

    def __init__(
        self, draft: Draft, section: Section, checks: Mapping[str, Any], actions: Mapping[str, Any]
    ) -> None:
        self.draft, self.section = draft, section
        self.catalogue_checks, self.catalogue_actions = checks, actions
        self.zone, self.context = "intro", ""
        self.cause: CauseDraft | None = None
        self.explicit = False  # a cause came from the guide's structure
        self.groups: list[tuple[str, list[dict[str, Any]]]] = [("", [])]
        self.seen_fix = False

    # -- where things go -------------------------------------------------------------------
    def _fixes(self) -> list[dict[str, Any]]:
        return self.cause.fixes if self.cause is not None else self.groups[-1][1]

    def _new_cause(self, title: str) -> None:
        self.cause = CauseDraft(_words(title).rstrip(":").strip() or self.draft.title)
        self.draft.causes.append(self.cause)
        self.explicit = True

    def _symptom(self, text: str) -> None:
        text = _words(text)
        if text and text not in self.draft.symptoms:
            self.draft.symptoms.append(text)
        for quoted in re.findall(r"\"([^\"]{6,})\"", text):
            self._signature(quoted)
        if self.groups[-1][0] == "":
            title = re.sub(r"^(?:error|exception)\s*:\s*", "", text, flags=re.I)
            self.groups[-1] = (title, self.groups[-1][1])

    def _signature(self, text: str) -> None:
        text = re.sub(r"^(?:error|exception|fatal)\s*:\s*", "", text.strip(), flags=re.I)
        if len(text) >= 6 and (escaped := re.escape(text)) not in self.draft.signatures:
            self.draft.signatures.append(escaped)

    # -- blocks ----------------------------------------------------------------------------
    def feed(self, blocks: list[Block]) -> None:
        for index, block in enumerate(blocks):
            following = blocks[index + 1] if index + 1 < len(blocks) else None
            if self.zone == "symptom" and index and blocks[index - 1].quoted and not block.quoted:
                self.zone = "diagnosis"  # the quote held the symptom; what follows looks into it
            if block.kind == "code":
                self._code(block)
            elif block.kind == "table":
                self._table(block)
            elif (
                block.kind == "item"
                and following is not None
                and following.kind == "code"
                and following.depth > block.depth
                and not block.label
                and not block.code_spans
                and self.zone != "symptom"
            ):
                self.context = block.text.rstrip(":")[:80]  # titles its code
            elif block.kind in {"paragraph", "item"}:
                self._text(block)

    def start_label(self, label: str, rest: Inline | None = None) -> bool:
        role = label_role(label)
        if not role:
            return False
        if role == "symptom":
            if self.seen_fix:  # another Symptom/Solution pair in the same section
                self.groups.append(("", []))
                self.seen_fix = False
            self.cause = None
        elif role in {"causes", "diagnosis"}:
            self.cause = None
        elif role == "cause" and rest is not None and rest.text:
            self._new_cause(rest.text)
            rest = None
        elif role == "solution":
            self.seen_fix = True
        self.zone, self.context = role, ""
        if rest is not None and rest.text:
            self._prose(rest, None)
        return True

    def _text(self, block: Block) -> None:
        if block.label is not None and self.start_label(block.label, block.rest):
            return
        numbered_title = block.numbered and block.depth == 0
        if numbered_title and block.label and self.zone != "symptom":
            title = block.label
            if self.zone == "diagnosis" or re.match(STEP_VERBS, title, re.I):
                self.context = _words(f"{title} {block.rest.text}").rstrip(":")[:80]
                if block.rest.code:
                    self._prose(block.rest, block)
                return
            self._new_cause(title)
            if block.rest.text and not re.fullmatch(r"[:(].*", block.rest.text):
                self.cause.description.append(block.rest.text)  # type: ignore[union-attr]
            self.zone = "cause"
            if any(looks_like_command(span) for span in block.rest.code):
                self._prose(block.rest, block)  # how to confirm this cause
            return
        if block.label:  # a bold lead that is no known label: "**Check logs**:"
            self.context = block.label
            if block.rest.text:
                self._prose(block.rest, block)
            return
        self._prose(block.words, block)

    def _prose(self, words: Inline, block: Block | None) -> None:
        text = words.text.strip()
        if not text:
            return
        if self.zone == "symptom":
            self._symptom(text)
            return
        spans = [span for span in words.code if looks_like_command(span)]
        if self.zone == "cause" and self.cause is not None and not spans and block is None:
            self.cause.description.append(text)
            return
        plain = text.rstrip(":")
        if block is not None and block.kind == "item" and not spans:
            self._fixes().append({"title": plain[:120], "manual": plain})
            self.context = plain[:80]
            return
        for span in spans:
            for command in split_block(span, "bash", block.line - 1 if block else 0)[0]:
                command.title = command.title or plain[:80]
                self._command(command)
        if not spans and self.cause is not None and self.zone in {"cause", "solution"}:
            self.cause.description.append(plain)
        elif not spans and self.zone == "solution":
            self._fixes().append({"title": plain[:120], "manual": plain})

    def _code(self, block: Block) -> None:
        commands, unknown = split_block(block.text, block.lang, block.line)
        if self.zone == "symptom" and commands:
            self.zone = "diagnosis"  # commands right after the symptom: how to see it
        if self.zone == "symptom" or (not commands and unknown and _looks_like_output(unknown)):
            for _, output in unknown or [(0, text) for text in block.text.splitlines()]:
                self._symptom(output)
                self._signature(output)
            if self.cause is not None and unknown:
                self.cause.signatures.append(re.escape(unknown[0][1]))
            return
        if not commands:
            title = self.context or f"Change as the guide shows ({block.lang or 'text'})"
            snippet = block.text.strip()
            if snippet:
                snippet = snippet[:SNIPPET_LIMIT]
                self._fixes().append({"title": title[:120], "manual": snippet})
            return
        for line, text in unknown:
            self.draft.records.append(CommandRecord(self.section.slug, line, text, "", "unknown"))
        for command in commands:
            self._command(command)
        if unknown:  # lines of no known command (a setting, an output): shown as they are
            shown = "\n".join(text for _, text in unknown)
            self._fixes().append(
                {"title": (self.context or "As the guide shows")[:120], "manual": shown}
            )

    # -- commands --------------------------------------------------------------------------
    def _command(self, command: Command) -> None:
        table, record = (
            self.draft.table,
            CommandRecord(
                self.section.slug,
                command.line,
                command.first_line,
                command.tool,
                "run",
                destructive=command.destructive,
                changing=command.changing,
                purpose=purpose(command),
            ),
        )
        self.draft.records.append(record)
        if command.assigns:
            inner = " ".join(re.sub(r"[\\`]\n", " ", command.inner).split())
            table.placeholder(command.assigns, f"value of `{fill_placeholders(inner, table)}`")
            record.outcome, record.detail = "lookup", f"sets ${command.assigns}"
            return
        mapped = map_command(command, self.catalogue_checks, self.catalogue_actions)
        held = self._held(mapped)
        if held:  # a check or an action takes its values from the runbook, never from a shell
            needs = ", ".join(f"${name}" for name in held)
            secret = " (a secret)" if any(SECRET_NAME.search(name) for name in held) else ""
            mapped = Mapping_(None, {}, f"needs {needs} from the operator's shell{secret}")
        text, headers = redact_headers(fill_placeholders(command.text, table))
        title = command.title or self.context or _describe(command)
        if mapped.rule is not None and mapped.rule.check and not command.changing:
            key = re.sub(r"^https?://([^/:]+).*", r"\1", str(mapped.args.get("url", Arg("")).value))
            target = self._target(mapped.rule.check, key if headers else "", headers)
            step_ids = [self._check(mapped.rule.check, target, mapped.args, title)]
            for name, args in mapped.also:  # further checks the same command shows
                step_ids.append(self._check(name, self._target(name, "", []), args, title))
            record.outcome = "check"
            record.detail = " + ".join([mapped.rule.check, *(name for name, _ in mapped.also)])
            if self.cause is not None:
                for step_id in step_ids:
                    condition = {"check": step_id, "status": ["fail", "warn"]}
                    if condition not in self.cause.evidence:
                        self.cause.evidence.append(condition)
            return
        if mapped.rule is not None and mapped.rule.action:
            target = self._target(mapped.rule.action, "", [])
            fix: dict[str, Any] = {"title": title[:120], "action": mapped.rule.action, "on": target}
            if mapped.args:
                fix["with"] = self._with(mapped.args)
            self._fixes().append(fix)
            record.outcome, record.detail = "action", mapped.rule.action
            self.seen_fix = True
            return
        record.detail = mapped.reason or "a check cannot run a changing command"
        run, held = command_values(parameterize(text, command.tool, table), table)
        self.seen_fix = self.seen_fix or command.changing
        if held:  # what only the operator's shell holds: a step by hand, shown as it is
            self._fixes().append({"title": title[:120], "manual": by_hand(run, held)})
            return
        specs = command_catalogue()
        if kinds_used(run, specs) and _on_its_own_machine(command, run, specs):
            why = f"(By hand, where the guide means it: it {record.purpose}, on no target.)"
            self._fixes().append({"title": title[:120], "manual": f"{run}\n{why}"})
            return
        for kind in kinds_used(run, specs):  # it runs on the diagnosed target
            name = table.target(kind, f"The {kind} target its commands run on", required=False)
            if name not in self.draft.command_targets:
                self.draft.command_targets.append(name)
        step: dict[str, Any] = {"title": title[:120], "run": run}
        if command.destructive:
            step["destructive"] = True
        self._fixes().append(step)

    def _held(self, mapped: Mapping_) -> list[str]:
        """What the check's or action's arguments would still read from the operator's shell
        once placeholders are parameters: a secret (`apikey:$API_KEY`)."""
        held: list[str] = []
        for args in [mapped.args, *(args for _, args in mapped.also)]:
            for arg in args.values():
                if not isinstance(arg.value, str) or not PLACEHOLDER_LIKE.search(arg.value):
                    continue
                for name in references(fill_placeholders(arg.value, self.draft.table)):
                    if name not in self.draft.table.params and name not in held:
                        held.append(name)
        return held

    def _target(self, name: str, key: str, headers: list[Any]) -> str:
        checks = self.catalogue_checks
        kind, spec = checks[name] if name in checks else self.catalogue_actions[name]
        description = f"The {kind} target to run on"
        if headers:
            options = ", ".join(
                f"{h.name}: {{env: {h.env}" + (f", prefix: '{h.prefix}'" if h.prefix else "") + "}"
                for h in headers
            )
            description = f"An http target for {key}; set its options.headers: {{{options}}}"
            self.draft.header_notes.append(f"{key}: headers {{{options}}}")
        applies = getattr(spec, "applies_to", ())
        if applies and applies[0] not in self.draft.applies_to:
            self.draft.applies_to.append(applies[0])
        return self.draft.table.target(kind, description, key)

    def _with(self, args: Mapping[str, Arg]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, arg in args.items():
            value = arg.value
            if arg.fill:  # the command does not hold it: the operator fills it
                values[name] = "$" + self.draft.table.fill(arg.param or name, arg.fill)
            elif isinstance(value, str) and PLACEHOLDER_LIKE.search(value):
                values[name] = fill_placeholders(value, self.draft.table)  # refers to params
            elif arg.param:
                values[name] = "$" + self.draft.table.value(
                    arg.param, value, arg.described or f"{arg.param} (from the guide)"
                )
            else:
                values[name] = value
        return values

    def _check(self, use: str, target: str, args: Mapping[str, Arg], title: str) -> str:
        values = self._with(args)
        for step in self.draft.checks:
            if step["use"] == use and step["on"] == target and step.get("with", {}) == values:
                return str(step["id"])
        base, taken = slugify(use.replace(".", "-")), {step["id"] for step in self.draft.checks}
        step_id, count = base, 1
        while step_id in taken:
            count += 1
            step_id = f"{base}-{count}"
        step = {"id": step_id, "use": use, "on": target, "title": title[:120]}
        if values:
            step["with"] = values
        self.draft.checks.append(step)
        return step_id

    def add_prose_checks(self, text: str, cause: CauseDraft | None) -> None:
        for use, args in prose_checks(text):
            if use not in self.catalogue_checks:
                continue
            target = self._target(use, "", [])
            step_id = self._check(use, target, args, f"{use} (from the guide's words)")
            condition = {"check": step_id, "status": ["fail", "warn"]}
            if cause is not None and condition not in cause.evidence:
                cause.evidence.append(condition)

    # -- tables ----------------------------------------------------------------------------
    def _table(self, block: Block) -> None:
        roles = table_roles(block.header) if block.rows else None
        if roles is None:
            self._command_rows(block)
            return
        symptom, meaning, fix = roles
        for row in block.rows[1:]:
            cells = row + [Inline()] * (len(block.rows[0]) - len(row))
            lead = cells[symptom].text
            title = f"{lead}: {cells[meaning].text}" if meaning is not None else lead
            self._new_cause(title)
            self._symptom(title)
            if re.fullmatch(r"[A-Z]{1,5}-?\d{2,5}", lead):
                self.cause.signatures.append(rf"\b{lead}\b")  # type: ignore[union-attr]
            self.zone, self.context = "solution", title
            self._prose(cells[fix], None) if cells[fix].code else self._fixes().append(
                {"title": cells[fix].text[:120], "manual": cells[fix].text}
            )
        self.zone, self.cause = "intro", None

    def _command_rows(self, block: Block) -> None:
        """A table of steps and their commands (`| Target health | `aws elbv2 ...` |`): each
        command is a step, titled by the first cell of its row."""
        if self.zone == "symptom" and any(
            looks_like_command(span) for row in block.rows[1:] for cell in row for span in cell.code
        ):
            self.zone = "diagnosis"  # commands right after the symptom: how to see it
        for number, row in enumerate(block.rows[1:], start=block.line + 2):
            title = row[0].text if row and not row[0].code else ""
            for cell in row:
                for span in cell.code:
                    if not looks_like_command(span):
                        continue
                    for command in split_block(span, "bash", number - 1)[0]:
                        command.title = command.title or title
                        self._command(command)

    # -- the end ---------------------------------------------------------------------------
    def finish(self) -> None:
        groups = [(title, fixes) for title, fixes in self.groups if fixes or title]
        if not self.explicit and len(groups) > 1:
            for title, fixes in groups:
                self._new_cause(title or self.draft.title)
                self.cause.fixes.extend(fixes)  # type: ignore[union-attr]
        elif not self.explicit:
            self._new_cause(self.draft.title)
            self.cause.fixes.extend(f for _, fixes in groups for f in fixes)  # type: ignore[union-attr]
        elif any(fixes for _, fixes in groups):
            extra = CauseDraft(f"Steps from the guide for: {self.draft.title}")
            extra.fixes.extend(f for _, fixes in groups for f in fixes)
            self.draft.causes.insert(0, extra)
        for cause in self.draft.causes:
            self.add_prose_checks(" ".join([cause.title, *cause.description]), cause)
        single = self.draft.causes[0] if len(self.draft.causes) == 1 else None
        self.add_prose_checks(" ".join([self.draft.title, *self.draft.symptoms]), single)
        if not self.draft.symptoms:
            self.draft.symptoms.append(self.draft.title)


def _words(text: str) -> str:
    """Text on one line, its runs of spaces and line breaks made one space."""
    return " ".join(text.split())


def _on_its_own_machine(command: Command, run: str, specs: Mapping[str, Any]) -> bool:
    """A command that builds or ships an image (`docker build`, `docker push`), installs a
    tool or writes a local file by a tool's name (`curl -o /usr/local/bin/docker-compose`):
    it runs where the guide means it to, a workstation or the host, and acts on no target,
    so a target parameter would be a pretence. `docker pull` and `docker compose build` act
    on the engine, and a command that runs a target's tool acts on that target."""
    kind = purpose(command)
    if kind == IMAGES:
        return command.words[:1] == ["docker"] and command.words[1:2] not in (["pull"], ["compose"])
    if kind in {SETUP, FILES}:
        tools = {tool for spec in specs.values() for tool in spec.tools}
        named = {name for spec in specs.values() for name in spec.variables}
        return not (set(programs(run)) & tools or set(references(run)) & named)
    return False


def _looks_like_output(lines: list[tuple[int, str]]) -> bool:
    pattern = re.compile(r"error|exception|fail|refused|denied|:\s", re.IGNORECASE)
    return all(pattern.search(text) for _, text in lines)


def _describe(command: Command) -> str:
    words = list(itertools.takewhile(lambda word: not word.startswith("-"), command.words))[:4]
    verb = "Change" if command.changing else "Check"
    return f"{verb} with {' '.join(words)}" if words else command.first_line[:80]
