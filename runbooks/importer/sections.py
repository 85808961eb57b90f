"""A guide as a tree of sections and blocks, read from markdown-it-py's CommonMark tokens.

markdown-it-py does the reading (ATX and setext headings, block quotes, nested and loose
lists, tables, fenced and indented code, HTML, YAML front matter through mdit-py-plugins);
this module only turns its token stream into what the importer works on: sections under their
headings, and in each the blocks in the order of the guide (paragraphs, list items, code,
tables), with the bold label a paragraph or item starts with (`**Symptom**:`) and the code
spans of its text. HTML blocks and comments, and front matter, are not part of any section.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.front_matter import front_matter_plugin

BlockKind = Literal["paragraph", "item", "code", "table", "rule"]

# Inline HTML that is markup, dropped from the words; any other `<name>` is a placeholder the
# guide wants filled (`<rds-endpoint>`, `<pod-name>`) and stays in the text.
HTML_ELEMENTS = frozenset({
    "a", "abbr", "b", "bdi", "bdo", "br", "cite", "code", "data", "del", "dfn", "em", "font",
    "i", "img", "ins", "kbd", "mark", "q", "s", "samp", "small", "span", "strong", "sub", "sup",
    "time", "u", "var", "wbr", "p", "div", "details", "summary", "table", "tbody", "thead", "tr",
    "td", "th", "ul", "ol", "li", "pre", "blockquote", "hr", "h1", "h2", "h3", "h4", "h5", "h6",
    "section", "article", "header", "footer", "nav", "figure", "figcaption",
})  # fmt: skip
_TAG_NAME = re.compile(r"^</?([A-Za-z][A-Za-z0-9-]*)")


@dataclass(frozen=True)
class Inline:
    """Inline content as a reader sees it: the words without markup, and its code spans."""

    text: str = ""
    code: tuple[str, ...] = ()


@dataclass
class Block:
    """One block of a section, in the order of the guide."""

    kind: BlockKind
    text: str  # a paragraph's or item's words (no markup); a code block's code
    line: int  # 1-based; a fence's opening line, the line before an indented block's code
    depth: int = 0  # list items around it (an item: those around its list)
    marker: str = ""  # "1." or "-" for a list item
    lang: str = ""  # the first word of a fence's info string
    rows: list[list[Inline]] = field(default_factory=list)  # a table: header first
    label: str | None = None  # the bold text at the start (`**Symptom**:` -> "Symptom")
    rest: Inline = Inline()  # what follows the label
    code_spans: tuple[str, ...] = ()  # the code spans of `text`
    quoted: bool = False  # inside a block quote (`> **Symptom**: ...`)

    @property
    def numbered(self) -> bool:
        return self.kind == "item" and self.marker[:1].isdigit()

    @property
    def words(self) -> Inline:
        return Inline(self.text, self.code_spans)

    @property
    def header(self) -> list[str]:
        """A table's column titles."""
        return [cell.text for cell in self.rows[0]] if self.rows else []


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
    text = " ".join(text.split()).lower()
    text = re.sub(r"[^a-z0-9 _-]", "", text)
    text = re.sub(r"[\s_]+", "-", text.strip())
    return re.sub(r"-{2,}", "-", text).strip("-") or "section"


def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark").enable("table").use(front_matter_plugin)


def _lang(info: str) -> str:
    """The language of a fence: `bash` of "bash title=x", "bash{1,3}" or "Bash"."""
    match = re.match(r"[\w+#.-]*", info.strip())
    return match.group(0).lower() if match else ""


def _inline(children: Sequence[Token]) -> Inline:
    parts: list[str] = []
    code: list[str] = []
    for child in children:
        if child.type == "text":
            parts.append(child.content)
        elif child.type == "code_inline":
            parts.append(child.content)
            code.append(child.content)
        elif child.type in {"softbreak", "hardbreak"}:
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content)
        elif child.type == "html_inline":
            name = _TAG_NAME.match(child.content)
            if name is None or name.group(1).lower() in HTML_ELEMENTS:
                parts.append(" ")  # markup or a comment: a word break at most
            else:
                parts.append(child.content)
    return Inline(" ".join("".join(parts).split()), tuple(code))


