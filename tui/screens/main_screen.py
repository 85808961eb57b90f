"""The main screen: service tree, log tail and check results of one environment.

Background work follows one rule: provider calls run in workers; workers never touch widgets,
they post messages; this screen's handlers own the state and update the widgets.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header

from providers.contract import CheckResult, LogLine, Node
from providers.environment import LiveEnvironment, PlannedCheck
from tui.streams import batched
from tui.widgets.check_results import CheckResults
from tui.widgets.log_tail import LogTail
from tui.widgets.service_tree import ServiceTree


class MainScreen(Screen[None]):
    BINDINGS = [
        Binding("r", "rerun_checks", "Re-run checks", id="main.rerun_checks"),
        Binding("u", "refresh_status", "Refresh status", id="main.refresh_status"),
        Binding("f", "toggle_follow", "Follow/pause log", id="main.toggle_follow"),
        Binding("tab", "app.focus_next", "Next pane", show=False, id="main.focus_next"),
    ]

    @dataclass
    class Discovered(Message):
        """A discovery pass finished."""

        nodes: list[Node]

    @dataclass
    class CheckFinished(Message):
        """One check of the selected node finished."""

        node_id: str
        result: CheckResult

    @dataclass
    class LogBatch(Message):
        """New lines of the selected node's log stream."""

        node_id: str
        lines: list[LogLine]

    def __init__(self, live: LiveEnvironment) -> None:
        super().__init__()
        self.live = live
        self.selected: Node | None = None

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="")
        with Horizontal(id="panes"):
            yield ServiceTree(id="service-tree")
            with Vertical(id="right"):
                yield LogTail(max_lines=self.live.settings.log_buffer_lines, id="log-tail")
                yield CheckResults(id="check-results")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(ServiceTree).border_title = "Services"
        self.title = "triage"
        self._set_subtitle()
        self.discover()
        self.set_interval(self.live.settings.refresh_interval, self.discover)
        self.query_one(ServiceTree).focus()

    def _set_subtitle(self) -> None:
        mode = " · read-only" if self.live.read_only else ""
        self.sub_title = f"{self.live.name} ({self.live.inventory.source}){mode}"

    # Workers: they talk to providers and post messages; they never touch a widget.

    @work(exclusive=True, group="discover", exit_on_error=False)
    async def discover(self) -> None:
        self.post_message(self.Discovered(await self.live.discover()))

    @work(exclusive=True, group="checks", exit_on_error=False)
    async def run_checks(self, node: Node) -> None:
        planned = [PlannedCheck(node.id, call) for call in node.checks]
        for finished in asyncio.as_completed([self.live.run_check(item) for item in planned]):
            self.post_message(self.CheckFinished(node.id, await finished))

    @work(exclusive=True, group="logs", exit_on_error=False)
    async def tail_logs(self, node: Node) -> None:
        provider = self.live.provider_for(node.id)
        async for lines in batched(provider.logs(node.id)):
            self.post_message(self.LogBatch(node.id, lines))

    # Handlers: they own the state.

    def on_main_screen_discovered(self, message: Discovered) -> None:
        tree = self.query_one(ServiceTree)
        tree.show_nodes(message.nodes)
        if self.selected is None and message.nodes:
            self.select(message.nodes[0])
        elif self.selected is not None:
            self.selected = tree.node_by_id(self.selected.id) or self.selected

    def on_service_tree_node_selected(self, message: ServiceTree.NodeSelected) -> None:
        self.select(message.node)

    def select(self, node: Node) -> None:
        self.selected = node
        self.query_one(ServiceTree).point_at(node.id)
        self.query_one(CheckResults).begin(node.name, node.checks)
        self.query_one(LogTail).start(node.name, available=node.has_logs)
        self.run_checks(node)
        if node.has_logs:
            self.tail_logs(node)
        else:
            self.workers.cancel_group(self, "logs")

    def on_main_screen_check_finished(self, message: CheckFinished) -> None:
        if self.selected is not None and message.node_id == self.selected.id:
            self.query_one(CheckResults).record(message.result)

    def on_main_screen_log_batch(self, message: LogBatch) -> None:
        if self.selected is not None and message.node_id == self.selected.id:
            self.query_one(LogTail).append(message.lines)

    # Actions.

    def action_rerun_checks(self) -> None:
        if self.selected is not None:
            self.query_one(CheckResults).begin(self.selected.name, self.selected.checks)
            self.run_checks(self.selected)

    def action_refresh_status(self) -> None:
        self.discover()

    def action_toggle_follow(self) -> None:
        following = self.query_one(LogTail).toggle_follow()
        self.notify("Following the log" if following else "Log paused", timeout=2)
