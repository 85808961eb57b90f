"""Shared by the runbook loader tests: the valid base runbook (BASE), edits of it, and
writing and loading it.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from providers.registry import action_catalogue, check_catalogue
from providers.yamlsource import SourceError
from runbooks.loader import load_runbook

CHECKS = check_catalogue()
ACTIONS = action_catalogue()
UNKNOWN_FIELD = "unknown field (check its spelling)"

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
