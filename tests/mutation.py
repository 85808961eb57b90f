"""The mutation score of each module `make mutation` mutates, from what mutmut left in mutants/.

mutmut prints one total and lists survivors; the goal is per module (at least 85% of each
module's mutants killed), so this reads mutmut's own record of every mutant's exit code
(`mutants/**/*.py.meta`) and prints a table, worst first. Exits 1 when a module is under the
goal, so `make mutation` fails like a test would.

    python -m tests.mutation [--goal 85] [--survivors]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

MUTANTS = Path("mutants")
GOAL = 85.0


# What mutmut calls a mutant the tests caught (its own reading of each exit code).
CAUGHT = frozenset({"killed", "timeout", "caught by type check", "segfault"})
UNCOUNTED = frozenset({"not checked", "skipped"})


def scores(folder: Path = MUTANTS) -> dict[str, tuple[int, int, list[str]]]:
    """Per module: (caught, counted, names of those not caught). A mutant no test reaches
    ("no tests") counts as not caught: nothing would notice that bug."""
    from mutmut.stats import status_by_exit_code

    found: dict[str, tuple[int, int, list[str]]] = {}
    for meta in sorted(folder.rglob("*.py.meta")):
        module = meta.relative_to(folder).as_posix().removesuffix(".meta")
        codes = json.loads(meta.read_text()).get("exit_code_by_key", {})
        status = {name: status_by_exit_code[code] for name, code in codes.items()}
        counted = {name: word for name, word in status.items() if word not in UNCOUNTED}
        missed = sorted(f"{name} ({word})" for name, word in counted.items() if word not in CAUGHT)
        found[module] = (len(counted) - len(missed), len(counted), missed)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--goal", type=float, default=GOAL)
    parser.add_argument("--survivors", action="store_true", help="list each survivor")
    args = parser.parse_args(argv)
    table = scores()
    if not table:
        print("no mutants found: run `mutmut run` first (make mutation does)", file=sys.stderr)
        return 2
    under = 0
    print(f"{'module':<32} {'killed':>7} {'of':>5} {'score':>7}")
    for module, (killed, tested, survivors) in sorted(
        table.items(), key=lambda item: item[1][0] / max(item[1][1], 1)
    ):
        score = 100.0 * killed / tested if tested else 100.0
        under += score < args.goal
        mark = "" if score >= args.goal else f"  < {args.goal:g}%"
        print(f"{module:<32} {killed:>7} {tested:>5} {score:>6.1f}%{mark}")
        if args.survivors:
            for name in survivors:
                print(f"    {name}")
    killed = sum(row[0] for row in table.values())
    tested = sum(row[1] for row in table.values())
    print(f"{'all':<32} {killed:>7} {tested:>5} {100.0 * killed / max(tested, 1):>6.1f}%")
    return 1 if under else 0


if __name__ == "__main__":
    sys.exit(main())
