"""No secret a provider returns reaches the screen: tree, check results, log pane.

The provider (tests/redaction_corpus.py) puts every secret shape in its tree, its check results
and its log lines, beside entities named like secrets, which must stay readable.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets.tree import TreeNode

from providers.inventory import Target
from tests.redaction_corpus import (
    LOOK_ALIKE_NAMES,
    LOOK_ALIKES,
    isolate,
    json_text,
    leaked,
    log_lines,
)
from tests.tui.conftest import inventory_of, wait_for_group, wait_until
from tui.app import TriageApp
from tui.screens.main_screen import MainScreen
from tui.widgets.check_results import CheckResults
from tui.widgets.log_tail import LogTail
from tui.widgets.service_tree import ServiceTree


@pytest.fixture
def leaky_kind(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate(monkeypatch, tmp_path / "home")


def labels(node: TreeNode[object]) -> Iterator[str]:
    yield str(node.label)
    for child in node.children:
        yield from labels(child)


async def test_no_secret_reaches_the_tree_the_checks_or_the_log_pane(leaky_kind: None) -> None:
    app = TriageApp(inventory_of(Target(kind="leaky", name="shop", timeout=5)))
    async with app.run_test(size=(160, 50)) as pilot:
        screen = app.screen
        assert isinstance(screen, MainScreen)
        tree = app.query_one(ServiceTree)
        view = app.query_one(LogTail).view
        checks = app.query_one(CheckResults)
        expected = len(log_lines())
        await wait_until(pilot, lambda: screen.selected is not None)  # the target: its checks
        await wait_until(
            pilot, lambda: len(view.visible_texts()) == expected, state=view.visible_texts
        )
        await wait_for_group(app, "checks")
        await wait_until(
            pilot, lambda: "leaky.probe" in checks.results, state=lambda: checks.results
        )

        shown_labels = list(labels(tree.root))
        assert len(shown_labels) > len(LOOK_ALIKE_NAMES)
        assert leaked(" ".join(shown_labels)) == []
        assert leaked(json_text([r.to_dict() for r in checks.results.values()])) == []
        texts = view.visible_texts()
        assert leaked(" ".join(texts)) == []
        assert leaked(app.export_screenshot()) == []
        for name in LOOK_ALIKE_NAMES:
            reason = f"0/1 running; {name}: stopped (exited with code 0)"
            assert any(name in label and reason in label for label in shown_labels), name
        for text in LOOK_ALIKES:
            assert any(shown.endswith(text) for shown in texts), text
