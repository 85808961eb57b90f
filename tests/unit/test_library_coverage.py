"""The built-in library covers every symptom section of the five guides, and validates."""

from __future__ import annotations

from runbooks.coverage import (
    automation_share,
    coverage_problems,
    load_coverage,
    required_sections,
)
from runbooks.loader import load_library
from tests.guides import GUIDES, require_guides

AUTOMATION_GOAL = 0.80


def test_the_library_validates() -> None:
    library = load_library()
    assert [str(error) for error in library.errors] == []
    assert library.runbooks


def test_every_symptom_section_of_the_guides_is_covered() -> None:
    require_guides()
    sections = required_sections(GUIDES)
    assert len(sections) > 50  # the guides' symptom and procedure sections, read from the files
    problems = coverage_problems(sections, load_coverage(), load_library().runbooks)
    assert problems == []


def test_every_runbook_names_the_section_it_comes_from() -> None:
    """A guide's section, or the product's own documentation of that state (a page's URL)."""
    require_guides()
    anchors = {section.anchor for section in required_sections(GUIDES)}
    library = load_library()
    unsourced = [
        runbook.id
        for runbook in library.runbooks.values()
        if runbook.source
        and runbook.source not in anchors
        and not runbook.source.startswith("https://")
    ]
    assert unsourced == []


def test_most_diagnostic_steps_run_as_checks() -> None:
    share = automation_share(load_library().runbooks.values())
    assert share.share >= AUTOMATION_GOAL, share
