"""The service tree on its own: order, removal, what opens by itself."""

from __future__ import annotations

import pytest
from rich.text import Text
from textual.app import App, ComposeResult

from providers.contract import Health, Node, Status
from tui.widgets import service_tree
from tui.widgets.service_tree import EXPAND_UP_TO, ServiceTree, node_label

OK = Status(Health.OK, "")


def node(node_id: str, *children: Node) -> Node:
    return Node(id=node_id, kind="x", name=node_id.rsplit("/", 1)[-1], status=OK, children=children)


class TreeApp(App[None]):
    def compose(self) -> ComposeResult:
        yield ServiceTree(id="tree")


def labels(tree: ServiceTree) -> list[str]:
    return [str(child.label) for child in tree.root.children]


async def test_a_parent_and_its_child_can_go_in_one_refresh() -> None:
    async with TreeApp().run_test() as pilot:
        tree = pilot.app.query_one(ServiceTree)
        tree.show_nodes([node("r", node("r/a", node("r/a/b")))])
        await pilot.pause()
        tree.show_nodes([node("r")])  # r/a and r/a/b are gone together
        await pilot.pause()
        assert [n.id for n in tree.all_nodes()] == ["r"]
        assert tree.node_by_id("r/a") is None and tree.node_by_id("r/a/b") is None
        assert len(tree.root.children[0].children) == 0


async def test_targets_keep_the_inventory_order_whatever_answers_first() -> None:
    async with TreeApp().run_test() as pilot:
        tree = pilot.app.query_one(ServiceTree)
        tree.expect(["first", "second", "third"])
        tree.show_target(node("third"))
        tree.show_target(node("first"))
        tree.show_target(node("second"))
        await pilot.pause()
        assert [n.id for n in tree.all_nodes()] == ["first", "second", "third"]
        assert [label.split()[-1] for label in labels(tree)] == ["first", "second", "third"]


async def test_a_large_group_starts_closed_a_small_one_open() -> None:
    many = node("big", *(node(f"big/{n}") for n in range(EXPAND_UP_TO + 1)))
    few = node("small", *(node(f"small/{n}") for n in range(3)))
    async with TreeApp().run_test() as pilot:
        tree = pilot.app.query_one(ServiceTree)
        tree.show_nodes([many, few])
        await pilot.pause()
        big, small = tree.root.children
        assert not big.is_expanded and big.allow_expand
        assert small.is_expanded


async def test_a_target_answering_relabels_its_own_nodes_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each target's answer shows every target again; the others are the very nodes already
    shown, so their labels are not built again (a refresh answers six times)."""
    labelled: list[str] = []

    def counting_label(shown: Node) -> Text:
        labelled.append(shown.id)
        return node_label(shown)

    monkeypatch.setattr(service_tree, "node_label", counting_label)
    first, second = node("first", node("first/a")), node("second", node("second/b"))
    async with TreeApp().run_test() as pilot:
        tree = pilot.app.query_one(ServiceTree)
        tree.expect(["first", "second"])
        tree.show_target(first)
        tree.show_target(second)
        labelled.clear()
        again = node("second", node("second/b"), node("second/c"))
        tree.show_target(again)  # the second target answers again, with one more child
        tree.show_nodes([first, again])  # the sweep's end: nothing new
        await pilot.pause()
        assert labelled == ["second", "second/b", "second/c"]
        assert [n.id for n in tree.all_nodes()] == [
            "first",
            "first/a",
            "second",
            "second/b",
            "second/c",
        ]
        tree.show_target(node("second"))  # its children went away: they leave the tree
        await pilot.pause()
        assert tree.node_by_id("second/b") is None and tree.node_by_id("first/a") is not None


async def test_a_scrollbar_that_appears_after_a_scroll_shows_where_the_tree_is() -> None:
    """Textual moves a bar only while it shows: a tree scrolled (its cursor sent down) before
    its bar appeared must still give the bar that scroll, or its thumb shows the top."""
    async with TreeApp().run_test(size=(40, 8)) as pilot:
        tree = pilot.app.query_one(ServiceTree)
        tree.show_nodes([node(f"t{n}") for n in range(20)])
        await pilot.pause()
        assert tree.show_vertical_scrollbar and tree.max_scroll_y > 3
        tree.show_vertical_scrollbar = False
        tree.scroll_y = 3
        assert tree.vertical_scrollbar.position == 0  # never told
        tree.show_vertical_scrollbar = True
        assert tree.vertical_scrollbar.position == 3
