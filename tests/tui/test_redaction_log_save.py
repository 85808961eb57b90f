"""No secret a log carries reaches the file the log pane saves; look-alikes come out readable.

The provider (tests/redaction_corpus.py) puts every secret shape in its log lines, a private key
across lines among them, beside lines that only look like secrets. The operator selects the
target, moves to the log pane and presses `s`, as they would to attach the log to a ticket.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from providers.inventory import Target
from providers.redact import MASK
from tests.redaction_corpus import LOOK_ALIKES, isolate, leaked, log_lines
from tests.tui.conftest import inventory_of, wait_for_group, wait_until
from tui.app import TriageApp
from tui.screens.main_screen import MainScreen
from tui.widgets.log_tail import LogTail
from tui.widgets.log_view import LogView


@pytest.fixture
def leaky_kind(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate(monkeypatch, tmp_path / "home")


@pytest.fixture
def workdir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Where the operator started triage: the log pane saves there."""
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


async def test_the_saved_log_holds_no_secret_and_every_look_alike(
    leaky_kind: None, workdir: Path
) -> None:
    saved: list[LogTail.Saved] = []

    def hook(message: object) -> None:
        if isinstance(message, LogTail.Saved) and all(m is not message for m in saved):
            saved.append(message)  # the hook sees the message at each node it bubbles to

    app = TriageApp(inventory_of(Target(kind="leaky", name="shop", timeout=5)))
    async with app.run_test(size=(160, 50), message_hook=hook) as pilot:
        screen = app.screen
        assert isinstance(screen, MainScreen)
        view = app.query_one(LogTail).view
        expected = len(log_lines())
        # the target is selected first: its log is the one that carries every secret
        await wait_until(
            pilot,
            lambda: screen.selected is not None and screen.selected.id == "leaky:shop",
            state=lambda: screen.selected,
        )
        await wait_until(
            pilot, lambda: len(view.visible_texts()) == expected, state=view.visible_texts
        )
        for _ in range(6):  # tab from pane to pane, as far as the log
            if isinstance(app.focused, LogView):
                break
            await pilot.press("tab")
        assert app.focused is view
        await pilot.press("s")
        await wait_until(pilot, lambda: bool(saved), state=lambda: app.focused)
        await wait_for_group(app, "log-save")

    assert saved[0].count == expected
    assert saved[0].path.parent == workdir
    written = saved[0].path.read_text(encoding="utf-8")
    lines = written.splitlines()
    assert len(lines) == expected  # line for line: a masked line is still a line
    assert leaked(written) == []
    assert MASK in written  # masked where they stood, not dropped with the lines around them
    for text in LOOK_ALIKES:
        assert any(line.endswith(f" {text}") for line in lines), text
