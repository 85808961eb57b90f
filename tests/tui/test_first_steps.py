"""What a new operator meets first: the keys panel, whole texts, parents' status, the palette's
names, an empty context picker, each screen's footer, and the log pane's keys remapped.

The app replays the recorded incident (tests/tui/recorded.py): what is asserted is the screens'
behaviour, not the backends'.
"""

from __future__ import annotations

import pytest
from textual.command import CommandPalette
from textual.containers import VerticalScroll
from textual.widgets import OptionList

from providers.contract import Health, Node, Status
from providers.inventory import Environment, Inventory, Settings, Target
from tests.tui.conftest import wait_for_group, wait_until
from tui.app import TriageApp
from tui.screens.check_detail import CheckDetail
from tui.screens.environments import EnvironmentPicker
from tui.screens.keys import KeysScreen
from tui.screens.main_screen import MainScreen
from tui.screens.problems import ProblemsScreen
from tui.screens.walkthrough import Walkthrough
from tui.widgets.check_results import CheckResults
from tui.widgets.key_footer import KeyFooter
from tui.widgets.log_tail import LogTail
from tui.widgets.log_view import LogView
from tui.widgets.service_tree import NodeDetail, ServiceTree, node_detail, node_label

pytestmark = pytest.mark.usefixtures("recorded_kind")

TARGETS = ("cache", "orders-db", "broker", "api")


def incident_app(*names: str, keys: dict[str, str] | None = None) -> TriageApp:
    targets = [Target(kind="recorded", name=name) for name in names or TARGETS]
    return TriageApp(
        Inventory(
            settings=Settings(keys=keys or {}),
            environments={"prod": Environment(targets=targets)},
            source="triage.yaml",
        )
    )


async def settled(pilot) -> MainScreen:  # type: ignore[no-untyped-def]
    app = pilot.app
    await wait_until(pilot, lambda: isinstance(app.screen, MainScreen) and app.screen.selected)
    await wait_for_group(app, "checks")
    await wait_until(pilot, lambda: app.query_one(LogTail).view.line_count == 4)
    await pilot.pause()
    return app.screen  # type: ignore[no-any-return]


def footer_of(app: TriageApp) -> str:
    return app.screen.query_one(KeyFooter).shown.plain


async def test_the_keys_panel_lists_the_screens_own_keys_first_and_scrolls() -> None:
    app = incident_app("cache")
    async with app.run_test(size=(80, 24)) as pilot:
        main = await settled(pilot)
        assert app.focused is main.query_one(ServiceTree)
        await pilot.press("question_mark")
        panel = app.screen
        assert isinstance(panel, KeysScreen)
        headings = [heading for heading, _ in panel.sections]
        assert headings == [
            "Main screen",
            "Everywhere",
            "In the log pane (Tab to it)",
            "Moving in the tree",  # the tree's generic keys come last
        ]
        assert panel.sections[0][1][0] == ("r", "Re-run checks")
        assert ("?", "Show keys") in panel.sections[1][1]
        assert ("\\ ^f", "Filter the log") in panel.sections[2][1]
        assert ("⏎", "Select") in panel.sections[3][1]
        # Its own footer, and it scrolls from the keyboard.
        assert footer_of(app).split() == ["esc", "Close", "↓", "Scroll"]
        scroll = panel.query_one("#keys-list", VerticalScroll)
        assert scroll.max_scroll_y > 0
        await pilot.press("pagedown")
        await pilot.pause()
        assert scroll.scroll_y > 0
        await pilot.press("up")
        await pilot.pause()
        lower = scroll.scroll_y
        await pilot.press("down")
        await pilot.pause()
        assert scroll.scroll_y == lower + 1
        await pilot.press("question_mark")
        assert app.screen is main


