"""The five troubleshooting guides the runbook library was made from.

They live beside the checkout, in `../shared/guides/`: the library's coverage of their symptom
sections and the importer's shares are measured on them. Without them a test that reads them
fails with one line saying where they go, not with an index error deep in a helper.
"""

from __future__ import annotations

from pathlib import Path

import pytest

GUIDES_DIR = Path(__file__).resolve().parents[2] / "shared" / "guides"
GUIDES = sorted(GUIDES_DIR.glob("*.txt"))
EXPECTED = 5


def require_guides() -> None:
    """Fail the test (no traceback) unless the five guides are where they belong."""
    if len(GUIDES) != EXPECTED:
        pytest.fail(
            f"the five troubleshooting guides the runbook library was made from are expected "
            f"in {GUIDES_DIR} (../shared/guides beside this checkout); found {len(GUIDES)}",
            pytrace=False,
        )
