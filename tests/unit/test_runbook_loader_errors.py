"""The runbook loader: every broken runbook is reported at its place.

Each broken case edits one valid runbook (BASE) and asserts the whole error string: the file,
the line and column a person would go to, and what is wrong there.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from providers.yamlsource import SourceError
from runbooks.loader import load_runbook
from runbooks.model import OPERATORS
from tests.unit.runbook_loader_helpers import CHECKS, UNKNOWN_FIELD, edited, error_of, write

# ---------------------------------------------------------------------------------------------
# Broken runbooks: (text, line, column, message)

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
        "$patern is neither a parameter of this runbook nor a variable its targets give "
        "(REDIS_URL); declare it under params (a command never reads the operator's shell for "
        "it)",
    ),
    "a shell variable naming a server in `run:`": (
        edited(("CONFIG SET maxmemory-policy allkeys-lru", "-n $REDIS_DB CONFIG GET dir")),
        27,
        14,
        "$REDIS_DB is neither a parameter of this runbook nor a variable its targets give "
        "(REDIS_URL); declare it under params (a command never reads the operator's shell for "
        "it)",
    ),
    "a tool whose kind the runbook has no target of": (
        edited(
            ('run: redis-cli -u "$REDIS_URL" CONFIG SET', 'run: psql -c "SELECT 1" && redis-cli')
        ),
        27,
        14,
        "this command uses psql, which reaches a postgres target; declare a parameter with "
        "`target: postgres` so that it runs on the diagnosed one",
    ),
    "a guide's <placeholder> left in `run:`": (
        edited(("CONFIG SET maxmemory-policy allkeys-lru", "DEL <key-name>")),
        27,
        14,
        "<key-name> is a placeholder the shell would read as a redirection; make it a parameter "
        "($name) or the fix a manual step",
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


def test_a_command_may_use_its_targets_variables_params_and_home(tmp_path: Path) -> None:
    command = 'redis-cli -u "$REDIS_URL" --scan --pattern "${pattern}" </dev/null > "$HOME/k"'
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
