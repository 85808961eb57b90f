"""`python -m bench.diagnosis [--only NAME]`: the diagnosis benchmark on its own."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.diagnosis.run import measure
from bench.harness import ROOT


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.diagnosis", description=__doc__)
    parser.add_argument("--only", default="", help="scenarios whose name holds this text")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results", metavar="DIR")
    args = parser.parse_args()
    measure(None, args.output, only=args.only)


if __name__ == "__main__":
    main()