def _label(children: Sequence[Token]) -> tuple[str, Inline, bool] | None:
    """(label, the rest, whether a colon follows) when the text opens with bold words."""
    tokens = [t for t in children if not (t.type == "text" and not t.content.strip())]
    if not tokens or tokens[0].type != "strong_open":
        return None
    depth = 0
    for index, token in enumerate(tokens):
        depth += {"strong_open": 1, "strong_close": -1}.get(token.type, 0)
        if depth == 0:
            label = _inline(tokens[1:index]).text
            rest = _inline(tokens[index + 1 :])
            colon = label.endswith(":") or rest.text.startswith(":")
            words = rest.text.removeprefix(":").strip()
            return label.rstrip(":").strip(), Inline(words, rest.code), colon
    return None


class _Reader:
    """Walks the token stream, keeping the section and the list nesting it is in."""

    def __init__(self) -> None:
        self.root = Section(title="", level=0, slug="", line=1)
        self.current = self.root
        self.used: dict[str, int] = {}
        self.items: list[str] = []  # markers of the list items the reader is inside
        self.item_start: str | None = None  # the marker of an item whose first block is next
        self.quotes = 0  # block quotes the reader is inside

    def read(self, tokens: Sequence[Token]) -> Section:
        index = 0
        while index < len(tokens):
            index = self._token(tokens, index)
        return self.root

    def _token(self, tokens: Sequence[Token], index: int) -> int:
        token = tokens[index]
        kind = token.type
        line = token.map[0] + 1 if token.map else 0
        if kind == "heading_open":
            self._heading(int(token.tag[1:]), _inline(tokens[index + 1].children or []), line)
            return index + 3
        if kind == "list_item_open":
            marker = f"{token.info}{token.markup}" if token.info else token.markup
            self.items.append(marker)
            self.item_start = marker
            return index + 1
        elif kind == "list_item_close":
            self.items.pop()
        elif kind == "paragraph_open":
            self._paragraph(tokens[index + 1].children or [], line)
            return index + 3
        elif kind in {"fence", "code_block"}:
            fenced = kind == "fence"
            code = token.content.removesuffix("\n")
            lang = _lang(token.info) if fenced else ""
            self._add(Block("code", code, line if fenced else line - 1, self._depth(), lang=lang))
        elif kind == "table_open":
            return self._table(tokens, index, line)
        elif kind == "hr":
            self._add(Block("rule", "", line, self._depth()))
        elif kind in {"blockquote_open", "blockquote_close"}:
            self.quotes += 1 if kind == "blockquote_open" else -1
            return index + 1  # an item that opens with a quote: its first block is in it
        # html_block, front_matter, the opening and closing of lists: no block of their own
        self.item_start = None
        return index + 1

    def _depth(self) -> int:
        return len(self.items)

    def _add(self, block: Block) -> None:
        block.quoted = self.quotes > 0
        self.current.blocks.append(block)

    def _heading(self, level: int, title: Inline, line: int) -> None:
        self.item_start = None
        while self.current.level >= level and self.current.parent is not None:
            self.current = self.current.parent
        slug = slugify(title.text)
        if slug in self.used:
            self.used[slug] += 1
            slug = f"{slug}-{self.used[slug]}"
        else:
            self.used[slug] = 0
        section = Section(title.text, level, slug, line, parent=self.current)
        self.current.children.append(section)
        self.current = section

    def _paragraph(self, children: Sequence[Token], line: int) -> None:
        words = _inline(children)
        marker, self.item_start = self.item_start, None
        if not words.text and not words.code:
            return  # only HTML (an anchor, a <br/>)
        if marker is not None:
            block = Block("item", words.text, line, self._depth() - 1, marker)
        else:
            block = Block("paragraph", words.text, line, self._depth())
        block.code_spans = words.code
        labelled = _label(children)
        if labelled is not None:
            label, rest, colon = labelled
            # a paragraph's bold words with no colon and more text only start a sentence
            if colon or block.kind == "item" or not rest.text:
                block.label, block.rest = label, rest
        self._add(block)

    def _table(self, tokens: Sequence[Token], index: int, line: int) -> int:
        rows: list[list[Inline]] = []
        while tokens[index].type != "table_close":
            token = tokens[index]
            if token.type == "tr_open":
                rows.append([])
            elif token.type == "inline" and rows:
                rows[-1].append(_inline(token.children or []))
            index += 1
        self._add(Block("table", "", line, self._depth(), rows=rows))
        self.item_start = None
        return index + 1


def parse(text: str) -> Section:
    """The guide as a tree of sections under a level-0 root."""
    return _Reader().read(_markdown().parse(text))
