"""The service tree: every target of the environment and its children, with live status."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from rich.text import Text
from textual.message import Message
from textual.widgets import Static, Tree
from textual.widgets.tree import TreeNode

from providers.contract import Health, Node
from providers.text import sanitize
from tui.widgets.glyphs import health_badge

EXPAND_UP_TO = 20  # children a new node may have and still open by itself


UNHEALTHY = (Health.FAILING, Health.DEGRADED)  # worst first


def unhealthy_below(node: Node) -> dict[Health, int]:
    """How many descendants fail, and how many are degraded (what a group counts)."""
    counts = {health: 0 for health in UNHEALTHY}
    for child in node.walk()[1:]:
        if child.status.health in counts:
            counts[child.status.health] += 1
    return {health: count for health, count in counts.items() if count}


def shown_health(node: Node, below: dict[Health, int]) -> Health:
    """The node's health, or its worst unhealthy descendant's when that is worse: a parent
    never reads `ok` over a failing or degraded child."""
    own = node.status.health
    worst = next((health for health in UNHEALTHY if health in below), None)
    if worst is None or own in UNHEALTHY[: UNHEALTHY.index(worst) + 1]:
        return own
    return worst


def node_label(node: Node) -> Text:
    below = unhealthy_below(node) if node.children else {}
    label = Text.assemble(health_badge(shown_health(node, below)), sanitize(node.name))
    if count := sum(below.values()):
        label.append(f" [{count} unhealthy]", style="bold")
    if node.status.reason:
        label.append(f"  {sanitize(node.status.reason)}", style="dim")
    return label


def node_detail(node: Node) -> Text:
    """All a tree line holds, unclipped, for the line under the tree: name and kind, the
    node's own status and reason, and what is unhealthy below it."""
    below = unhealthy_below(node) if node.children else {}
    detail = Text.assemble((sanitize(node.name), "bold"), f" · {node.kind} · ")
    badge = health_badge(node.status.health)
    badge.rstrip()
    detail.append_text(badge)
    if below and shown_health(node, below) is not node.status.health:
        detail.append(" itself")
    if node.status.reason:
        detail.append(f": {sanitize(node.status.reason)}")
    if below:
        counted = ", ".join(f"{count} {health.value}" for health, count in below.items())
        detail.append(f" · {counted} below", style="bold")
    return detail


def matching(node: Node, text: str) -> Node | None:
    """The node pruned to what matches `text` (a match keeps its whole subtree)."""
    if text.lower() in node.name.lower() or text.lower() in node.kind.lower():
        return node
    children = tuple(kept for child in node.children if (kept := matching(child, text)))
    return replace(node, children=children) if children else None


