"""The main screen: service tree, log tail and check results of one environment.

Background work follows one rule: provider calls run in workers; workers never touch widgets,
they post messages; this screen's handlers own the state and update the widgets. Every refresh
interval one sweep discovers every target and runs every check; its failures become the
problems list, with the runbooks they point to (tui/screens/main_problems.py).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from textual import events, on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import Reactive
from textual.widget import Widget
from textual.widgets import Header, Input, Tree

from providers.contract import CheckResult, LogLine, Node
from providers.environment import LiveEnvironment, PlannedCheck
from runbooks.scene import Scene
from tui.commands import MAIN_COMMANDS, bindings
from tui.log_feed import LogSignatures, newest, parts
from tui.pacing import RefreshPacer, what_a_sweep_shows, worth_sweeping
from tui.problems import NewestResults, Problem
from tui.screens.main_problems import ScreenProblems
from tui.streams import batched
from tui.trends import TrendHistory
from tui.widgets.check_results import CheckResults
from tui.widgets.key_footer import KeyFooter
from tui.widgets.log_tail import LogTail
from tui.widgets.service_tree import NodeDetail, ServiceTree
from tui.widgets.trends import Trends

TICK_SECONDS = 2.0
# A diagnosis starts from the screen's last sweep when it is this recent, else sweeps again.
SCENE_FRESH_SECONDS = 60.0
SWEEP_CHECKS_AT_ONCE = 32


class MainScreen(ScreenProblems):
    BINDINGS = bindings(MAIN_COMMANDS)

    # Textual repaints the whole screen when the focus moves; what looks different with focus
    # is restyled widget by widget anyway. Over SSH, during a flood, opening the log prompt
    # then costs its own line, not 20 KB and a frame of every pane.
    focused: Reactive[Widget | None] = Reactive(None, repaint=False)

    @dataclass
    class Swept(Message):
        """A sweep finished: every target discovered and every check run."""

        nodes: list[Node]
        results: list[CheckResult]

    @dataclass
    class TargetChanged(Message):
        """A target's backend reported a change (an engine event, a watch event)."""

        root_id: str

    @dataclass
    class TargetDiscovered(Message):
        """One target was discovered again."""

        tree: Node

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
        dropped: int = 0  # lines the stream lost before these: the pane fell behind

    @dataclass
    class LogProblems(Message):
        """Lines of the selected node's log that match a runbook's signature."""

        node_id: str
        problems: list[Problem]

    def __init__(self, live: LiveEnvironment) -> None:
        super().__init__()
        self.live = live
        self.selected: Node | None = None
        self.check_problems: list[Problem] = []
        self.trends = TrendHistory()
        self.signatures = LogSignatures()
        # What the check problems come from: the newest results, the swept nodes' kinds (None
        # before the first sweep).
        self.latest = NewestResults()
        self._swept_kinds: dict[str, str] | None = None
        self.last_swept = time.monotonic()
        self.stale_seconds = 0
        self.log_problems: list[Problem] = []
        settings = live.settings
        self.pacer = RefreshPacer(
            settings.refresh_interval, settings.idle_backoff, now=self.last_swept
        )

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="")
        with Horizontal(id="panes"):
            with Vertical(id="left"):
                yield ServiceTree(id="service-tree")
                yield NodeDetail(id="tree-detail")
                yield Input(placeholder="filter services", id="tree-filter", classes="hidden")
            with Vertical(id="right"):
                yield LogTail(max_lines=self.live.settings.log_buffer_lines, id="log-tail")
                yield CheckResults(id="check-results")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(ServiceTree).border_title = "Services"
        self.query_one(ServiceTree).expect(self.live.root_ids)
        self.title = "triage"
        self._set_subtitle()
        self.set_interval(TICK_SECONDS, self._tick)
        self.query_one(ServiceTree).focus()
        # The first frame goes out before any worker thread competes with it for the GIL.
        self.call_after_refresh(self._start)

    def _start(self) -> None:
        self.sweep()
        self._watch_changes()

    def _tick(self) -> None:
        """A refresh when one is due, unless the last sweep is still running: cancelling it to
        start again would starve a slow environment of any result at all."""
        self._mark_stale()
        if not self.pacer.due(time.monotonic()):
            return
        if any(w.group == "sweep" and w.is_running for w in self.workers):
            return
        self.sweep()

    def on_key(self, event: events.Key) -> None:
        """An operator at the keyboard gets the configured pace back (the event goes on)."""
        if self.pacer.quiet_sweeps:
            self.pacer.activity()
            self._tick()
        box = self.query_one("#tree-filter", Input)
        if self.focused is box and event.key in ("escape", "down"):
            # Escape: the filter is cleared and closed; Down: kept, the tree gets the keys.
            event.stop()
            tree = self.query_one(ServiceTree)
            if event.key == "escape":
                under = tree.cursor_node.data if tree.cursor_node is not None else None
                box.value = ""
                box.add_class("hidden")
                tree.set_filter("")
                if under is not None:  # the whole tree again, the cursor where it was
                    tree.point_at(under.id)
            tree.focus()

    def _mark_stale(self) -> None:
        """Say how old the data is once it is older than two refreshes (a slow link, a hang)."""
        age = time.monotonic() - self.last_swept
        stale = int(age) if age > self.pacer.stale_after() else 0
        if stale != self.stale_seconds:
            self.stale_seconds = stale
            self._set_subtitle()

    def _set_subtitle(self) -> None:
        # What matters most first: a narrow terminal cuts the end of the line.
        parts = [self.live.name]
        if self.problems:
            count = len(self.problems)
            parts.append(f"{count} problem{'s' if count != 1 else ''} (p)")
        library = getattr(self.app, "library", None)
        if library is not None and library.errors:
            parts.append(f"{len(library.errors)} runbooks broken (triage runbooks validate)")
        if self.stale_seconds:
            parts.append(f"STALE: last refresh {self.stale_seconds}s ago")
        if self.live.context_line():  # kube context, AWS profile/region: names only
            parts.append(self.live.context_line())
        if self.live.read_only:
            parts.append("read-only")
        parts.append(str(self.live.inventory.source))
        self.sub_title = " · ".join(parts)

    # Workers: they talk to providers and post messages; they never touch a widget.

    @work(exclusive=True, group="sweep", exit_on_error=False)
    async def sweep(self) -> None:
        """Discover and check; each target's tree is shown as soon as it answers."""
        self.pacer.started(time.monotonic())
        nodes, results = await self.live.check_everything(
            lambda tree: self.post_message(self.TargetDiscovered(tree)),
            worth_checking=worth_sweeping,
            at_once=SWEEP_CHECKS_AT_ONCE,
        )
        self.post_message(self.Swept(nodes, results))

    @work(group="watch", exit_on_error=False)
    async def _watch_changes(self) -> None:
        """Follow the change feed of every target that has one (engine events, pod watches)."""
        await self.live.prepare()  # the providers are made there, off the event loop
        for provider in self.live.providers:
            if provider.root_logs_are_changes:
                self.watch_target(provider.root_id)

    @work(group="watch", exit_on_error=False)
    async def watch_target(self, root_id: str) -> None:
        """Follow a target's change feed; each batch of changes asks for its tree again."""
        provider = self.live.provider_for(root_id)
        await self.live.prepare()  # SDKs imported by one thread, never two at once
        async for _ in batched(provider.logs(root_id), interval=0.5):
            self.post_message(self.TargetChanged(root_id))

    @work(group="rediscover", exit_on_error=False)
    async def rediscover(self, root_id: str) -> None:
        self.post_message(self.TargetDiscovered(await self.live.discover_target(root_id)))

    @work(exclusive=True, group="checks", exit_on_error=False)
    async def run_checks(self, node: Node) -> None:
        planned = [PlannedCheck(node.id, call) for call in node.checks]
        for finished in asyncio.as_completed([self.live.run_check(item) for item in planned]):
            self.post_message(self.CheckFinished(node.id, await finished))

    @work(exclusive=True, group="logs", exit_on_error=False)
    async def tail_logs(self, node: Node) -> None:
        """Follow the node's log in batches, taking the next only once the last was handled:
        a pane that falls behind gets bigger batches (and, past the provider's bound, an exact
        count of the lines dropped), never a queue of messages that grows without end."""
        provider = self.live.provider_for(node.id)
        await self.live.prepare()
        tail = self.query_one(LogTail)
        async for batch in provider.log_batches(node.id):
            await asyncio.sleep(tail.key_first())  # a key's frame first; lines wait (bounded)
            # Signatures are looked for while the pane shows the batch, in parts: a key
            # waits for one part (milliseconds), not for the whole batch.
            library = getattr(self.app, "library", None)
            scanning = asyncio.ensure_future(self.signatures.find(library, node.id, batch.lines))
            lines, dropped = await asyncio.to_thread(newest, batch.lines, tail.max_lines)
            for part, part_dropped in parts(lines, batch.dropped + dropped):
                self.post_message(self.LogBatch(node.id, part, part_dropped))
                handled = asyncio.Event()
                if self.call_later(handled.set):  # runs after the part's handler
                    await handled.wait()
            found = await scanning
            if library is None and (library := getattr(self.app, "library", None)) is not None:
                # The runbooks came in while the batch was shown: the rescan of the shown
                # lines may have run before these were in the pane.
                found = await self.signatures.find(library, node.id, batch.lines)
            if found:
                self.post_message(self.LogProblems(node.id, found))

    # Handlers: they own the state.

    def on_main_screen_swept(self, message: Swept) -> None:
        self.last_swept = time.monotonic()
        self.stale_seconds = 0
        self.pacer.swept(what_a_sweep_shows(message.nodes, message.results))
        self.trends.add(message.results)
        tree = self.query_one(ServiceTree)
        for root in message.nodes:  # shown as each answered (or newer, from a change feed):
            if tree.node_by_id(root.id) is None:  # only a provider that failed to load is new
                tree.show_target(root)
        if self.selected is None and message.nodes:
            self.select(message.nodes[0])
        elif self.selected is not None:
            self.selected = tree.node_by_id(self.selected.id) or self.selected
            checks = self.query_one(CheckResults)
            swept = [result for result in message.results if result.node_id == self.selected.id]
            for result in swept:
                checks.record(result)
            if not swept and self.selected.checks:
                self.run_checks(self.selected)  # a node the sweep passed over stays live
            self.query_one(Trends).show(self.trends.of(self.selected.id))
        self._swept_kinds = {n.id: n.kind for tree in message.nodes for n in tree.walk()}
        self.latest.swept(message.results)
        self._find_check_problems()
        self._want_library()  # a target that failed to load never shows; the sweep still ends

    def on_main_screen_target_changed(self, message: TargetChanged) -> None:
        if not any(w.group == "rediscover" and w.is_running for w in self.workers):
            self.rediscover(message.root_id)

    def on_main_screen_target_discovered(self, message: TargetDiscovered) -> None:
        tree = self.query_one(ServiceTree)
        tree.show_target(message.tree)
        self._show_node_detail()
        self._set_subtitle()
        first = self.live.root_ids[0] if self.live.root_ids else None
        if self.selected is None and message.tree.id == first:
            self.select(message.tree)  # the inventory's first target, as soon as it answers
        if all(tree.node_by_id(root) is not None for root in self.live.root_ids):
            self._want_library()

    def on_service_tree_node_selected(self, message: ServiceTree.NodeSelected) -> None:
        self.select(message.node)

    def on_tree_node_highlighted(self, message: Tree.NodeHighlighted[Node]) -> None:
        self._show_node_detail()

    def on_service_tree_reflowed(self) -> None:
        self._show_node_detail()

    def _show_node_detail(self) -> None:
        """The node under the cursor, whole, under the tree when its line is cut."""
        tree = self.query_one(ServiceTree)
        cursor = tree.cursor_node
        cut = cursor is not None and cursor.data is not None and tree.cut_off(cursor)
        self.query_one(NodeDetail).show(cursor.data if cut and cursor is not None else None)

    def on_check_results_result_chosen(self, message: CheckResults.ResultChosen) -> None:
        from tui.screens.check_detail import CheckDetail

        node = self.selected.name if self.selected is not None else ""
        self.app.push_screen(CheckDetail(message.result, node))

    def select(self, node: Node) -> None:
        self.selected = node
        self.query_one(ServiceTree).point_at(node.id)
        self.query_one(CheckResults).begin(node.name, node.checks)
        self.query_one(Trends).show(self.trends.of(node.id))
        self.query_one(LogTail).start(node.name, available=node.has_logs)
        self.run_checks(node)
        if node.has_logs:
            self.tail_logs(node)
        else:
            self.workers.cancel_group(self, "logs")

    def on_main_screen_check_finished(self, message: CheckFinished) -> None:
        if self.latest.finished(message.result):
            self._find_check_problems()  # the problems say what the check table says
        if self.selected is not None and message.node_id == self.selected.id:
            self.query_one(CheckResults).record(message.result)
            self.trends.add([message.result])
            self.query_one(Trends).show(self.trends.of(self.selected.id))

    def on_main_screen_log_batch(self, message: LogBatch) -> None:
        if self.selected is None or message.node_id != self.selected.id:
            return
        self.query_one(LogTail).append(message.lines, dropped=message.dropped)

    # What the app and the palette ask of this screen.

    def watch_environment(self, live: LiveEnvironment) -> None:
        """Start watching another environment: forget everything seen in the old one."""
        for group in ("sweep", "checks", "logs", "watch", "rediscover"):
            self.workers.cancel_group(self, group)
        self.live = live
        self.selected = None
        self.pacer.activity()
        self.check_problems, self.log_problems, self._swept_kinds = [], [], None
        self.latest.clear()
        self.query_one(ServiceTree).forget()
        self.query_one(ServiceTree).expect(live.root_ids)
        self.query_one(LogTail).start("", available=False)
        self.query_one(CheckResults).begin("", ())
        self._set_subtitle()
        self.sweep()
        self._watch_changes()

    def all_nodes(self) -> list[Node]:
        return self.query_one(ServiceTree).all_nodes()

    def scene(self, fresh_for: float = SCENE_FRESH_SECONDS) -> Scene | None:
        """What the screen shows, for a diagnosis to start from: the trees and the newest check
        results, if a sweep ended within `fresh_for` seconds (else None: sweep again)."""
        if self._swept_kinds is None or time.monotonic() - self.last_swept > fresh_for:
            return None
        return Scene(self.query_one(ServiceTree).trees(), self.latest.results())

    @property
    def current(self) -> Node | None:
        """The node the operator is on: under the tree's cursor (what the detail line shows,
        Enter or not), else the one selected last."""
        cursor = self.query_one(ServiceTree).cursor_node
        return cursor.data if cursor is not None and cursor.data is not None else self.selected

    def select_by_id(self, node_id: str) -> None:
        node = self.query_one(ServiceTree).node_by_id(node_id)
        if node is not None:
            self.select(node)

    # Actions.

    def action_rerun_checks(self) -> None:
        if self.selected is not None:
            self.query_one(CheckResults).begin(self.selected.name, self.selected.checks)
            self.run_checks(self.selected)

    def action_refresh_status(self) -> None:
        self.sweep()

    def action_toggle_follow(self) -> None:
        following = self.query_one(LogTail).toggle_follow()
        self.notify("Following the log" if following else "Log paused", timeout=2)

    def action_filter_tree(self) -> None:
        box = self.query_one("#tree-filter", Input)
        box.remove_class("hidden")
        box.focus()

    @on(Input.Changed, "#tree-filter")
    def filter_changed(self, event: Input.Changed) -> None:
        self.query_one(ServiceTree).set_filter(event.value)

    @on(Input.Submitted, "#tree-filter")
    def filter_done(self, event: Input.Submitted) -> None:
        if not event.value:
            event.input.add_class("hidden")
        self.query_one(ServiceTree).focus()
