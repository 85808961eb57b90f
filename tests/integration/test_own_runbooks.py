"""The team's own runbooks: the search path (built-in, the user's folder, the inventory's
folders, --runbooks), a runbook replacing a built-in one, a broken one said with its place, and
a guide imported once and used by every command with no copying."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.servers.redis import RedisServer
from tests.tui.conftest import wait_until
from tui.app import TriageApp
from tui.cli import main

pytestmark = pytest.mark.integration

BUILT_IN_TITLE = "Redis is out of memory and rejects writes"

GUIDE = """\
# Sessions store

Our login sessions live in a Redis of their own.

## Logins fail with "OOM command not allowed"

**Symptom:** users cannot log in; the auth service logs
`OOM command not allowed when used memory > 'maxmemory'`.

**Diagnosis:**

```bash
redis-cli INFO memory
```

**Fix:** let Redis evict old sessions:

```bash
redis-cli CONFIG SET maxmemory-policy allkeys-lru
```
"""


def user_folder() -> Path:
    return Path(os.environ["XDG_CONFIG_HOME"]) / "triage" / "runbooks"


def replacement(folder: Path, title: str, name: str = "oom.yaml") -> Path:
    """A runbook with the id of the built-in Redis memory runbook, and its own title."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(
        textwrap.dedent(
            f"""\
            id: redis-out-of-memory
            title: {title}
            applies_to: [redis.instance]
            params:
              redis: {{target: redis}}
            checks:
              - {{id: memory, use: redis.memory, on: redis}}
            causes:
              - id: full
                title: The sessions Redis is full
                evidence:
                  - {{check: memory, status: fail}}
            """
        ),
        encoding="utf-8",
    )
    return path


def listed(
    capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, dict[str, dict[str, str]], str]:
    """`triage runbooks list --json ARGS`: exit code, rows by id, standard error."""
    code = main(["runbooks", "list", "--json", *args])
    out, err = capsys.readouterr()
    return code, {row["id"]: row for row in json.loads(out)}, err


def test_a_user_runbook_replaces_the_built_in_one_and_says_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = replacement(user_folder(), "Our sessions Redis is full")
    code, rows, _ = listed(capsys)
    assert code == 0
    row = rows["redis-out-of-memory"]
    assert row["title"] == "Our sessions Redis is full"
    assert row["file"] == str(path) and row["from"] == "user"
    assert row["replaces"].endswith("runbooks/library/redis-out-of-memory.yaml")
    assert rows["redis-connection-errors"]["from"] == "built-in"  # the others stay

    assert main(["runbooks", "list"]) == 0
    text = capsys.readouterr().out
    assert f"from {path} (replaces built-in)" in text
    assert "from built-in\n" in text


def test_a_broken_user_runbook_is_said_with_its_place_and_the_others_load(
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = user_folder()
    folder.mkdir(parents=True)
    (folder / "broken.yaml").write_text(
        "id: ours\ntitle: Ours\nchecks:\n  - {id: memory, use: redis.memroy}\n", encoding="utf-8"
    )
    code, rows, err = listed(capsys)
    assert code == 1  # something did not load
    assert f"{folder / 'broken.yaml'}:4:" in err and "redis.memroy" in err
    assert "ours" not in rows and rows["redis-out-of-memory"]["title"] == BUILT_IN_TITLE


def test_later_folders_win_settings_then_environment_then_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    replacement(user_folder(), "from the user's folder")
    replacement(tmp_path / "team", "from the inventory's settings")
    replacement(tmp_path / "prod-books", "from the prod environment")
    replacement(tmp_path / "cli", "from --runbooks")
    inventory = tmp_path / "triage.yaml"
    inventory.write_text(
        "settings: {runbook_paths: [team]}\n"  # relative to the inventory file
        "environments:\n"
        "  prod: {runbook_paths: [prod-books], targets: []}\n"
        "  staging: {targets: []}\n",
        encoding="utf-8",
    )
    config = ["--config", str(inventory)]

    def title(*args: str) -> str:
        code, rows, err = listed(capsys, *config, *args)
        assert code == 0, err
        return rows["redis-out-of-memory"]["title"]

    assert title("--env", "staging") == "from the inventory's settings"
    assert title("--env", "prod") == "from the prod environment"
    assert title("--env", "prod", "--runbooks", str(tmp_path / "cli")) == "from --runbooks"


def test_a_folder_named_that_does_not_exist_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, rows, err = listed(capsys, "--runbooks", str(tmp_path / "nowhere"))
    assert code == 1 and rows["redis-out-of-memory"]["title"] == BUILT_IN_TITLE
    assert f"{tmp_path / 'nowhere'}: no such folder (from --runbooks)" in err


def triage(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.endswith("_URL")}
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        timeout=60,
        check=False,
    )


def test_an_imported_guide_is_used_by_every_command_with_no_copying(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    (tmp_path / "sessions.md").write_text(GUIDE, encoding="utf-8")
    imported = triage("import", "sessions.md", cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert f"Wrote 1 runbooks to {user_folder()}" in imported.stdout
    (path,) = user_folder().glob("*.yaml")
    runbook_id = path.stem

    listing = triage("runbooks", "list", "--source", cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    assert f'{runbook_id}  Logins fail with "OOM command not allowed"\n' in listing.stdout
    assert f"from {path}" in listing.stdout
    assert "guide sessions.md#logins-fail-with-oom-command-not-allowed" in listing.stdout

    redis_server.fill_to_maxmemory()
    (tmp_path / "triage.yaml").write_text(
        f"environments:\n  prod:\n    targets:\n"
        f"      - {{kind: redis, name: sessions, url: '{redis_server.url}'}}\n",
        encoding="utf-8",
    )
    checked = triage("check", "--runbook", runbook_id, "--json", cwd=tmp_path)
    document = json.loads(checked.stdout)
    assert document["runbook"] == runbook_id and document["about"] == "redis:sessions"
    (cause,) = document["causes"]
    assert cause["verdict"] == "confirmed", document

    diagnosed = triage("diagnose", "users cannot log in, logins fail", "--json", cwd=tmp_path)
    report = json.loads(diagnosed.stdout)
    found = {item["runbook"] for item in report["diagnoses"]}
    assert runbook_id in found, report


async def test_the_tui_reads_the_search_path_and_says_a_broken_runbook_in_its_header(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    from providers.inventory import Environment, Inventory, Target

    replacement(tmp_path / "cli", "Our sessions Redis is full")
    broken = user_folder()
    broken.mkdir(parents=True)
    (broken / "broken.yaml").write_text("id: [not, a, name]\n", encoding="utf-8")
    inventory = Inventory(
        environments={
            "prod": Environment(
                targets=[Target(kind="redis", name="sessions", url=redis_server.url)]
            )
        }
    )
    app = TriageApp(inventory, runbook_dirs=[str(tmp_path / "cli")])
    async with app.run_test(size=(160, 30)) as pilot:
        app.load_library()
        await wait_until(pilot, lambda: app.library is not None)
        assert app.library is not None
        assert app.library.runbooks["redis-out-of-memory"].title == "Our sessions Redis is full"
        assert [str(error).split(":")[0] for error in app.library.errors] == [
            str(broken / "broken.yaml")
        ]
        await wait_until(
            pilot,
            lambda: "1 runbooks broken (triage runbooks validate)" in app.screen.sub_title,
            state=lambda: app.screen.sub_title,
        )
