"""The `triage` command line.

Headless subcommands never import Textual: they run from cron and CI, where start-up time
matters and there may be no terminal. Exit codes: 0 healthy, 1 a check failed or could not run
(or a cause is confirmed, or a fix did not verify), 2 a usage or configuration error.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from providers.inventory import Inventory
    from runbooks.search import Folder

EXIT_OK, EXIT_PROBLEM, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"triage: error: {message}\n")


def _common(*, top: bool) -> argparse.ArgumentParser:
    """Options every command takes, before or after its name.

    On subcommands they default to SUPPRESS, so `triage --config x check` keeps the x.
    """
    default = None if top else argparse.SUPPRESS
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        metavar="FILE",
        default=default,
        help="inventory file (default: $TRIAGE_CONFIG, ./triage.yaml, "
        "$XDG_CONFIG_HOME/triage/config.yaml, else what this machine reaches)",
    )
    common.add_argument(
        "--env", metavar="NAME", default=default, help="environment of the inventory to use"
    )
    common.add_argument(
        "--runbooks",
        metavar="DIR",
        action="append",
        default=None if top else argparse.SUPPRESS,
        help="read runbooks from DIR too, after the built-in library, "
        "$XDG_CONFIG_HOME/triage/runbooks and the inventory's runbook_paths (repeatable; a "
        "runbook with the id of an earlier one replaces it)",
    )
    common.add_argument(
        "--read-only",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="block every action and command, whatever the inventory says",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    sub = _common(top=False)
    parser = _Parser(
        prog="triage",
        description="See every service of an environment, tail its logs, and go from a symptom "
        "to its cause and fix.",
        parents=[_common(top=True)],
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    check = commands.add_parser(
        "check", parents=[sub], help="run the checks of everything discovered, or one runbook"
    )
    check.add_argument("--json", action="store_true", help="print JSON instead of a table")
    check.add_argument("--runbook", metavar="ID", help="diagnose with this runbook")
    check.add_argument(
        "--param", metavar="NAME=VALUE", action="append", default=[], help="a runbook parameter"
    )

    diagnose = commands.add_parser(
        "diagnose",
        parents=[sub],
        help="from a symptom (or what is failing now) to its cause, on what is live",
    )
    diagnose.add_argument(
        "symptom",
        nargs="*",
        help="what you see: an error, a log line, a question naming the service; '-' reads "
        "standard input; nothing: start from what is failing now",
    )
    diagnose.add_argument("--json", action="store_true", help="print JSON instead of text")

    discover = commands.add_parser(
        "discover", parents=[sub], help="print the discovered tree with live status"
    )
    discover.add_argument("--json", action="store_true", help="print JSON instead of a tree")

    runbooks = commands.add_parser("runbooks", parents=[sub], help="list, show, validate runbooks")
    verbs = runbooks.add_subparsers(
        dest="verb", metavar="VERB", required=True, parser_class=_Parser
    )
    listing = verbs.add_parser(
        "list", parents=[sub], help="every runbook on the search path, with its file"
    )
    listing.add_argument("--json", action="store_true")
    listing.add_argument("--source", action="store_true", help="the guide each comes from")
    show = verbs.add_parser(
        "show", parents=[sub], help="one runbook: params, checks, causes, fixes"
    )
    show.add_argument("id")
    validate = verbs.add_parser(
        "validate", parents=[sub], help="check runbook files; all errors, with lines"
    )
    validate.add_argument("paths", nargs="*", metavar="PATH", help="files or folders")
    verbs.add_parser("schema", help="print the JSON Schema of the runbook format")

    suggest = commands.add_parser(
        "suggest", parents=[sub], help="runbooks an error message or log excerpt points to"
    )
    suggest.add_argument("text", nargs="*", help="the text (default: standard input)")
    suggest.add_argument("--json", action="store_true")

    fix = commands.add_parser("fix", parents=[sub], help="apply one fix of a runbook, verify")
    fix.add_argument("--runbook", metavar="ID", required=True)
    fix.add_argument("--cause", metavar="CAUSE", required=True)
    fix.add_argument("--fix", metavar="N", type=int, default=1, help="which fix (default 1)")
    fix.add_argument("--param", metavar="NAME=VALUE", action="append", default=[])
    fix.add_argument(
        "--confirm",
        metavar="WORD",
        help="the word the preview asks for (what it touches, on which server)",
    )
    fix.add_argument("--yes", action="store_true", help=argparse.SUPPRESS)
    fix.add_argument(
        "--force",
        action="store_true",
        help="run the fix of a cause the diagnosis could not confirm nor rule out (unknown)",
    )
    fix.add_argument("--transcript", metavar="FILE", help="write the walkthrough (.md or .json)")

    importing = commands.add_parser(
        "import", help="turn a Markdown troubleshooting guide into runbooks, with a coverage report"
    )
    importing.add_argument("guide", metavar="GUIDE.md")
    importing.add_argument(
        "-o",
        "--output",
        metavar="DIR",
        help="write the runbook YAML here (default: $XDG_CONFIG_HOME/triage/runbooks, where "
        "every command finds them)",
    )
    importing.add_argument(
        "--dry-run", action="store_true", help="print the coverage report, write nothing"
    )

    serve = commands.add_parser(
        "serve", parents=[sub], help="the same app in a browser (textual-serve)"
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000)

    report = commands.add_parser(
        "report", parents=[sub], help="a redacted diagnostics bundle (tar.gz) to attach"
    )
    report.add_argument("-o", "--output", metavar="FILE", help="default: triage-report-TIME.tar.gz")
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
    if args.command == "runbooks":
        return _runbooks(args)
    if args.command == "import":
        from runbooks.importer import NO_SYMPTOMS, run_import
        from runbooks.search import user_folder

        output = None if args.dry_run else Path(args.output) if args.output else user_folder()
        code, report = run_import(Path(args.guide), output)
        (sys.stderr if code == NO_SYMPTOMS else sys.stdout).write(report)
        if output == user_folder() and code in (EXIT_OK, EXIT_PROBLEM):
            print("Every triage command reads them from there: `triage runbooks list` shows them.")
        return code
    if args.command == "suggest":
        from tui import headless_runbooks

        text = _pasted(args.text)
        if not text.strip():
            print("triage: suggest needs text: an error message or log lines", file=sys.stderr)
            return EXIT_USAGE
        try:
            folders = _folders(args, _inventory_if_any(args))
        except ValueError as error:
            return _config_error(str(error))
        return headless_runbooks.suggest_command(text, as_json=args.json, folders=folders)

    if args.command is None:
        return _run_app(
            args.config, args.env, read_only=args.read_only, runbook_dirs=args.runbooks or []
        )
    if args.command == "serve":
        return _serve(args)
    # Imported here: the app draws its first frame before it reads the inventory.
    from providers.inventory import ConfigError, load_inventory

    try:
        inventory = load_inventory(args.config)
        inventory.environment_name(args.env)
    except ConfigError as error:
        return _config_error(str(error))

    folders = _folders(args, inventory)
    color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    if args.command == "check" and args.runbook:
        return _check_runbook(inventory, args, folders)
    if args.command == "check":
        from tui import headless

        return asyncio.run(headless.check(inventory, args.env, as_json=args.json, color=color))
    if args.command == "diagnose":
        from tui import headless_diagnose

        symptom = _pasted(args.symptom) if args.symptom else ""
        return asyncio.run(
            headless_diagnose.diagnose_command(
                inventory, args.env, symptom, as_json=args.json, folders=folders
            )
        )
    if args.command == "discover":
        from tui import headless

        return asyncio.run(headless.discover(inventory, args.env, as_json=args.json, color=color))
    if args.command == "fix":
        return _fix(inventory, args, folders)
    if args.command == "report":
        from tui import report

        return asyncio.run(report.write_report(inventory, args.env, args.output))
    raise AssertionError(f"unhandled command {args.command}")


def _pasted(words: list[str]) -> str:
    """The text of `suggest` or `diagnose`: its words, or standard input with none or `-`. Bytes
    that are not UTF-8 and a text too long to rank whole are each said in one line."""
    from tui import pasted

    if words and words != ["-"]:
        given = pasted.from_arguments(words)
    else:
        if sys.stdin.isatty():
            print("triage: reading the text from standard input (Ctrl+D ends it)", file=sys.stderr)
        # A stand-in without bytes under it (a test's StringIO) is read as the text it is.
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:
            stream = io.BytesIO(sys.stdin.read().encode("utf-8", "surrogateescape"))
        given = pasted.from_stream(stream)
    for note in given.notes:
        print(f"triage: {note}", file=sys.stderr)
    return given.text


def _runbooks(args: argparse.Namespace) -> int:
    from tui import headless_runbooks

    if args.verb == "schema":
        return headless_runbooks.runbooks_schema()
    try:
        folders = _folders(args, _inventory_if_any(args))
    except ValueError as error:
        return _config_error(str(error))
    if args.verb == "list":
        return headless_runbooks.runbooks_list(
            as_json=args.json, folders=folders, sources=args.source
        )
    if args.verb == "show":
        return headless_runbooks.runbooks_show(args.id, folders)
    return headless_runbooks.runbooks_validate(args.paths, folders)


def _inventory_if_any(args: argparse.Namespace) -> Inventory | None:
    """The inventory when there is a file (for its runbook_paths), else None: the commands
    that only read runbooks do not look for servers. ValueError: it is broken."""
    from providers.inventory import ConfigError, config_candidates, load_inventory

    config = getattr(args, "config", None)
    named = config is not None or bool(os.environ.get("TRIAGE_CONFIG"))
    if not named and not any(path.exists() for path in config_candidates(None)):
        return None
    try:
        inventory = load_inventory(config)
        inventory.environment_name(getattr(args, "env", None))
    except ConfigError as error:
        raise ValueError(str(error)) from None
    return inventory


def _folders(args: argparse.Namespace, inventory: Inventory | None) -> list[Folder]:
    """The runbook search path: built-in, the user's folder, the inventory's, --runbooks."""
    from runbooks.search import search_path

    paths = inventory.runbook_paths(getattr(args, "env", None)) if inventory else []
    return search_path(paths, getattr(args, "runbooks", None) or [])


def _check_runbook(inventory: Inventory, args: argparse.Namespace, folders: list[Folder]) -> int:
    from tui import headless_runbooks

    try:
        params = headless_runbooks.parse_params(args.param)
    except ValueError as error:
        print(f"triage: {error}", file=sys.stderr)
        return EXIT_USAGE
    return asyncio.run(
        headless_runbooks.check_runbook(
            inventory, args.env, args.runbook, params, as_json=args.json, folders=folders
        )
    )


def _fix(inventory: Inventory, args: argparse.Namespace, folders: list[Folder]) -> int:
    from runbooks.gate import AuditLog
    from tui import headless_runbooks

    if args.yes:
        print(
            "triage: --yes is not enough to run a fix: every fix that changes something wants "
            "the word its preview asks for (--confirm WORD); run it without --confirm to see it",
            file=sys.stderr,
        )
        return EXIT_USAGE

    try:
        params = headless_runbooks.parse_params(args.param)
    except ValueError as error:
        print(f"triage: {error}", file=sys.stderr)
        return EXIT_USAGE
    audit_path = inventory.settings.audit_log
    return asyncio.run(
        headless_runbooks.fix(
            inventory,
            args.env,
            runbook_id=args.runbook,
            cause_id=args.cause,
            fix_number=args.fix,
            params=params,
            read_only=args.read_only,
            confirm=args.confirm,
            force=args.force,
            ask=input if sys.stdin.isatty() else None,
            transcript_path=args.transcript,
            audit=AuditLog(Path(audit_path) if audit_path else None),
            folders=folders,
        )
    )


def _serve(args: argparse.Namespace) -> int:
    """Serve the TUI to browsers: each visitor gets their own `triage` process."""
    import shlex

    from textual_serve.server import Server

    command = [sys.executable, "-m", "tui.cli"]
    for flag, value in (("--config", args.config), ("--env", args.env)):
        if value:
            command += [flag, value]
    for folder in getattr(args, "runbooks", None) or []:
        command += ["--runbooks", folder]
    if args.read_only:
        command.append("--read-only")
    print(f"triage: serving on http://{args.host}:{args.port} (Ctrl+C stops)", file=sys.stderr)
    Server(shlex.join(command), host=args.host, port=args.port, title="triage").serve()
    return EXIT_OK


def _log_to_file() -> None:
    """While the TUI owns the terminal, library warnings go to a file, not over the screen."""
    import logging

    from runbooks.gate import state_folder

    state_folder().mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        filename=state_folder() / "triage.log",
        level=logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )


def _config_error(error: str) -> int:
    print(f"triage: configuration error: {error}", file=sys.stderr)
    return EXIT_USAGE


def _run_app(
    config: str | None, environment: str | None, *, read_only: bool, runbook_dirs: list[str]
) -> int:
    from tui.collector import pause_full_collections

    pause_full_collections()  # until start-up is over (tui/collector.py)
    from tui.app import TriageApp

    _log_to_file()
    # Log readers run in threads; while one is busy, the UI and input threads wait for the GIL
    # up to this long each time they let it go (5 ms by default): a key's frame waits less.
    sys.setswitchinterval(0.001)
    app = TriageApp(
        None,
        environment,
        read_only=read_only,
        config=config,
        freeze_start_up=True,
        runbook_dirs=runbook_dirs,
    )
    app.run()
    if app.config_error is not None:  # said once the terminal is the operator's again
        return _config_error(app.config_error)
    return app.return_code or EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