async def test_enter_on_a_check_shows_its_whole_text_and_the_tree_line_its_whole_label() -> None:
    app = incident_app("cache")
    async with app.run_test(size=(80, 24)) as pilot:
        main = await settled(pilot)
        tree = main.query_one(ServiceTree)
        cache = tree.node_by_id("recorded:cache")
        assert cache is not None and len(cache.status.reason) > 40  # cut in a 28-column pane
        shown = main.query_one(NodeDetail).shown
        assert shown is not None and cache.status.reason in shown.plain
        assert cache.name in shown.plain and cache.kind in shown.plain

        checks = main.query_one(CheckResults)
        await pilot.press("tab", "tab")
        assert app.focused is checks.table
        await pilot.press("down", "enter")  # redis.memory, its summary cut at the table's edge
        detail = app.screen
        assert isinstance(detail, CheckDetail)
        memory = checks.results["redis.memory"]
        assert detail.result is memory
        text = detail.text().plain
        assert memory.summary in text
        assert all(line in text for line in memory.evidence)
        assert "oom_errors: " in text  # and the facts runbooks match on
        assert footer_of(app).split() == ["esc", "Close", "↓", "Scroll"]
        await pilot.press("enter")
        assert app.screen is main


def status_node(node_id: str, health: Health, *children: Node) -> Node:
    return Node(node_id, "test.node", node_id, Status(health, f"{node_id} says so"), children)


def test_a_parent_is_never_shown_ok_over_an_unhealthy_child() -> None:
    queue = status_node("inbound", Health.DEGRADED)
    broker = status_node("broker", Health.OK, queue, status_node("retry", Health.OK))
    assert node_label(broker).plain.startswith("▲ degraded broker [1 unhealthy]")
    detail = node_detail(broker).plain
    assert detail == "broker · test.node · ● ok itself: broker says so · 1 degraded below"
    # Worse below wins; worse itself stays; a healthy subtree is left as it is.
    crashed = status_node("crashed", Health.FAILING)
    group = status_node("group", Health.DEGRADED, queue, crashed)
    assert node_label(group).plain.startswith("✖ failing group [2 unhealthy]")
    failing = status_node("db", Health.FAILING, queue)
    assert node_label(failing).plain.startswith("✖ failing db [1 unhealthy]")
    quiet = status_node("quiet", Health.UNKNOWN, status_node("fine", Health.OK))
    assert node_label(quiet).plain.startswith("? unknown quiet  ")


async def test_the_tree_shows_the_broker_degraded_over_its_backlogged_queue() -> None:
    app = incident_app()
    async with app.run_test(size=(120, 40)) as pilot:
        main = await settled(pilot)
        tree = main.query_one(ServiceTree)
        await wait_until(pilot, lambda: tree.node_by_id("recorded:broker") is not None)
        broker = tree.node_by_id("recorded:broker")
        assert broker is not None and broker.status.health is Health.OK  # its own
        line = next(n for n in tree.root.children if n.data is broker)
        assert str(line.label).startswith("▲ degraded broker")
        # The line under the tree says a node whole only when the pane cuts its line.
        detail = main.query_one(NodeDetail)
        tree.point_at("recorded:cache/db0")  # `db0  102 keys, 0 with a TTL`: it fits
        await pilot.pause()
        assert not detail.display and detail.shown is None
        tree.point_at("recorded:broker")
        await pilot.pause()
        assert detail.display and detail.shown is not None
        assert detail.shown.plain.endswith("· 1 degraded below")


async def test_the_palette_names_commands_in_words_with_their_keys_as_shown() -> None:
    app = incident_app("cache", keys={"app.problems": "ctrl+o"})
    async with app.run_test(size=(100, 30)) as pilot:
        await settled(pilot)
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette))
        palette = app.screen
        await pilot.press(*"keys")
        options = palette.query_one(OptionList)

        def prompts() -> list[str]:
            return [
                str(options.get_option_at_index(i).prompt).split("\n")[0]
                for i in range(options.option_count)
            ]

        await wait_until(pilot, lambda: "Show keys (?)" in prompts(), state=prompts)
        assert not any("question_mark" in prompt for prompt in prompts())
        assert "Keys" not in prompts()  # Textual's own help panel is not offered beside it
        await pilot.press(*("backspace",) * 4, *"problems")
        await wait_until(pilot, lambda: "List the problems (^o)" in prompts(), state=prompts)