class ServiceTree(Tree[Node]):
    """Targets and their children; Enter selects a node to check and tail."""

    @dataclass
    class NodeSelected(Message):
        """The operator chose a node to look at."""

        node: Node

    class Reflowed(Message):
        """The tree's size changed (a scrollbar came or went): which lines it cuts may too."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("environment", id=id)
        self.show_root = False
        self.auto_expand = False  # Enter selects; Space expands or collapses
        self.guide_depth = 2
        self._by_node_id: dict[str, TreeNode[Node]] = {}
        self._labels: dict[str, Text] = {}  # as given: the tree's own copy is processed
        self._order: dict[str, int] = {}
        self._latest: list[Node] = []
        self.filter_text = ""

    def show_nodes(self, nodes: list[Node]) -> None:
        """Show a fresh discovery, keeping what is expanded and where the cursor is.

        Labels are only set when they changed, so a refresh with nothing new redraws nothing.
        """
        self._latest = nodes
        if self.filter_text:
            nodes = [kept for node in nodes if (kept := matching(node, self.filter_text))]
        seen: set[str] = set()
        self._place_all(self.root, nodes, seen)
        gone = [node_id for node_id in self._by_node_id if node_id not in seen]
        for node_id in gone:
            tree_node = self._by_node_id.pop(node_id)
            self._labels.pop(node_id, None)
            parent = tree_node.parent
            # A child goes with its parent: removing it again would fail.
            if parent is None or tree_node in parent.children:
                tree_node.remove()

    def _place_all(self, parent: TreeNode[Node], nodes: Sequence[Node], seen: set[str]) -> None:
        """Place siblings in their order: a node that arrives late goes before the first of its
        later siblings already shown (targets answer in any order; the tree keeps the
        inventory's)."""
        for index, node in enumerate(nodes):
            later = (self._by_node_id.get(sibling.id) for sibling in nodes[index + 1 :])
            before = next((found for found in later if found is not None), None)
            self._place(parent, node, seen, before)

    def _place(
        self,
        parent: TreeNode[Node],
        node: Node,
        seen: set[str],
        before: TreeNode[Node] | None = None,
    ) -> None:
        seen.add(node.id)
        existing = self._by_node_id.get(node.id)
        if existing is not None and existing.data is node:  # shown as it is (another target's
            seen.update(child.id for child in node.walk())  # answer, or the sweep's end)
            return
        label = node_label(node)
        if existing is None:
            existing = parent.add(
                label,
                data=node,
                before=before,
                # A small group opens; a large one (50 namespaces, 100 services) stays closed
                # with its count of unhealthy members, until the operator opens it.
                expand=len(node.children) <= EXPAND_UP_TO,
                allow_expand=bool(node.children),
            )
            self._by_node_id[node.id] = existing
            self._labels[node.id] = label
        else:
            existing.data = node
            if self._labels.get(node.id) != label:
                self._labels[node.id] = label
                existing.set_label(label)
            if existing.allow_expand != bool(node.children):
                existing.allow_expand = bool(node.children)
        self._place_all(existing, node.children, seen)

    def expect(self, root_ids: Sequence[str]) -> None:
        """The targets' order (the inventory's), before any of them has answered."""
        self._order = {root_id: index for index, root_id in enumerate(root_ids)}

    def show_target(self, tree: Node) -> None:
        """One target's fresh tree, the others as they were."""
        latest = [node for node in self._latest if node.id != tree.id] + [tree]
        latest.sort(key=lambda node: self._order.get(node.id, len(self._order)))
        self.show_nodes(latest)

    def forget(self) -> None:
        """Drop every node (another environment is coming)."""
        self._latest = []
        self.clear()
        self._by_node_id = {}
        self._labels = {}

    def set_filter(self, text: str) -> None:
        """Show only services whose name or kind contains `text` (and their parents)."""
        if text.strip() == self.filter_text:
            return
        self.filter_text = text.strip()
        self.clear()
        self._by_node_id = {}
        self._labels = {}
        self.show_nodes(self._latest)

    def all_nodes(self) -> list[Node]:
        return [node for tree in self._latest for node in tree.walk()]

    def trees(self) -> list[Node]:
        """Each target's newest tree, unfiltered."""
        return list(self._latest)

    def point_at(self, node_id: str) -> None:
        """Put the cursor on a node (when it was chosen some other way than by the cursor)."""
        tree_node = self._by_node_id.get(node_id)
        if tree_node is None or self.cursor_node is tree_node:
            return
        parent = tree_node.parent
        while parent is not None:  # a node in a closed group is shown first
            if not parent.is_expanded:
                parent.expand()
            parent = parent.parent
        # A node's line number is given when the tree's lines are laid out: a node added or
        # moved since the last layout would put the cursor on a stale line. `last_line` lays
        # them out now.
        if self.last_line >= 0:
            self.move_cursor(tree_node)

    def watch_show_vertical_scrollbar(self, shown: bool) -> None:
        """A scroll made while the bar was hidden (the cursor sent down before the tree outgrew
        its pane) never reaches it (Textual moves a bar only while it shows): its thumb would
        show the top. The bar gets the scroll as it appears."""
        if shown:
            self.vertical_scrollbar.position = self.scroll_y

    def watch_show_horizontal_scrollbar(self, shown: bool) -> None:
        if shown:
            self.horizontal_scrollbar.position = self.scroll_x

    def on_resize(self) -> None:
        self.post_message(self.Reflowed())

    def cut_off(self, tree_node: TreeNode[Node]) -> bool:
        """Whether the node's line is wider than the pane (the pane cuts what does not fit)."""
        depth = 0
        parent = tree_node.parent
        while parent is not None and parent is not self.root:
            depth, parent = depth + 1, parent.parent
        width = self.get_label_width(tree_node) + depth * self.guide_depth
        return width > self.scrollable_content_region.width

    def node_by_id(self, node_id: str) -> Node | None:
        tree_node = self._by_node_id.get(node_id)
        return tree_node.data if tree_node else None

    def failing_count(self) -> int:
        return sum(
            1
            for tree_node in self._by_node_id.values()
            if tree_node.data is not None and tree_node.data.status.health is Health.FAILING
        )

    def on_tree_node_selected(self, event: Tree.NodeSelected[Node]) -> None:
        event.stop()
        if event.node.data is not None:
            self.post_message(self.NodeSelected(event.node.data))


class NodeDetail(Static):
    """The node under the tree's cursor, whole, when the pane cuts its line (else hidden).

    The same text draws nothing, and a text as tall as the last one lays nothing out again:
    the cursor moving in a large tree redraws this line, not the screen."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.shown: Text | None = None
        self.display = False

    def show(self, node: Node | None) -> None:
        text = node_detail(node) if node is not None else None
        if text == self.shown:
            return
        same_height = (
            text is not None
            and self.shown is not None
            and (self._height(text) == self._height(self.shown))
        )
        self.shown = text
        self.update(text or "", layout=not same_height)
        if self.display is (text is None):
            self.display = text is not None

    def _height(self, text: Text) -> int:
        return len(text.wrap(self.app.console, max(1, self.content_size.width)))
