"""The importer on guides written the ways teams write them (tests/unit/import_corpus/): for
each, the symptom sections a reader of the guide finds and what each of their commands becomes,
as that reader expects (expected.yaml, written from the guides)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from runbooks.importer import import_guide, run_import
from runbooks.importer.guide import clean_title
from runbooks.importer.report import MAPPED, CommandRecord
from tui.cli import main

CORPUS = Path(__file__).parent / "import_corpus"
EXPECTED: dict[str, dict] = yaml.safe_load((CORPUS / "expected.yaml").read_text("utf-8"))


def _becomes(record: CommandRecord) -> str:
    """The check or action a command became (the first, when it shows several), or manual."""
    return record.detail.split(" + ")[0] if record.outcome in MAPPED else "manual"


def _expected_commands(text: str) -> dict[str, str]:
    pairs = (line.rpartition("  ->  ") for line in text.splitlines() if line.strip())
    return {command.strip(): becomes.strip() for command, _, becomes in pairs}


def test_the_corpus_has_guides_of_every_shape_and_each_has_expectations() -> None:
    guides = sorted(path.name for path in CORPUS.glob("*.md"))
    assert guides == sorted(EXPECTED)
    assert len(guides) >= 10


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_guide_imports_as_its_reader_expects(name: str) -> None:
    result = import_guide(CORPUS / name)
    assert result.errors == []
    expected = EXPECTED[name]["sections"]
    symptoms = result.coverage.symptom_sections
    assert [section.title for section in symptoms] == [
        clean_title(section["title"]) for section in expected
    ]
    assert [section.outcome for section in symptoms] == ["runbook"] * len(expected)
    for section, wanted in zip(symptoms, expected, strict=True):
        found = {
            record.text: _becomes(record)
            for record in result.coverage.commands
            if record.section == section.slug and record.outcome not in {"lookup", "unknown"}
        }
        assert found == _expected_commands(wanted["commands"]), section.title


SETEXT_QUOTED = """\
Payments API
============

Refunds fail with a 502
-----------------------

> **Symptom**: refunds fail with `502 Bad Gateway` from the gateway.
>
> **Check**: `curl -s https://payments.internal/healthz`
"""


def test_setext_headings_and_labels_in_block_quotes_are_a_guide(tmp_path: Path) -> None:
    guide = tmp_path / "payments.md"
    guide.write_text(SETEXT_QUOTED, encoding="utf-8")
    result = import_guide(guide)
    assert [s.title for s in result.coverage.symptom_sections] == ["Refunds fail with a 502"]
    (runbook,) = result.runbooks
    assert runbook.symptoms == ["refunds fail with 502 Bad Gateway from the gateway."]
    assert [check.use for check in runbook.checks] == ["http.status"]


NO_SYMPTOMS = """\
---
title: Release notes
---

# Release notes

## 2.4.0

- Faster start-up.
- The `--dry-run` flag.

How to upgrade
--------------

Pull the new image and restart.
"""


def test_a_guide_without_symptom_sections_is_an_error_that_says_why(tmp_path: Path) -> None:
    guide = tmp_path / "CHANGELOG.md"
    guide.write_text(NO_SYMPTOMS, encoding="utf-8")
    code, report = run_import(guide, tmp_path / "out")
    assert code == 3
    assert "0/0" not in report and "100%" not in report
    assert "no symptom section" in report
    for heading in ("Release notes", "2.4.0", "How to upgrade"):
        assert heading in report
    assert "**Symptom**" in report  # what it looks for
    assert not (tmp_path / "out").exists()


def test_the_cli_exits_non_zero_on_a_guide_without_symptoms(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    guide = tmp_path / "empty.md"
    guide.write_text("Just a note, no headings.\n", encoding="utf-8")
    assert main(["import", str(guide)]) == 3
    captured = capsys.readouterr()
    assert "no symptom section" in captured.err
    assert "no headings" in captured.err
