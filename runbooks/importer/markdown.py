"""A small Markdown reader for troubleshooting guides: sections, lists, tables, fenced code.

It is not a full CommonMark parser. It reads the structures such guides use: ATX headings
(`## Title`), paragraphs, bullet and numbered list items (with their indentation), bold labels
at the start of a paragraph or item (`**Symptom**:`), pipe tables, fenced code blocks (also
indented inside list items) and inline code spans.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

BlockKind = Literal["paragraph", "item", "code", "table", "rule"]

_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+#.-]*)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_ITEM = re.compile(r"^(\s*)(\d+[.)]|[-*+])\s+(.*)$")
_RULE = re.compile(r"^\s*(?:-{3,}|\*{3,}|_{3,})\s*$")
_TABLE_SEPARATOR = re.compile(r"^\s*\|?[\s:|-]+\|?\s*$")
_BOLD_START = re.compile(r"^\*\*(.+?)\*\*(\s*:)?\s*(.*)$", re.DOTALL)
_INLINE_CODE = re.compile(r"`([^`\n]+)`")


@dataclass
class Block:
    """One block of a section, in the order of the guide."""

    kind: BlockKind
    text: str
    line: int
    indent: int = 0
    marker: str = ""  # "1." or "-" for a list item
    lang: str = ""  # the info string of a fenced code block
    rows: list[list[str]] = field(default_factory=list)  # a table: header first
    label: str | None = None  # the bold text at the start (`**Symptom**:` -> "Symptom")
    rest: str = ""  # the text after the bold label

    @property
    def numbered(self) -> bool:
        return self.kind == "item" and self.marker[:1].isdigit()

    @property
    def code_spans(self) -> list[str]:
        return _INLINE_CODE.findall(self.text)


@dataclass
class Section:
    """A heading and what follows it up to the next heading of the same or a higher level."""

    title: str
    level: int
    slug: str
    line: int
    blocks: list[Block] = field(default_factory=list)
    children: list[Section] = field(default_factory=list)
    parent: Section | None = field(default=None, repr=False)

    def walk(self) -> list[Section]:
        found = [self]
        for child in self.children:
            found.extend(child.walk())
        return found

    @property
    def path(self) -> list[str]:
        titles: list[str] = []
        node: Section | None = self
        while node is not None and node.level > 0:
            titles.append(node.title)
            node = node.parent
        return list(reversed(titles))


def slugify(text: str) -> str:
    """A GitHub-style anchor, restricted to ASCII letters, digits and hyphens."""
    text = strip_inline(text).lower()
    text = re.sub(r"[^a-z0-9 _-]", "", text)
    text = re.sub(r"[\s_]+", "-", text.strip())
    return re.sub(r"-{2,}", "-", text).strip("-") or "section"


def strip_inline(text: str) -> str:
    """Text without emphasis markers, code ticks and link targets."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = text.replace("**", "").replace("__", "").replace("`", "")
    return re.sub(r"\s+", " ", text).strip()


def _bold(block: Block) -> None:
    match = _BOLD_START.match(block.text.strip())
    if match:
        label = match.group(1).strip()
        colon = bool(match.group(2)) or label.endswith(":")
        block.label = label.rstrip(":").strip()
        block.rest = match.group(3).strip()
        if not colon and block.kind == "paragraph" and block.rest:
            block.label, block.rest = None, ""  # bold words that start a sentence


def _cells(line: str) -> list[str]:
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") else inner
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", inner)]


def parse(text: str) -> Section:
    """The guide as a tree of sections under a level-0 root."""
    root = Section(title="", level=0, slug="", line=1)
    current = root
    used: dict[str, int] = {}
    lines = text.splitlines()
    paragraph: Block | None = None
    index = 0
    while index < len(lines):
        raw = lines[index]
        number = index + 1
        fence = _FENCE.match(raw)
        if fence:
            indent, marker, lang = len(fence.group(1)), fence.group(2), fence.group(3).lower()
            body: list[str] = []
            index += 1
            while index < len(lines) and not lines[index].strip().startswith(marker):
                line = lines[index]
                body.append(line[indent:] if line[:indent].strip() == "" else line.lstrip())
                index += 1
            current.blocks.append(Block("code", "\n".join(body), number, indent, lang=lang))
            paragraph = None
            index += 1
            continue
        heading = _HEADING.match(raw)
        if heading:
            level, title = len(heading.group(1)), strip_inline(heading.group(2))
            while current.level >= level and current.parent is not None:
                current = current.parent
            slug = slugify(title)
            if slug in used:
                used[slug] += 1
                slug = f"{slug}-{used[slug]}"
            else:
                used[slug] = 0
            section = Section(title, level, slug, number, parent=current)
            current.children.append(section)
            current = section
            paragraph = None
            index += 1
            continue
        if not raw.strip():
            paragraph = None
            index += 1
            continue
        if _RULE.match(raw):
            current.blocks.append(Block("rule", "", number))
            paragraph = None
        elif raw.lstrip().startswith("|"):
            rows: list[list[str]] = []
            while index < len(lines) and lines[index].lstrip().startswith("|"):
                if not _TABLE_SEPARATOR.match(lines[index]):
                    rows.append(_cells(lines[index]))
                index += 1
            current.blocks.append(Block("table", "", number, rows=rows))
            paragraph = None
            continue
        elif item := _ITEM.match(raw):
            block = Block("item", item.group(3).strip(), number, len(item.group(1)), item.group(2))
            _bold(block)
            current.blocks.append(block)
            paragraph = block
        elif paragraph is not None:
            paragraph.text += " " + raw.strip()
            _bold(paragraph)
        else:
            paragraph = Block("paragraph", raw.strip(), number, len(raw) - len(raw.lstrip()))
            _bold(paragraph)
            current.blocks.append(paragraph)
        index += 1
    return root
