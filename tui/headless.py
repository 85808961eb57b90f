"""`triage check` and `triage discover`: plain text or JSON, no Textual."""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from collections.abc import Mapping

from providers.contract import CheckResult, CheckStatus, Health, Node
from providers.environment import LiveEnvironment, TargetChecked
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


def exit_code(counts: Mapping[CheckStatus, int]) -> int:
    """0 when nothing failed or errored, else 1 (`counts`: how many results of each status)."""
    return 1 if counts.get(CheckStatus.FAIL) or counts.get(CheckStatus.ERROR) else 0


def _paint(word: CheckStatus | Health, color: bool, width: int = 0) -> str:
    text = word.value.upper().ljust(width)
    return f"\x1b[{_STATUS_COLOURS[word]}m{text}\x1b[0m" if color else text


# Rows that come within this long of the start (or the first this many) set the table's
# column widths; every later target's rows are printed as soon as it is done.
ALIGN_SECONDS = 0.5
ALIGN_ROWS = 1_000
# Children's checks running together, over all targets (2,000 pods must not open 2,000
# connections at once).
CHECKS_AT_ONCE = 64
COLUMNS = ("STATUS", "CHECK", "TARGET", "TIME", "SUMMARY")
_STATUS_WIDTH = 7


def label(result: CheckResult, tree: Node, names: dict[str, str]) -> str:
    """What the TARGET column says: the target's name for its own checks, with the node's name
    for a node under it (`orders-db` the server, `orders-db/orders` one of its databases).
    `names`: the node names of the target's tree, by id."""
    name = names.get(result.node_id)
    if name is None or result.node_id == tree.id:
        return result.target
    return f"{result.target}/{name}"


class _Table:
    """The check table, printed as results come: the first rows are held a moment to align the
    columns on them, then each target's rows go out as soon as the target is done."""

    def __init__(self, color: bool, target_names: list[str]) -> None:
        self.color = color
        self.widths: tuple[int, int, int] | None = None
        self.waiting: list[tuple[CheckStatus, str, str, str, str]] = []
        self.longest_name = max((len(name) for name in target_names), default=0)

    def add(self, checked: TargetChecked) -> None:
        names = {node.id: node.name for node in checked.tree.walk()}
        rows = [
            (
                result.status,
                result.check,
                sanitize(label(result, checked.tree, names)),
                f"{result.duration * 1000:.0f} ms",
                sanitize(result.summary),
            )
            for result in checked.results
        ]
        if self.widths is None:
            self.waiting.extend(rows)
            if len(self.waiting) >= ALIGN_ROWS:
                self.flush()
        else:
            self._write(rows)
            sys.stdout.flush()

    def flush(self) -> None:
        """The header and the rows held so far (once), then whatever is buffered."""
        if self.widths is None and self.waiting:
            rows = self.waiting
            self.widths = (
                max(len(COLUMNS[1]), *(len(row[1]) for row in rows)),
                max(len(COLUMNS[2]), self.longest_name, *(len(row[2]) for row in rows)),
                max(len(COLUMNS[3]), *(len(row[3]) for row in rows)),
            )
            check_width, target_width, time_width = self.widths
            status, check, target, took, summary = COLUMNS
            say(
                f"{status:<{_STATUS_WIDTH}}  {check:<{check_width}}  {target:<{target_width}}  "
                f"{took:>{time_width}}  {summary}\n"
            )
            self.waiting = []
            self._write(rows)
        sys.stdout.flush()

    def _write(self, rows: list[tuple[CheckStatus, str, str, str, str]]) -> None:
        assert self.widths is not None
        check_width, target_width, time_width = self.widths
        for status, name, target, took, summary in rows:
            say(
                f"{_paint(status, self.color, _STATUS_WIDTH)}  {name:<{check_width}}  "
                f"{target:<{target_width}}  {took:>{time_width}}  {summary}\n"
            )


class _JsonStream:
    """The JSON document, its results written as they come. The same text `json.dump` with
    `indent=2` writes for it; `exit_code` and `counts` follow the results, being known last."""

    def __init__(self, environment: str, source: str) -> None:
        say(
            f'{{\n  "environment": {json.dumps(environment)},\n'
            f'  "source": {json.dumps(source)},\n  "results": ['
        )
        self.written = 0

    def add(self, checked: TargetChecked) -> None:
        names = {node.id: node.name for node in checked.tree.walk()}
        for result in checked.results:
            document = result.to_dict()
            # The table's TARGET column; the other keys are as they always were.
            document = {
                "check": document.pop("check"),
                "target": document.pop("target"),
                "label": label(result, checked.tree, names),
                **document,
            }
            text = json.dumps(document, indent=2, default=str).replace("\n", "\n    ")
            say(f"{',' if self.written else ''}\n    {text}")
            self.written += 1
        sys.stdout.flush()

    def flush(self) -> None:
        sys.stdout.flush()

    def end(self, code: int, counts: dict[str, int]) -> None:
        counted = json.dumps(counts, indent=2).replace("\n", "\n  ")
        say(f"{chr(10) + '  ' if self.written else ''}],\n")
        say(f'  "exit_code": {code},\n  "counts": {counted}\n}}\n')


async def check(
    inventory: Inventory,
    environment: str | None,
    *,
    as_json: bool,
    color: bool,
) -> int:
    """Every check of every target, each target's results printed as soon as it is done, a
    bounded number of targets at a time: memory stays flat, and the first rows come at once
    however many targets the inventory has."""
    live = LiveEnvironment(inventory, environment)
    counts: Counter[CheckStatus] = Counter()
    output: _JsonStream | _Table
    if as_json:
        output = _JsonStream(live.name, inventory.source)
    else:
        say(f"environment {live.name} ({inventory.source})\n")
        output = _Table(color, [target.name for target in live.targets])
    sys.stdout.flush()
    for reason in live.unusable_targets.values():  # what the inventory says wrong, said once
        warn(f"triage: environment {live.name}: {reason}\n")
    checking = asyncio.current_task()
    gone: list[BrokenPipeError] = []

    def align() -> None:
        try:
            output.flush()
        except BrokenPipeError as error:  # the reader went away: the run ends, as on a row
            gone.append(error)
            if checking is not None:
                checking.cancel()

    aligned = asyncio.get_running_loop().call_later(ALIGN_SECONDS, align)

    def on_checked(checked: TargetChecked) -> None:
        counts.update(result.status for result in checked.results)
        output.add(checked)

    try:
        await live.check_each_target(on_checked, at_once=CHECKS_AT_ONCE)
    except asyncio.CancelledError:
        if gone:
            raise gone[0] from None
        raise
    finally:
        aligned.cancel()
        await live.close()
    code = exit_code(counts)
    if isinstance(output, _JsonStream):
        output.end(code, {status.value: counts[status] for status in CheckStatus})
        return code
    output.flush()
    total = sum(counts.values())
    if not total:
        say(f"{live.name}: nothing to check (no targets; see --config)\n")
        return code
    totals = ", ".join(f"{counts[s]} {s.value}" for s in CheckStatus if counts[s])
    say(f"{total} checks: {totals}\n")
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
