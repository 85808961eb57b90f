"""`triage runbooks ...` and `triage suggest` from the command line (no server needed)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from tui.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_list_shows_every_runbook_of_the_library(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "runbooks", "list", "--json")
    assert code == 0
    ids = {entry["id"] for entry in json.loads(out)}
    assert "redis-out-of-memory" in ids


def test_show_names_params_checks_causes_and_fixes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "runbooks", "show", "redis-out-of-memory")
    assert code == 0
    assert out.startswith("redis-out-of-memory: Redis is out of memory and rejects writes\n")
    assert "  cache: a redis target" in out
    assert "  memory: redis.memory" in out
    assert "    fix 1: Delete the keys that filled it" in out
    code, _, err = run(capsys, "runbooks", "show", "nope")
    assert code == 2 and "no runbook 'nope'" in err


def test_validate_reports_every_broken_file_with_its_place(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "a.yaml").write_text("id: a\ntitle: A\nchecks:\n  - {id: x, use: redis.pong}\n")
    (tmp_path / "b.yaml").write_text("id: b\ntitle: [unclosed\n")
    (tmp_path / "c.yaml").write_text("id: c\ntitle: Fine\n")
    code, out, err = run(capsys, "runbooks", "validate", str(tmp_path))
    assert code == 1
    assert out == "1 of 3 runbooks valid\n"
    lines = err.splitlines()
    assert lines[0].startswith(f"triage: {tmp_path / 'a.yaml'}:4:18: unknown check 'redis.pong'")
    assert lines[1].startswith(f"triage: {tmp_path / 'b.yaml'}:3:1: invalid YAML")
    code, out, _ = run(capsys, "runbooks", "validate")
    assert code == 0 and out.endswith(" runbooks valid\n")


def test_schema_is_json_schema_with_the_yaml_field_names(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "runbooks", "schema")
    assert code == 0
    schema = json.loads(out)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert {"id", "title", "checks", "causes", "verify"} <= set(schema["properties"])
    step = schema["$defs"]["CheckStep"]["properties"]
    assert "with" in step and "on" in step


def test_suggest_from_arguments_and_from_standard_input(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(
        capsys, "suggest", "--json", "ReplyError: OOM command not allowed when used memory"
    )
    assert code == 0
    first = json.loads(out)[0]
    assert first["runbook"] == "redis-out-of-memory"
    assert "matches signature 'OOM command not allowed'" in first["reasons"]

    monkeypatch.setattr(
        "sys.stdin",
        io.StringIO(
            "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to "
            "persist to disk.\n"
        ),
    )
    code, out, _ = run(capsys, "suggest")
    assert code == 0 and "redis-out-of-memory" in out

    code, out, _ = run(capsys, "suggest", "the printer is on fire")
    assert code == 1 and out.startswith("no runbook matches")
    monkeypatch.setattr("sys.stdin", io.StringIO("   "))
    code, _, err = run(capsys, "suggest")
    assert code == 2 and "suggest needs text" in err


def test_import_writes_runbooks_that_validate(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    guide = tmp_path / "TROUBLESHOOTING.md"
    guide.write_text(
        "# Troubleshooting\n\n## Cache errors\n\n"
        "**Symptom**: `Error: ECONNREFUSED 127.0.0.1:6379`\n\n"
        "**Solution**:\n```bash\nredis-cli -h cache.internal ping\n```\n"
    )
    code, out, _ = run(capsys, "import", str(guide), "-o", str(tmp_path / "out"))
    assert code == 0, out
    written = sorted((tmp_path / "out").glob("*.yaml"))
    assert written, out
    code, out, _ = run(capsys, "runbooks", "validate", str(tmp_path / "out"))
    assert code == 0 and out == f"{len(written)} of {len(written)} runbooks valid\n"
    code, _, _ = run(capsys, "import", str(tmp_path / "missing.md"))
    assert code == 2