async def test_c_without_kube_or_aws_targets_says_what_it_looked_for() -> None:
    app = incident_app("cache")
    async with app.run_test(size=(100, 30)) as pilot:
        await settled(pilot)
        await pilot.press("C")
        picker = app.screen
        assert isinstance(picker, EnvironmentPicker)
        options = picker.query_one(OptionList)
        said = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert "  none: prod has no Kubernetes target to switch" in said
        assert "  none: prod has no ECS/AWS target to switch" in said
        assert "  contexts come from $KUBECONFIG, else ~/.kube/config" in said
        assert "  profiles come from ~/.aws/config and ~/.aws/credentials" in said
        assert "  none: prod has no compose target without a url to switch" in said
        assert "  contexts come from $DOCKER_CONFIG, else ~/.docker" in said
        assert footer_of(app).split() == ["esc", "Cancel"]


async def test_each_screen_has_its_own_footer() -> None:
    app = incident_app("cache")
    async with app.run_test(size=(120, 40)) as pilot:
        main = await settled(pilot)
        assert "Re-run checks" in footer_of(app) and "Walkthrough" in footer_of(app)
        await wait_until(pilot, lambda: app.library is not None)
        await pilot.press("p")
        assert isinstance(app.screen, ProblemsScreen)
        assert footer_of(app).split() == ["esc", "Close"]
        await pilot.press("escape")
        await pilot.press("w")
        walkthrough = app.screen
        assert isinstance(walkthrough, Walkthrough)
        await wait_until(pilot, lambda: walkthrough.report is not None)
        footer = footer_of(app)
        assert "Back" in footer and "Export transcript" in footer
        # The walkthrough and the problems open from the main screen, not over themselves.
        assert "Walkthrough" not in footer and "Problems" not in footer
        await pilot.press("w")
        assert app.screen is walkthrough
        await pilot.press("question_mark")  # the keys panel says the same
        panel = app.screen
        assert isinstance(panel, KeysScreen)
        assert panel.sections[0][0] == "Walkthrough" and "Export transcript" in panel.text()
        assert "Open the walkthrough" not in panel.text() and "Show keys" in panel.text()
        await pilot.press("escape")
        assert app.screen is walkthrough
        await pilot.press("escape")
        assert app.screen is main
        # The log pane full screen (Textual's maximize) says how to come back, and its keys.
        main.query_one(LogView).focus()
        await pilot.pause()
        main.action_maximize()
        await pilot.pause()
        assert main.maximized is not None
        assert footer_of(app).startswith(" esc Restore the panes") and "Search" in footer_of(app)
        await pilot.press("escape")
        await pilot.pause()
        assert main.maximized is None and "Restore" not in footer_of(app)


async def test_the_log_panes_keys_are_remapped_from_the_settings() -> None:
    app = incident_app("cache", keys={"log.filter": "ctrl+l", "log.invert": "i", "log.follow": "F"})
    async with app.run_test(size=(100, 30)) as pilot:
        main = await settled(pilot)
        assert set(app.keymap) == {"log.filter", "log.invert", "log.follow"}  # none unknown
        tail = main.query_one(LogTail)
        tail.view.focus()
        await pilot.pause()
        await pilot.press("backslash")
        assert not tail.prompting  # the old key does nothing now
        await pilot.press("ctrl+l")
        assert tail.prompting and tail.prompt_mode == "filter"
        await pilot.press(*"slow", "enter")
        assert not tail.prompting and tail.filter_text == "slow"
        await pilot.press("i")
        assert tail.inverse
        assert "i invert" in tail.idle_hint and "v invert" not in tail.idle_hint
        tail.view.pause()
        await pilot.press("F")
        assert tail.view.following
        assert "^l Filter" in footer_of(app)
