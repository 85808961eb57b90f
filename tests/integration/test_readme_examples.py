"""Every example command of the README runs as written.

The README's ```sh blocks are read; each line that only reads (a check, a diagnosis, the
runbooks) is run with `triage` being this virtualenv's script, against a private Redis named in
an inventory, with an empty HOME and XDG folders and none of the variables that point at this
machine's servers. Each must exit 0, as the README's exit codes say of a healthy environment,
and print no traceback.

A line that must not run here says so in the README, in an HTML comment just before its block:
`<!-- not run: REASON -->` for the whole block, `<!-- not run `PREFIX`: REASON -->` for its
lines that start with PREFIX. A line that neither only reads nor is marked fails the test: a new
example gets a decision.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers.redis import RedisServer

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
TRIAGE = Path(sys.executable).parent / "triage"  # this virtualenv's console script
# The commands that only read what they look at (import and report write into the command's
# own folders: here, the test's).
READ_ONLY = (
    ("check",),
    ("discover",),
    ("diagnose",),
    ("suggest",),
    ("runbooks", "list"),
    ("runbooks", "show"),
    ("runbooks", "validate"),
    ("runbooks", "schema"),
    ("import",),
    ("report",),
)
NOT_RUN = re.compile(r"<!-- not run(?: `(?P<prefix>[^`]+)`)?: (?P<reason>.+?) -->")
# What the machine running the tests may have set, and a command must not see.
MACHINE_VARIABLES = re.compile(
    r"(DOCKER_.*|KUBECONFIG|AWS_.*|PG.*|REDIS_URL|DATABASE_URL|AMQP_URL|TRIAGE_.*|"
    r".*_PROXY|.*_proxy|XDG_.*)"
)
A_GUIDE = ROOT / "tests" / "unit" / "import_corpus" / "redis-faq.md"


@dataclass(frozen=True)
class Example:
    line: str  # as the README writes it, continuation lines joined
    number: int  # its line in the README
    not_run: str | None  # why it is not run here, from the README's mark

    @property
    def argv(self) -> list[str]:
        return shlex.split(self.line, comments=True)


@dataclass(frozen=True)
class Mark:
    prefix: str | None
    reason: str
    number: int


def readme_examples(text: str) -> tuple[list[Example], list[Mark]]:
    """Every command line of every ```sh block, with why it is not run when it is marked; and
    the marks no line used (a mark left behind by an edit)."""
    found: list[Example] = []
    unused: list[Mark] = []
    marks: list[Mark] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        stripped = lines[index].strip()
        if match := NOT_RUN.fullmatch(stripped):
            marks.append(Mark(match["prefix"], match["reason"], index + 1))
        elif stripped == "```sh":
            used: set[int] = set()
            index += 1
            pending: list[str] = []  # the parts of a line continued with a backslash
            while lines[index].strip() != "```":
                line = lines[index].strip()
                if line.endswith("\\"):
                    pending.append(line[:-1].strip())
                elif (whole := " ".join([*pending, line]).strip()) and not whole.startswith("#"):
                    why = None
                    for mark in marks:
                        if mark.prefix is None or whole.startswith(mark.prefix):
                            why = mark.reason
                            used.add(mark.number)
                            break
                    found.append(Example(whole, index + 1 - len(pending), why))
                    pending = []
                else:
                    pending = []
                index += 1
            unused += [mark for mark in marks if mark.number not in used]
            marks = []
        elif stripped:
            unused += marks  # a mark speaks of the block right after it
            marks = []
        index += 1
    return found, unused + marks


EXAMPLES, UNUSED_MARKS = readme_examples(README.read_text(encoding="utf-8"))


def read_only(example: Example) -> bool:
    argv = example.argv
    if not argv or argv[0] not in ("triage", ".venv/bin/triage"):
        return False
    words = [word for word in argv[1:] if not word.startswith("-")]
    return any(tuple(words[: len(command)]) == command for command in READ_ONLY)


TO_RUN = [example for example in EXAMPLES if example.not_run is None]


def test_the_readme_has_examples_and_every_one_is_run_or_marked_with_why() -> None:
    assert len(TO_RUN) >= 10, EXAMPLES
    assert UNUSED_MARKS == []
    for example in EXAMPLES:
        if example.not_run is not None:
            print(f"README.md:{example.number}: not run ({example.not_run}): {example.line}")
    unmarked = [f"README.md:{e.number}: {e.line}" for e in TO_RUN if not read_only(e)]
    assert unmarked == [], "these do more than read: mark them `<!-- not run: why -->`"


@pytest.fixture
def sandbox(redis_server: RedisServer, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A folder to run in (with a guide to import) and an environment naming only a private
    Redis: an inventory with it as `cache`, and REDIS_URL too."""
    home = tmp_path / "home"
    folders = {name: home / path for name, path in XDG_FOLDERS.items()}
    for folder in (home, *folders.values()):
        folder.mkdir(parents=True, exist_ok=True)
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(
        "environments:\n  local:\n    targets:\n"
        f'      - {{kind: redis, name: cache, url: "{redis_server.url}"}}\n'
    )
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(A_GUIDE, work / "TROUBLESHOOTING.md")
    environment = {k: v for k, v in os.environ.items() if not MACHINE_VARIABLES.fullmatch(k)}
    environment.update(
        {
            "HOME": str(home),
            **{name: str(folder) for name, folder in folders.items()},
            "TRIAGE_CONFIG": str(inventory),
            "REDIS_URL": redis_server.url,
            "NO_COLOR": "1",
        }
    )
    return work, environment


XDG_FOLDERS = {
    "XDG_CONFIG_HOME": ".config",
    "XDG_STATE_HOME": ".local/state",
    "XDG_DATA_HOME": ".local/share",
    "XDG_CACHE_HOME": ".cache",
}


@pytest.mark.parametrize("example", TO_RUN, ids=[f"line{e.number}" for e in TO_RUN])
def test_the_example_runs_as_written(
    example: Example, sandbox: tuple[Path, dict[str, str]]
) -> None:
    work, environment = sandbox
    argv = example.argv
    argv[0] = str(ROOT / argv[0]) if argv[0].startswith(".venv/") else str(TRIAGE)
    completed = subprocess.run(
        argv, cwd=work, env=environment, capture_output=True, text=True, timeout=120
    )
    said = completed.stdout + completed.stderr
    print(f"README.md:{example.number}: exit {completed.returncode}: {example.line}")
    assert completed.returncode == 0, said
    assert "Traceback" not in said
    assert completed.stdout.strip(), "an example that prints nothing shows nothing"
