"""The runbook loader: the library loads, and every broken runbook is reported at its place.

Each broken case edits one valid runbook (BASE) and asserts the whole error string: the file,
the line and column a person would go to, and what is wrong there.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from providers.contract import ParamSpec
from providers.redis_provider import RedisProvider
from providers.registry import action_catalogue, check_catalogue
from providers.yamlsource import SourceError
from runbooks.loader import LIBRARY, load_library, load_runbook
from runbooks.model import OPERATORS

CHECKS = check_catalogue()
ACTIONS = action_catalogue()

# Line numbers are on the left, for reading the expected locations below.
BASE = textwrap.dedent(
    """\
    id: redis-oom
    title: Redis is out of memory
    signatures: ["OOM command not allowed", "MISCONF"]
    params:
      cache: {target: redis}
      pattern: {default: "*", required: false}
    checks:
      - id: memory
        use: redis.memory
        on: cache
      - id: keys
        use: redis.keys
        on: cache
        with: {pattern: $pattern, expect_ttl: true}
    causes:
      - id: full
        title: Memory is full
        evidence:
          - {check: memory, status: fail}
          - {check: memory, fact: oom_errors, gt: 0}
        fixes:
          - title: Delete the keys
            action: redis.delete_keys
            on: cache
            with: {pattern: $pattern}
          - title: Evict instead
            run: redis-cli -u "$REDIS_URL" CONFIG SET maxmemory-policy allkeys-lru
    verify: [memory]
    """
)
#   1 id          8 - id: memory     15 causes:          22 - title: Delete    28 verify
#   2 title       9   use            16 - id: full       23   action
#   3 signatures 10   on             17   title          24   on
#   4 params     11 - id: keys       18   evidence:      25   with
#   5 cache      12   use            19   - status       26 - title: Evict
#   6 pattern    13   on             20   - fact         27   run
#   7 checks:    14   with           21   fixes:


def edited(*changes: tuple[str, str]) -> str:
    """BASE with each `old` (which must occur exactly once) replaced by `new`."""
    text = BASE
    for old, new in changes:
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in BASE"
        text = text.replace(old, new)
    return text


def write(folder: Path, text: str, name: str = "runbook.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(SourceError) as caught:
        load_runbook(path)
    return str(caught.value)


# ---------------------------------------------------------------------------------------------
# The built-in library and the base runbook


def test_the_built_in_library_loads_without_errors() -> None:
    library = load_library()
    assert [str(error) for error in library.errors] == []
    assert "redis-out-of-memory" in library.runbooks
    assert library.paths["redis-out-of-memory"] == LIBRARY / "redis-out-of-memory.yaml"
    runbook = library.runbooks["redis-out-of-memory"]
    assert [step.id for step in runbook.checks] == ["memory", "keys", "persistence"]
    assert [cause.id for cause in runbook.causes] == [
        "maxmemory-noeviction",
        "keys-without-ttl",
        "bgsave-failing",
    ]
    assert runbook.verify == ["memory"]


def test_the_base_runbook_is_valid_and_keeps_yaml_1_2_booleans(tmp_path: Path) -> None:
    runbook = load_runbook(write(tmp_path, BASE))
    assert runbook.id == "redis-oom"
    # `on:` is a key here, not the YAML 1.1 boolean True.
    assert [step.on for step in runbook.checks] == ["cache", "cache"]
    assert runbook.checks[1].with_ == {"pattern": "$pattern", "expect_ttl": True}
    assert [fix.kind for fix in runbook.causes[0].fixes] == ["action", "run"]
    assert runbook.params["pattern"].required is False


# ---------------------------------------------------------------------------------------------
# Broken runbooks: (text, line, column, message)

UNKNOWN_FIELD = "unknown field (check its spelling)"
ID_RULE = "use lower-case letters, digits, '.', '_' and '-', starting with a letter or a digit"
CHECK_PREFIXES = ", ".join(f"{prefix}.*" for prefix in sorted({n.split(".")[0] for n in CHECKS}))

BROKEN: dict[str, tuple[str, int, int, str]] = {
    "invalid YAML: a colon inside a plain value": (
        edited(("title: Redis is out of memory", "title: Redis: out of memory")),
        2,
        13,
        "invalid YAML: mapping values are not allowed in this context",
    ),
    "invalid YAML: a tab for indentation": (
        edited(("    on: cache\n  - id: keys", "\ton: cache\n  - id: keys")),
        10,
        1,
        "invalid YAML: found a tab character that violates indentation",
    ),
    "top level is a list": (
        "- id: redis-oom\n- title: Redis\n",
        1,
        1,
        "expected a mapping of keys to values at the top level",
    ),
    "top level is a scalar": (
        "redis-oom\n",
        1,
        1,
        "expected a mapping of keys to values at the top level",
    ),
    "missing id": (
        edited(("id: redis-oom\n", "")),
        1,
        1,
        "id: required field is missing",
    ),
    "id with upper case and underscore": (
        edited(("id: redis-oom", "id: Redis_OOM")),
        1,
        5,
        f"id: 'Redis_OOM' is not a valid id: {ID_RULE}",
    ),
    "cause id starting with a dash": (
        edited(("- id: full", "- id: -full")),
        16,
        9,
        f"causes.0.id: '-full' is not a valid id: {ID_RULE}",
    ),
    "unknown top-level field points at the key": (
        edited(
            ("title: Redis is out of memory\n", "title: Redis is out of memory\nsymptom: [x]\n")
        ),
        3,
        1,
        f"symptom: {UNKNOWN_FIELD}",
    ),
    "unknown field in a step points at the key": (
        edited(("    use: redis.memory\n", "    use: redis.memory\n    timeout: 3\n")),
        10,
        5,
        f"checks.0.timeout: {UNKNOWN_FIELD}",
    ),
    "misspelt check with did-you-mean": (
        edited(("use: redis.memory", "use: redis.memroy")),
        9,
        10,
        "unknown check 'redis.memroy'; did you mean redis.memory or redis.keys or redis.latency?",
    ),
    "unknown check of a known kind lists that kind's checks": (
        edited(("use: redis.memory", "use: redis.zzzzzzzzzz")),
        9,
        10,
        "unknown check 'redis.zzzzzzzzzz'; known redis checks: redis.clients, redis.keys, "
        "redis.latency, redis.memory, redis.persistence, redis.ping, redis.replication",
    ),
    "unknown check of an unknown kind lists the kinds": (
        edited(("use: redis.memory", "use: mongo.stats")),
        9,
        10,
        f"unknown check 'mongo.stats'; known checks are named {CHECK_PREFIXES}",
    ),
    "a check parameter the check does not take points at the key": (
        edited(("expect_ttl: true}", "expect_ttl: true, ttl: 60}")),
        14,
        49,
        "redis.keys takes no parameter 'ttl'; it takes: pattern, db, expect_ttl, limit",
    ),
    "a check parameter for a check that takes none": (
        edited(
            ("    use: redis.memory\n", "    use: redis.persistence\n    with: {warn_ratio: 1}\n")
        ),
        10,
        12,
        "redis.persistence takes no parameter 'warn_ratio'; it takes: none",
    ),
    "missing required action parameter, no `with:` at all": (
        edited(("        with: {pattern: $pattern}\n", "")),
        22,
        9,
        "redis.delete_keys needs parameter 'pattern'",
    ),
    "missing required action parameter, `with:` without it": (
        edited(("with: {pattern: $pattern}\n", "with: {db: 2}\n")),
        25,
        15,
        "redis.delete_keys needs parameter 'pattern'",
    ),
    "misspelt action": (
        edited(("action: redis.delete_keys", "action: redis.delete_key")),
        23,
        17,
        "unknown action 'redis.delete_key'; did you mean redis.delete_keys or k8s.delete_pod?",
    ),
    "unknown action of a known kind lists that kind's actions": (
        edited(("action: redis.delete_keys", "action: redis.zzzzzzzzzz")),
        23,
        17,
        "unknown action 'redis.zzzzzzzzzz'; known redis actions: redis.delete_keys, "
        "redis.flushdb, redis.kill_client",
    ),
    "`on:` naming a value parameter": (
        edited(("    use: redis.memory\n    on: cache", "    use: redis.memory\n    on: pattern")),
        10,
        9,
        "'pattern' is a value parameter, but `on:` needs a parameter with `target: redis`",
    ),
    "`on:` naming an undeclared parameter": (
        edited(("    use: redis.memory\n    on: cache", "    use: redis.memory\n    on: store")),
        10,
        9,
        "'store' is not a parameter of this runbook; declare it under params with `target: redis`",
    ),
    "`on:` of a fix naming a target of the wrong kind": (
        edited(
            ("  pattern:", "  db: {target: postgres}\n  pattern:"),
            ("        on: cache\n        with: {pattern", "        on: db\n        with: {pattern"),
        ),
        25,
        13,
        "'db' is a postgres target, but this step needs redis",
    ),
    "a step needing a target kind no parameter declares": (
        edited(
            ("cache: {target: redis}", "cache: {target: postgres}"),
            ("    use: redis.memory\n    on: cache\n", "    use: redis.memory\n"),
        ),
        8,
        5,
        "this step needs a redis target; declare a parameter with `target: redis`",
    ),
    "a condition on an unknown check id": (
        edited(("{check: memory, status: fail}", "{check: mem, status: fail}")),
        19,
        17,
        "cause 'full' refers to check 'mem'; this runbook's checks are: memory, keys",
    ),
    "a condition with two comparisons": (
        edited(("fact: oom_errors, gt: 0}", "fact: oom_errors, gt: 0, lt: 5}")),
        20,
        9,
        "causes.0.evidence.1: a condition makes one comparison; this one has lt and gt: "
        "write one condition for each",
    ),
    "a fact comparison without `fact`": (
        edited(("{check: memory, fact: oom_errors, gt: 0}", "{check: memory, gt: 0}")),
        20,
        9,
        "causes.0.evidence.1: `gt` compares a fact; add `fact:` naming which one",
    ),
    "a fact without a comparison": (
        edited(("{check: memory, fact: oom_errors, gt: 0}", "{check: memory, fact: oom_errors}")),
        20,
        9,
        "causes.0.evidence.1: `fact:` needs one comparison, one of: " + ", ".join(OPERATORS),
    ),
    "a condition with neither status nor fact": (
        edited(("{check: memory, status: fail}", "{check: memory}")),
        19,
        9,
        "causes.0.evidence.0: a condition needs `status: [...]` or `fact:` with a comparison",
    ),
    "a condition with both status and fact": (
        edited(("{check: memory, status: fail}", "{check: memory, status: fail, fact: x, gt: 1}")),
        19,
        9,
        "causes.0.evidence.0: a condition tests `status:` or a `fact:`, not both; "
        "write two conditions",
    ),
    "an unknown status": (
        edited(("status: fail}", "status: [fail, failed]}")),
        19,
        40,
        "causes.0.evidence.0.status.1: Input should be 'pass', 'warn', 'fail', 'error' or "
        "'skipped'",
    ),
    "an invalid regex in `matches`": (
        edited(
            ("{check: memory, fact: oom_errors, gt: 0}", '{check: memory, fact: p, matches: "(no"}')
        ),
        20,
        43,
        "causes.0.evidence.1.matches: '(no' is not a valid regular expression: "
        "missing ), unterminated subpattern at position 0",
    ),
    "an invalid regex in `signatures` points at the signature": (
        edited(('"MISCONF"]', '"[MISCONF"]')),
        3,
        41,
        "signatures.1: '[MISCONF' is not a valid regular expression: "
        "unterminated character set at position 0",
    ),
    "a fix with both action and run": (
        edited(
            (
                "        with: {pattern: $pattern}\n",
                "        with: {pattern: $pattern}\n        run: redis-cli FLUSHALL\n",
            )
        ),
        22,
        9,
        "causes.0.fixes.0: a fix is exactly one of `action:`, `run:` or `manual:`; this one has "
        "action and run",
    ),
    "a fix with no kind": (
        edited(
            ('        run: redis-cli -u "$REDIS_URL" CONFIG SET maxmemory-policy allkeys-lru\n', "")
        ),
        26,
        9,
        "causes.0.fixes.1: a fix is exactly one of `action:`, `run:` or `manual:`",
    ),
    "`verify` naming an unknown check": (
        edited(("verify: [memory]", "verify: [memory, persistence]")),
        28,
        18,
        "verify names 'persistence', which is not a check of this runbook",
    ),
    "an undeclared $param in `run:`": (
        edited(("CONFIG SET maxmemory-policy allkeys-lru", "--scan --pattern $patern")),
        27,
        14,
        "$patern is not a parameter of this runbook; declared: cache, pattern",
    ),
    "an undeclared ${param} in a check's `with:`": (
        edited(("{pattern: $pattern, expect_ttl", "{pattern: '${prefix}:*', expect_ttl")),
        14,
        21,
        "$prefix is not a parameter of this runbook; declared: cache, pattern",
    ),
    "duplicate check ids": (
        edited(("  - id: keys", "  - id: memory")),
        11,
        9,
        "check id 'memory' is used twice",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN), ids=list(BROKEN))
def test_a_broken_runbook_is_reported_at_its_place(tmp_path: Path, case: str) -> None:
    text, line, column, message = BROKEN[case]
    path = tmp_path / "runbook.yaml"
    assert error_of(tmp_path, text) == f"{path}:{line}:{column}: {message}"


def test_the_error_is_a_source_error_with_its_parts(tmp_path: Path) -> None:
    path = write(tmp_path, edited(("verify: [memory]", "verify: [memory, persistence]")))
    with pytest.raises(SourceError) as caught:
        load_runbook(path)
    assert (caught.value.path, caught.value.line, caught.value.column) == (str(path), 28, 18)


def test_upper_case_shell_variables_in_run_are_left_for_the_shell(tmp_path: Path) -> None:
    command = 'redis-cli -u "$REDIS_URL" -n ${REDIS_DB} --scan --pattern "$pattern" > "$HOME/k"'
    runbook = load_runbook(
        write(
            tmp_path,
            edited(
                (
                    'run: redis-cli -u "$REDIS_URL" CONFIG SET maxmemory-policy allkeys-lru',
                    f"run: '{command}'",
                )
            ),
        )
    )
    assert runbook.causes[0].fixes[1].run == command


# ---------------------------------------------------------------------------------------------
# The library: every file, every error


def test_one_broken_file_never_hides_the_others(tmp_path: Path) -> None:
    bad_yaml = write(tmp_path, "id: a\ntitle: [oops\n", "a-broken.yaml")
    bad_check = write(
        tmp_path,
        edited(("id: redis-oom", "id: other"), ("use: redis.memory", "use: redis.memroy")),
        "b-broken.yml",
    )
    write(tmp_path, BASE, "c-good.yaml")
    (tmp_path / "notes.txt").write_text("not a runbook")

    library = load_library([tmp_path])

    assert [str(error) for error in library.errors] == [
        f"{bad_yaml}:3:1: invalid YAML: did not find expected ',' or ']'",
        f"{bad_check}:9:10: unknown check 'redis.memroy'; did you mean redis.memory or "
        "redis.keys or redis.latency?",
    ]
    assert list(library.runbooks) == ["redis-oom"]
    assert library.paths == {"redis-oom": tmp_path / "c-good.yaml"}


def test_a_runbook_id_used_by_two_files_is_reported_at_the_second_id(tmp_path: Path) -> None:
    first = write(tmp_path, BASE, "a.yaml")
    second = write(tmp_path, "# the same runbook, copied\n" + BASE, "b.yaml")

    library = load_library([tmp_path])

    assert [str(error) for error in library.errors] == [
        f"{second}:2:5: id 'redis-oom' is already used by {first}"
    ]
    assert library.paths == {"redis-oom": first}


def test_load_library_takes_files_and_folders(tmp_path: Path) -> None:
    folder = tmp_path / "more"
    folder.mkdir()
    write(folder, edited(("id: redis-oom", "id: nested")), "nested.yaml")
    single = write(tmp_path, BASE, "single.yaml")
    library = load_library([single, folder, LIBRARY])
    assert {"nested", "redis-oom", "redis-out-of-memory"} <= set(library.runbooks)
    assert len(library.runbooks) == 2 + len(load_library([LIBRARY]).runbooks)
    assert library.errors == []


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
