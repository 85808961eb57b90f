"""The runbook loader, property-based: valid runbooks load, arbitrary text fails cleanly,
unknown keys are pointed at.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from providers.contract import ParamSpec
from providers.redis_provider import RedisProvider
from providers.yamlsource import SourceError
from runbooks.loader import load_runbook
from runbooks.model import OPERATORS
from tests.unit.runbook_loader_helpers import ACTIONS, CHECKS, UNKNOWN_FIELD

# ---------------------------------------------------------------------------------------------
# Property-based: valid runbooks load, arbitrary text fails cleanly, unknown keys are pointed at

REDIS_CHECKS = sorted(RedisProvider.checks)
REDIS_ACTIONS = sorted(RedisProvider.actions)
UNKNOWN_KEY = "zz_not_a_field"

identifiers = st.from_regex(r"[a-z0-9][a-z0-9_.-]{0,15}", fullmatch=True)
param_names = st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True)
plain_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"), exclude_characters="$"),
    max_size=30,
)


def argument(spec: ParamSpec) -> st.SearchStrategy[Any]:
    if spec.type is bool:
        return st.booleans()
    if spec.type is int:
        return st.integers(min_value=0, max_value=10_000)
    if spec.type is float:
        return st.floats(min_value=0, max_value=1e6, allow_nan=False)
    return plain_text


def arguments(specs: dict[str, ParamSpec], pattern_param: str) -> st.SearchStrategy[Any]:
    """Valid arguments: every required one, any of the others; strings may name `$pattern`."""

    def values(name: str) -> st.SearchStrategy[Any]:
        value = argument(specs[name])
        if specs[name].type is str:
            value = value | st.just(f"${pattern_param}") | st.just(f"prefix:${{{pattern_param}}}")
        return value

    required = {name: values(name) for name, spec in specs.items() if spec.required}
    optional = {name: values(name) for name, spec in specs.items() if not spec.required}
    return st.fixed_dictionaries(required, optional=optional)


def comparison(operator: str) -> st.SearchStrategy[Any]:
    return {
        "equals": st.integers() | plain_text | st.booleans() | st.none(),
        "not_equals": st.integers() | plain_text,
        "lt": st.integers(),
        "le": st.floats(allow_nan=False, allow_infinity=False),
        "gt": st.integers(),
        "ge": st.integers(),
        "contains": plain_text,
        "matches": st.sampled_from(["OOM", "^used_.*$", r"\d+ keys", "(a|b)+"]),
        "exists": st.booleans(),
    }[operator]


@st.composite
def conditions(draw: st.DrawFn, step_ids: list[str]) -> dict[str, Any]:
    check = draw(st.sampled_from(step_ids))
    if draw(st.booleans()):
        statuses = draw(
            st.lists(st.sampled_from(["pass", "warn", "fail", "error", "skipped"]), min_size=1)
        )
        return {"check": check, "status": statuses[0] if len(statuses) == 1 else statuses}
    operator = draw(st.sampled_from(OPERATORS))
    fact = draw(st.from_regex(r"[a-z_]{1,8}(\.[a-z0-9_]{1,8}){0,2}", fullmatch=True))
    return {"check": check, "fact": fact, operator: draw(comparison(operator))}


@st.composite
def runbooks(draw: st.DrawFn) -> dict[str, Any]:
    """A valid runbook as the dict a person would write, keys in the usual order."""
    target, pattern = draw(st.lists(param_names, min_size=2, max_size=2, unique=True))
    uses = draw(st.lists(st.sampled_from(REDIS_CHECKS), min_size=1, max_size=5))
    step_ids = draw(st.lists(identifiers, min_size=len(uses), max_size=len(uses), unique=True))
    checks = []
    for step_id, use in zip(step_ids, uses, strict=True):
        step: dict[str, Any] = {"id": step_id, "use": use}
        if draw(st.booleans()):
            step["on"] = target
        with_ = draw(arguments(dict(CHECKS[use][1].params), pattern))
        if with_:
            step["with"] = with_
        checks.append(step)
    causes = []
    for cause_id in draw(st.lists(identifiers, max_size=4, unique=True)):
        fixes = []
        for kind in draw(st.lists(st.sampled_from(["action", "run", "manual"]), max_size=3)):
            fix: dict[str, Any] = {"title": draw(plain_text.filter(str.strip))}
            if kind == "action":
                name = draw(st.sampled_from(REDIS_ACTIONS))
                fix["action"] = name
                fix["on"] = target
                with_ = draw(arguments(dict(ACTIONS[name][1].params), pattern))
                if with_:
                    fix["with"] = with_
            elif kind == "run":
                fix["run"] = f'redis-cli -u "$REDIS_URL" --scan --pattern "${pattern}"'
                fix["destructive"] = draw(st.booleans())
            else:
                fix["manual"] = draw(plain_text.filter(str.strip))
            fixes.append(fix)
        causes.append(
            {
                "id": cause_id,
                "title": draw(plain_text),
                "evidence": draw(st.lists(conditions(step_ids), max_size=3)),
                "fixes": fixes,
            }
        )
    return {
        "id": draw(identifiers),
        "title": draw(plain_text),
        "symptoms": draw(st.lists(plain_text, max_size=3)),
        "signatures": draw(st.lists(st.sampled_from(["OOM", "MISCONF .*", r"\bfull\b"]))),
        "applies_to": ["redis.instance"],
        "params": {
            target: {"target": "redis", "description": draw(plain_text)},
            pattern: {"default": "*", "required": False},
        },
        "checks": checks,
        "causes": causes,
        "verify": draw(st.lists(st.sampled_from(step_ids), unique=True)),
    }


def dump(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=1000)


FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(document=runbooks())
def test_any_valid_runbook_loads_and_keeps_its_ids(document: dict[str, Any]) -> None:
    runbook = load_runbook(
        Path("generated.yaml"), text=dump(document), checks=CHECKS, actions=ACTIONS
    )
    assert runbook.id == document["id"]
    assert [step.id for step in runbook.checks] == [step["id"] for step in document["checks"]]
    assert [step.use for step in runbook.checks] == [step["use"] for step in document["checks"]]
    assert [step.with_ for step in runbook.checks] == [
        step.get("with", {}) for step in document["checks"]
    ]
    assert [cause.id for cause in runbook.causes] == [cause["id"] for cause in document["causes"]]
    assert [[c.check for c in cause.evidence] for cause in runbook.causes] == [
        [c["check"] for c in cause["evidence"]] for cause in document["causes"]
    ]
    assert runbook.verify == document["verify"]


@settings(max_examples=150, deadline=None)
@given(text=st.text())
@example(text="[" * 1000)
@example(text="a:\n" + "".join(" " * depth + "a:\n" for depth in range(1, 600)))
@example(text="\x00")
@example(text="? [a]\n: b\n")
@example(text="!!python/object/apply:os.system ['true']")
@example(text="--- a\n--- b\n")
@example(text="id: 1\ntitle: 2\n")
@example(text="id: a\ntitle: b\nparams: {1: {}}\n")
def test_arbitrary_text_never_raises_anything_but_source_error(text: str) -> None:
    try:
        runbook = load_runbook(Path("fuzz.yaml"), text=text, checks=CHECKS, actions=ACTIONS)
    except SourceError as error:
        assert error.path == "fuzz.yaml"
        assert str(error).startswith(f"fuzz.yaml:{error.line}:{error.column}: ")
        assert error.message
    else:  # only a mapping with at least id and title can load
        assert isinstance(yaml.safe_load(text), dict)
        assert re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", runbook.id)


def mappings(document: dict[str, Any]) -> list[tuple[dict[str, Any], bool]]:
    """Every mapping of a runbook whose keys are fields, and whether it is a `with:` mapping
    (whose keys are the check's or action's parameters). `params` itself maps names, not
    fields, so an extra key there is a new parameter, not an error."""
    found: list[tuple[dict[str, Any], bool]] = [(document, False)]
    found += [(param, False) for param in document["params"].values()]
    for step in document["checks"]:
        found.append((step, False))
        if "with" in step:
            found.append((step["with"], True))
    for cause in document["causes"]:
        found.append((cause, False))
        found += [(condition, False) for condition in cause["evidence"]]
        for fix in cause["fixes"]:
            found.append((fix, False))
            if "with" in fix:
                found.append((fix["with"], True))
    return found


@FAST
@given(document=runbooks(), data=st.data())
def test_an_unknown_key_anywhere_is_pointed_at(
    document: dict[str, Any], data: st.DataObject
) -> None:
    mapping, is_arguments = data.draw(st.sampled_from(mappings(document)))
    position = data.draw(st.integers(min_value=0, max_value=len(mapping)))
    items = list(mapping.items())
    items.insert(position, (UNKNOWN_KEY, 1))
    mapping.clear()
    mapping.update(items)
    text = dump(document)
    assert text.count(f"{UNKNOWN_KEY}:") == 1
    line = next(n for n, row in enumerate(text.splitlines(), 1) if f"{UNKNOWN_KEY}:" in row)
    column = text.splitlines()[line - 1].index(UNKNOWN_KEY) + 1

    with pytest.raises(SourceError) as caught:
        load_runbook(Path("generated.yaml"), text=text, checks=CHECKS, actions=ACTIONS)

    assert (caught.value.line, caught.value.column) == (line, column)
    if is_arguments:
        assert re.fullmatch(
            rf"redis\.\w+ takes no parameter '{UNKNOWN_KEY}'; it takes: [a-z_, ]+",
            caught.value.message,
        )
    else:
        assert caught.value.message.endswith(f"{UNKNOWN_KEY}: {UNKNOWN_FIELD}")
