"""`triage check` and `triage discover`: plain text or JSON, no Textual."""

from __future__ import annotations

import json
import sys
from collections import Counter

from providers.contract import CheckResult, CheckStatus, Health, Node
from providers.environment import LiveEnvironment
from providers.inventory import Inventory
from providers.text import sanitize

_STATUS_COLOURS = {
    CheckStatus.PASS: "32",
    CheckStatus.WARN: "33",
    CheckStatus.FAIL: "31",
    CheckStatus.ERROR: "35",
    CheckStatus.SKIPPED: "2",
    Health.OK: "32",
    Health.DEGRADED: "33",
    Health.FAILING: "31",
    Health.UNKNOWN: "2",
}


def say(text: str) -> None:
    """Write to standard output as it is now (tests and pipes replace it)."""
    sys.stdout.write(text)


def warn(text: str) -> None:
    sys.stderr.write(text)


def exit_code(results: list[CheckResult]) -> int:
    """0 when nothing failed or errored, else 1."""
    bad = {CheckStatus.FAIL, CheckStatus.ERROR}
    return 1 if any(result.status in bad for result in results) else 0


def _paint(word: CheckStatus | Health, color: bool, width: int = 0) -> str:
    text = word.value.upper().ljust(width)
    return f"\x1b[{_STATUS_COLOURS[word]}m{text}\x1b[0m" if color else text


async def check(
    inventory: Inventory,
    environment: str | None,
    *,
    as_json: bool,
    color: bool,
) -> int:
    live = LiveEnvironment(inventory, environment)
    try:
        _, results = await live.check_everything()
    finally:
        await live.close()
    code = exit_code(results)
    if as_json:
        counts = Counter(result.status.value for result in results)
        document = {
            "environment": live.name,
            "source": inventory.source,
            "exit_code": code,
            "counts": {status.value: counts.get(status.value, 0) for status in CheckStatus},
            "results": [result.to_dict() for result in results],
        }
        json.dump(document, sys.stdout, indent=2, default=str)
        say("\n")
        return code
    if not results:
        say(f"{live.name}: nothing to check (no targets; see --config)\n")
        return code
    rows = [
        (
            result.status,
            result.check,
            result.target,
            f"{result.duration * 1000:.0f} ms",
            sanitize(result.summary),
        )
        for result in results
    ]
    widths = [max(len(str(row[index])) for row in rows) for index in (1, 2, 3)]
    say(f"environment {live.name} ({inventory.source})\n")
    for status, name, target, duration, summary in rows:
        say(
            f"{_paint(status, color, 7)}  {name:<{widths[0]}}  {target:<{widths[1]}}  "
            f"{duration:>{widths[2]}}  {summary}\n"
        )
    counts = Counter(result.status for result in results)
    totals = ", ".join(f"{counts[s]} {s.value}" for s in CheckStatus if counts[s])
    say(f"{len(results)} checks: {totals}\n")
    return code


async def discover(
    inventory: Inventory,
    environment: str | None,
    *,
    as_json: bool,
    color: bool,
) -> int:
    live = LiveEnvironment(inventory, environment)
    try:
        nodes = await live.discover()
    finally:
        await live.close()
    if as_json:
        document = {"environment": live.name, "nodes": [node.to_dict() for node in nodes]}
        json.dump(document, sys.stdout, indent=2)
        say("\n")
    else:
        say(f"environment {live.name} ({inventory.source})\n")
        for tree in nodes:
            _write_tree(tree, color, depth=0)
    return 1 if any(node.status.health is Health.FAILING for node in nodes) else 0


def _write_tree(node: Node, color: bool, depth: int) -> None:
    indent = "  " * depth
    say(
        f"{indent}{_paint(node.status.health, color, 8)} {sanitize(node.name)}"
        f"  {sanitize(node.status.reason)}\n"
    )
    for child in node.children:
        _write_tree(child, color, depth + 1)
