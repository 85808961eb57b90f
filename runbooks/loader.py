"""Loading runbooks: each file validated against the model and against what providers register.

Every error names the file, line and column and what was expected; one broken file never hides
the others, so `triage runbooks validate` reports them all at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from providers.contract import ActionSpec, CheckSpec
from providers.registry import action_catalogue, check_catalogue, command_catalogue
from providers.yamlsource import SourceError, YamlDocument, read_yaml, validate
from runbooks.commands import SHELL_VARIABLES, kinds_used, references
from runbooks.model import Condition, Runbook

LIBRARY = Path(__file__).parent / "library"
PARAM_REFERENCE = re.compile(r"\$\{?([a-zA-Z_][a-zA-Z0-9_]*)\}?")
# A guide's `<database>` or `<image:tag>` left in a command: to the shell, a redirection.
PLACEHOLDER = re.compile(r"<[A-Za-z][^<>\n]*>")


@dataclass
class Library:
    """The runbooks that loaded, and the errors of those that did not."""

    runbooks: dict[str, Runbook] = field(default_factory=dict)
    paths: dict[str, Path] = field(default_factory=dict)
    errors: list[SourceError] = field(default_factory=list)
    # Where each runbook's folder is on the search path (built-in, user, ...), and the file of
    # the runbook each one replaced (runbooks/search.py).
    origins: dict[str, str] = field(default_factory=dict)
    replaced: dict[str, Path] = field(default_factory=dict)


def runbook_files(paths: Iterable[Path]) -> list[Path]:
    """YAML files under the given folders, except coverage maps (`coverage/`), which are not
    runbooks."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            files = sorted([*path.rglob("*.yaml"), *path.rglob("*.yml")])
            found.extend(f for f in files if "coverage" not in f.relative_to(path).parts[:-1])
        else:
            found.append(path)
    return found


def load_library(paths: Iterable[Path] | None = None) -> Library:
    """Load every runbook under `paths` (default: the built-in library) as one set, in which
    an id used twice is an error."""
    library = Library()
    files = runbook_files(paths if paths is not None else [LIBRARY])
    load_into(library, files, check_catalogue(), action_catalogue(), origin="built-in")
    return library


def load_into(
    library: Library,
    files: Iterable[Path],
    checks: Mapping[str, tuple[str, CheckSpec]],
    actions: Mapping[str, tuple[str, ActionSpec]],
    *,
    origin: str,
) -> None:
    """Add one folder's runbooks to `library`: one with the id of a runbook loaded before
    replaces it; an id used twice among `files` is an error."""
    here: set[str] = set()
    for path in files:
        try:
            document, runbook = _load(path, None, checks, actions)
        except SourceError as error:
            library.errors.append(error)
            continue
        if runbook.id in here:
            library.errors.append(
                document.error(
                    ("id",), f"id {runbook.id!r} is already used by {library.paths[runbook.id]}"
                )
            )
            continue
        here.add(runbook.id)
        if runbook.id in library.paths:
            library.replaced[runbook.id] = library.paths[runbook.id]
        library.runbooks[runbook.id] = runbook
        library.paths[runbook.id] = path
        library.origins[runbook.id] = origin


def load_runbook(
    path: Path,
    *,
    text: str | None = None,
    checks: Mapping[str, tuple[str, CheckSpec]] | None = None,
    actions: Mapping[str, tuple[str, ActionSpec]] | None = None,
) -> Runbook:
    """One runbook, valid in shape and in what it refers to, or the first error in it."""
    return _load(
        path,
        text,
        checks if checks is not None else check_catalogue(),
        actions if actions is not None else action_catalogue(),
    )[1]


def _load(
    path: Path,
    text: str | None,
    checks: Mapping[str, tuple[str, CheckSpec]],
    actions: Mapping[str, tuple[str, ActionSpec]],
) -> tuple[YamlDocument, Runbook]:
    document = read_yaml(path, text=text)
    runbook = validate(document, Runbook)
    _check_references(document, runbook, checks, actions)
    return document, runbook


def _check_references(
    document: YamlDocument,
    runbook: Runbook,
    checks: Mapping[str, tuple[str, CheckSpec]],
    actions: Mapping[str, tuple[str, ActionSpec]],
) -> None:
    step_ids: list[str] = []
    for index, step in enumerate(runbook.checks):
        if step.id in step_ids:
            raise document.error(("checks", index, "id"), f"check id {step.id!r} is used twice")
        step_ids.append(step.id)
    targets = {name: param.target for name, param in runbook.params.items()}

    for index, step in enumerate(runbook.checks):
        where: tuple[int | str, ...] = ("checks", index)
        if step.use not in checks:
            raise document.error(
                (*where, "use"),
                f"unknown check {step.use!r}; {_nearest(step.use, checks, 'checks')}",
            )
        kind, spec = checks[step.use]
        _check_target(document, where, step.on, kind, targets)
        _check_arguments(document, (*where, "with"), step.with_, spec.params, runbook, step.use)

    cause_ids: list[str] = []
    for cause_index, cause in enumerate(runbook.causes):
        if cause.id in cause_ids:
            raise document.error(
                ("causes", cause_index, "id"), f"cause id {cause.id!r} is used twice"
            )
        cause_ids.append(cause.id)
        for index, condition in enumerate(cause.evidence):
            for where, part in _conditions(condition, ("causes", cause_index, "evidence", index)):
                if part.check not in step_ids:
                    raise document.error(
                        (*where, "check"),
                        f"cause {cause.id!r} refers to check {part.check!r}; this runbook's "
                        f"checks are: {', '.join(step_ids) or 'none'}",
                    )
        for index, fix in enumerate(cause.fixes):
            at_fix: tuple[int | str, ...] = ("causes", cause_index, "fixes", index)
            if fix.action is not None:
                if fix.action not in actions:
                    raise document.error(
                        (*at_fix, "action"),
                        f"unknown action {fix.action!r}; "
                        f"{_nearest(fix.action, actions, 'actions')}",
                    )
                kind, action = actions[fix.action]
                _check_target(document, at_fix, fix.on, kind, targets)
                _check_arguments(
                    document, (*at_fix, "with"), fix.with_, action.params, runbook, fix.action
                )
            if fix.run is not None:
                _check_command(document, (*at_fix, "run"), fix.run, runbook)
            for index, condition in enumerate(fix.expect):
                for where, part in _conditions(condition, (*at_fix, "expect", index)):
                    if part.check not in step_ids:
                        raise document.error(
                            (*where, "check"),
                            f"the fix expects check {part.check!r}; this runbook's checks "
                            f"are: {', '.join(step_ids) or 'none'}",
                        )

    for index, check_id in enumerate(runbook.verify):
        if check_id not in step_ids:
            raise document.error(
                ("verify", index),
                f"verify names {check_id!r}, which is not a check of this runbook",
            )


