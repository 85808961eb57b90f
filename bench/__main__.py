"""Benchmarks of triage: measured on this machine, printed as a table, written as JSON.

Run: `python -m bench` (or `bench/run`); `--only fanout,memory` runs a subset; `--quick`
shortens every duration (5 s floods, 10 s idle) for a smoke test. Every server is private and
stopped at the end. Results: bench/results/latest.json (git-ignored).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from bench.harness import ROOT, Figure
from bench.servers import Servers

MEASUREMENTS = {
    "cold": "bench.cold_start",
    "fanout": "bench.fanout",
    "flood": "bench.flood",
    "idle": "bench.idle",
    "memory": "bench.memory",
    "scale": "bench.scale",  # the fake Kubernetes API is the newest server
    "inventory": "bench.big_inventory",  # `triage check` on 76,000 targets: no server at all
    "diagnosis": "bench.diagnosis.run",  # servers of its own: a shop with faults in it
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", default=",".join(MEASUREMENTS), help=f"comma-separated: {','.join(MEASUREMENTS)}"
    )
    parser.add_argument("--quick", action="store_true", help="short durations, for a smoke test")
    parser.add_argument(
        "--output", type=Path, default=ROOT / "bench" / "results" / "latest.json", metavar="FILE"
    )
    args = parser.parse_args(argv)
    wanted = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(wanted) - set(MEASUREMENTS))
    if unknown:
        parser.error(f"unknown measurements {unknown}; known: {', '.join(MEASUREMENTS)}")
    args.output.parent.mkdir(parents=True, exist_ok=True)

    report: dict[str, object] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "load_average_before": os.getloadavg(),
        "quick": args.quick,
        "measurements": {},
        "errors": {},
    }
    figures: list[Figure] = []
    servers = Servers()
    try:
        for name in (n for n in MEASUREMENTS if n in wanted):
            print(f"-- {name}", file=sys.stderr, flush=True)
            started = time.monotonic()
            module = importlib.import_module(MEASUREMENTS[name])
            try:
                found = module.measure(servers, args.output.parent, quick=args.quick)
            except Exception as error:  # one broken measurement must not hide the others
                traceback.print_exc()
                report["errors"][name] = f"{type(error).__name__}: {error}"  # type: ignore[index]
                continue
            figures += found
            report["measurements"][name] = {  # type: ignore[index]
                "seconds": round(time.monotonic() - started, 1),
                "figures": [figure.to_dict() for figure in found],
            }
    finally:
        servers.close()
    report["load_average_after"] = os.getloadavg()
    args.output.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    print(table(figures))
    print(f"\nJSON: {args.output}")
    return 1 if report["errors"] else 0


def table(figures: list[Figure]) -> str:
    rows = [("figure", "goal", "measured", "anchor", "ratio", "met")]
    for figure in figures:
        relation = ">=" if figure.at_least else "<="
        goal = "" if figure.goal is None else f"{relation} {_number(figure.goal)} {figure.unit}"
        anchor = (
            ""
            if figure.anchor is None
            else f"{_number(figure.anchor)} {figure.unit} ({figure.anchor_name})"
        )
        ratio = "" if figure.ratio is None else f"{figure.ratio:.2f}x"
        met = {True: "yes", False: "NO", None: "-"}[figure.met]
        rows.append(
            (figure.name, goal, f"{_number(figure.value)} {figure.unit}", anchor, ratio, met)
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def _number(value: float) -> str:
    if value != value:
        return "n/a"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


if __name__ == "__main__":
    sys.exit(main())
