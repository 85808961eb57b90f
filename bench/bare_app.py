"""The anchor app: a bare Textual app, a header, a tree and a footer, nothing live.

Run: `python -m bench.bare_app --nodes 2400`. What it costs is what Textual itself costs in
the same pty harness.
"""

from __future__ import annotations

import argparse

from textual.app import App, ComposeResult
from textual.widgets import Footer, Header, Tree


class BareApp(App[None]):
    BINDINGS = [("q", "quit", "Quit")]

    def __init__(self, nodes: int) -> None:
        super().__init__()
        self.nodes = nodes

    def compose(self) -> ComposeResult:
        yield Header()
        tree: Tree[None] = Tree("bare")
        groups = max(1, self.nodes // 40)
        for group in range(groups if self.nodes else 0):
            branch = tree.root.add(f"group-{group}", expand=True)
            for leaf in range(self.nodes // groups - 1):
                branch.add_leaf(f"leaf-{group}-{leaf}")
        tree.root.expand()
        yield tree
        yield Footer()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=0)
    BareApp(parser.parse_args().nodes).run()