def _conditions(
    condition: Condition, where: tuple[int | str, ...]
) -> list[tuple[tuple[int | str, ...], Condition]]:
    """A condition and where it is, or each of its `any_of` parts (nested ones too)."""
    if condition.any_of is None:
        return [(where, condition)]
    return [
        found
        for index, part in enumerate(condition.any_of)
        for found in _conditions(part, (*where, "any_of", index))
    ]


def _check_target(
    document: YamlDocument,
    where: tuple[int | str, ...],
    on: str | None,
    kind: str,
    targets: Mapping[str, str | None],
) -> None:
    """`targets`: every parameter with its target kind, None for a plain value."""
    if on is not None:
        if on not in targets:
            raise document.error(
                (*where, "on"),
                f"{on!r} is not a parameter of this runbook; declare it under params with "
                f"`target: {kind}`",
            )
        if targets[on] is None:
            raise document.error(
                (*where, "on"),
                f"{on!r} is a value parameter, but `on:` needs a parameter with `target: {kind}`",
            )
        if targets[on] != kind:
            raise document.error(
                (*where, "on"), f"{on!r} is a {targets[on]} target, but this step needs {kind}"
            )
    elif kind not in targets.values():
        raise document.error(
            where, f"this step needs a {kind} target; declare a parameter with `target: {kind}`"
        )


def _check_arguments(
    document: YamlDocument,
    where: tuple[int | str, ...],
    given: Mapping[str, Any],
    accepted: Mapping[str, Any],
    runbook: Runbook,
    name: str,
) -> None:
    for key, value in given.items():
        if key not in accepted:
            known = ", ".join(accepted) or "none"
            raise document.error(
                (*where, key), f"{name} takes no parameter {key!r}; it takes: {known}", at_key=True
            )
        if isinstance(value, str):
            _check_placeholders(document, (*where, key), value, runbook)
    for key, spec in accepted.items():
        if getattr(spec, "required", False) and key not in given:
            raise document.error(where, f"{name} needs parameter {key!r}")


def _check_placeholders(
    document: YamlDocument, where: tuple[int | str, ...], text: str, runbook: Runbook
) -> None:
    for match in PARAM_REFERENCE.finditer(text):
        if match.group(1) not in runbook.params:
            raise document.error(
                where,
                f"${match.group(1)} is not a parameter of this runbook; declared: "
                f"{', '.join(runbook.params) or 'none'}",
            )


def _check_command(
    document: YamlDocument, where: tuple[int | str, ...], command: str, runbook: Runbook
) -> None:
    """A command takes every value from the runbook or from a target it declares, so that it
    can only run against the diagnosed target, never against what the operator's shell says."""
    placeholder = PLACEHOLDER.search(command)
    if placeholder:
        raise document.error(
            where,
            f"{placeholder.group()} is a placeholder the shell would read as a redirection; make "
            "it a parameter ($name) or the fix a manual step",
        )
    specs = command_catalogue()
    declared = {param.target for param in runbook.params.values() if param.target}
    for kind in kinds_used(command, specs):
        if kind not in declared:
            spec = specs[kind]
            named = [name for name in references(command) if name in spec.variables]
            uses = f"${named[0]}" if named else next(t for t in spec.tools if t in command)
            raise document.error(
                where,
                f"this command uses {uses}, which reaches a {kind} target; declare a parameter "
                f"with `target: {kind}` so that it runs on the diagnosed one",
            )
    given = {name for kind in declared for name in specs[kind].variables if kind in specs}
    for name in references(command):
        if name in runbook.params or name in given or name in SHELL_VARIABLES:
            continue
        from_targets = ", ".join(sorted(given)) or "none (no target parameter)"
        raise document.error(
            where,
            f"${name} is neither a parameter of this runbook nor a variable its targets give "
            f"({from_targets}); declare it under params (a command never reads the operator's "
            "shell for it)",
        )


def _nearest(name: str, known: Mapping[str, Any], noun: str) -> str:
    """A hint for a misspelt check or action name: the closest names, or those that exist."""
    import difflib

    close = difflib.get_close_matches(name, list(known), n=3)
    if close:
        return f"did you mean {' or '.join(close)}?"
    prefix = name.split(".")[0]
    same_kind = sorted(item for item in known if item.startswith(f"{prefix}."))
    if same_kind:
        return f"known {prefix} {noun}: {', '.join(same_kind)}"
    prefixes = sorted({item.split(".")[0] for item in known})
    return f"known {noun} are named {', '.join(f'{item}.*' for item in prefixes)}"
