"""The `triage` command line.

Headless subcommands (`check`, `discover`) never import Textual: they run from cron and CI, where
start-up time matters and there may be no terminal. Exit codes: 0 healthy, 1 a check failed or
could not run, 2 a usage or configuration error.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

from providers.inventory import ConfigError, Inventory, load_inventory

EXIT_OK, EXIT_PROBLEM, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"triage: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        metavar="FILE",
        help="inventory file (default: $TRIAGE_CONFIG, ./triage.yaml, "
        "$XDG_CONFIG_HOME/triage/config.yaml, else what this machine reaches)",
    )
    common.add_argument("--env", metavar="NAME", help="environment of the inventory to use")

    parser = _Parser(
        prog="triage",
        description="See every service of an environment, tail its logs, and go from a symptom "
        "to its cause and fix.",
        parents=[common],
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    check = commands.add_parser(
        "check", parents=[common], help="run the checks of everything discovered"
    )
    check.add_argument("--json", action="store_true", help="print JSON instead of a table")

    discover = commands.add_parser(
        "discover", parents=[common], help="print the discovered tree with live status"
    )
    discover.add_argument("--json", action="store_true", help="print JSON instead of a tree")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        # The reader went away (`triage check | head`); nothing left to say to it.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_PROBLEM
    except KeyboardInterrupt:
        return 130


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    try:
        inventory = load_inventory(args.config)
        inventory.environment_name(args.env)
    except ConfigError as error:
        print(f"triage: configuration error: {error}", file=sys.stderr)
        return EXIT_USAGE

    if args.command is None:
        return _run_app(inventory, args.env)

    from tui import headless

    color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    if args.command == "check":
        return asyncio.run(headless.check(inventory, args.env, as_json=args.json, color=color))
    if args.command == "discover":
        return asyncio.run(headless.discover(inventory, args.env, as_json=args.json, color=color))
    raise AssertionError(f"unhandled command {args.command}")


def _run_app(inventory: Inventory, environment: str | None) -> int:
    from tui.app import TriageApp

    app = TriageApp(inventory, environment)
    app.run()
    return app.return_code or EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
