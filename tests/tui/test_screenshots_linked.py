"""The README's pictures: made by `make screenshots` (screenshots/make.py), never test snapshots,
and each showing what its caption says (an SVG screenshot holds its text)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
PICTURE = re.compile(r"^!\[(?P<caption>[^\]]+)\]\((?P<path>[^)]+)\)$", re.MULTILINE)

# What each picture must show, as text on its screen.
SHOWN = {
    "screenshots/main-80x24.svg": ["Services", "Checks: cache", "out of memory"],
    "screenshots/main-120x36.svg": ["Services", "Checks: cache", "memory vs maxmemory"],
    "screenshots/logs-80x24.svg": ["slowlog", "esc", "Restore the panes", "Search"],
    "screenshots/problems-80x24.svg": [
        "Problems right now: 1",
        "redis.memory",
        "Redis is out of memory and rejects writes",
    ],
    "screenshots/walkthrough-found-80x24.svg": ["Causes found", "confirmed", "the memory check"],
    "screenshots/walkthrough-80x24.svg": ["CONFIRMED: Memory is full", "the memory check failed"],
    "screenshots/confirm-80x24.svg": ["DESTRUCTIVE fix", "Type 'cache/fill:*' to run it"],
    "screenshots/verify-80x24.svg": ["DONE: deleted", "Verify checks"],
}


def pictures() -> list[tuple[str, str]]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return [(m["caption"], m["path"]) for m in PICTURE.finditer(readme)]


def screen_text(path: Path) -> str:
    """The characters drawn in a Textual SVG screenshot, in one string."""
    svg = path.read_text(encoding="utf-8")
    texts = re.findall(r"<text [^>]*>(.*?)</text>", svg)
    return html.unescape("".join(texts)).replace("\xa0", " ")


def test_the_readme_shows_only_screenshots_and_every_screen_once() -> None:
    linked = [path for _, path in pictures()]
    assert linked, "the README shows no picture"
    assert all(path.startswith("screenshots/") for path in linked), linked
    assert sorted(linked) == sorted(SHOWN)  # one per screen, none made by the tests


@pytest.mark.parametrize("path", sorted(SHOWN))
def test_each_screenshot_shows_what_its_caption_says(path: str) -> None:
    drawn = re.sub(r"\s+", " ", screen_text(ROOT / path))
    for text in SHOWN[path]:
        assert text in drawn, f"{path} does not show {text!r}"
