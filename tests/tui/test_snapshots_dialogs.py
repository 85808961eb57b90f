"""The problems list and the environment/context picker, pinned; behaviour asserted first.

The problems come from the recorded four-provider incident (recordings/incident.json). The
picker is shown over replays of the recorded Kubernetes and ECS targets (recordings/platforms.json)
with a kubeconfig of two contexts and an AWS config of two profiles written for the test; the
switch itself is tested against live APIs in test_context_switching.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import OptionList

from providers.inventory import Environment, Inventory, Target
from tests.tui.conftest import painted, wait_for_group, wait_until
from tests.tui.replayed import replayed_kinds  # noqa: F401 - a fixture
from tui.app import TriageApp
from tui.screens.environments import EnvironmentPicker
from tui.screens.problems import ProblemsScreen
from tui.widgets.check_results import CheckResults

SIZES = [(80, 24), (120, 40)]


def incident_app() -> TriageApp:
    names = ("cache", "orders-db", "broker", "api")
    targets = [Target(kind="recorded", name=name) for name in names]
    return TriageApp(
        Inventory(environments={"prod": Environment(targets=targets)}, source="triage.yaml")
    )


@pytest.mark.usefixtures("recorded_kind")
class TestProblems:
    @pytest.mark.parametrize("size", SIZES)
    def test_what_is_wrong_right_now(self, snap_compare, size) -> None:  # type: ignore[no-untyped-def]
        async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
            app = pilot.app
            await wait_until(pilot, lambda: app.library is not None and app.screen.selected)
            await wait_for_group(app, "sweep")
            await pilot.press("u")  # a sweep after the library loaded ranks runbooks too
            await wait_for_group(app, "sweep")
            await pilot.pause()
            main = app.screen
            ranked = [(p.target, p.origin) for p in main.problems]
            assert ranked[:4] == [  # severity first, then how well a runbook fits
                ("cache", "redis.memory"),
                ("broker", "rabbitmq.queues"),
                ("broker", "rabbitmq.queue"),
                ("api", "http.status"),
            ]
            best = {p.origin: p.suggestions[0].runbook.id for p in main.problems}
            assert best["redis.memory"] == "redis-out-of-memory"
            assert best["rabbitmq.queues"] == "mq-queue-backlog"
            assert f"{len(ranked)} problems (p)" in main.sub_title
            await pilot.press("p")
            assert isinstance(app.screen, ProblemsScreen)
            assert app.screen.query_one(OptionList).highlighted == 0
            await pilot.pause()

        assert snap_compare(incident_app(), terminal_size=size, run_before=run_before)


def two_contexts(path: Path) -> Path:
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: prod-eks\n"
        "clusters: [{name: prod, cluster: {server: 'https://prod.eks.internal'}}]\n"
        "users: [{name: ops, user: {token: never-shown}}]\n"
        "contexts:\n"
        "  - {name: prod-eks, context: {cluster: prod, user: ops}}\n"
        "  - {name: staging-eks, context: {cluster: prod, user: ops}}\n",
        encoding="utf-8",
    )
    return path


def two_profiles(config: Path) -> None:
    config.write_text(
        "[default]\nregion = us-east-1\n\n[profile ops]\nregion = eu-west-1\n", encoding="utf-8"
    )


def platforms_app(tmp_path: Path) -> TriageApp:
    recording = {"recording": "platforms"}
    kubeconfig = str(two_contexts(tmp_path / "kubeconfig"))
    targets = [
        Target(kind="kubernetes", name="eks", options={**recording, "kubeconfig": kubeconfig}),
        Target(kind="ecs", name="aws", options=recording),
    ]
    inventory = Inventory(
        environments={
            "prod": Environment(targets=targets, description="shop, eu + us"),
            "staging": Environment(targets=targets[:1], read_only=True),
        },
        source="triage.yaml",
    )
    return TriageApp(inventory)


@pytest.mark.usefixtures("replayed_kinds")
class TestEnvironmentPicker:
    @pytest.mark.parametrize("size", SIZES)
    def test_environments_kube_contexts_aws_profiles_and_regions(  # type: ignore[no-untyped-def]
        self, snap_compare, tmp_path, monkeypatch, size
    ) -> None:
        two_profiles(tmp_path / "aws-config")
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
        for name in ("AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "KUBECONFIG"):
            monkeypatch.delenv(name, raising=False)

        async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
            app = pilot.app
            await wait_until(pilot, lambda: app.screen.selected is not None)
            await wait_for_group(app, "sweep")
            await wait_until(pilot, lambda: "kube prod-eks" in app.screen.sub_title)
            await wait_until(pilot, lambda: app.screen.problems)  # the sweep's, handled
            # The selected node's checks all in, so the table behind the picker is laid out
            # for every summary (its column grows as they come).
            await wait_for_group(app, "checks")
            checks = app.query_one(CheckResults)
            await wait_until(
                pilot,
                lambda: (
                    checks.table.row_count > 0
                    and set(checks.results) == {str(key.value) for key in checks.table.rows}
                ),
            )
            problems = len(app.screen.problems)
            assert app.screen.sub_title.startswith(
                f"prod · {problems} problems (p) · kube prod-eks · aws default/us-east-1"
            )
            main = app.screen
            # What opens under the picker: the table's widths for its summaries worked out
            # (a DataTable does that when idle) and painted.
            await wait_until(
                pilot, lambda: not checks.table._require_update_dimensions and painted(main)
            )
            await pilot.press("C")
            picker = app.screen
            assert isinstance(picker, EnvironmentPicker)
            await wait_until(pilot, lambda: picker.choices is not None)
            options = picker.query_one(OptionList)
            ids = [option.id for option in options.options if option.id]
            assert ids == [
                "environment:prod",
                "environment:staging",
                "kube:prod-eks",
                "kube:staging-eks",
                "aws-profile:default",
                "aws-profile:ops",
                "aws-region:eu-west-1",
                "aws-region:us-east-1",
            ]
            assert options.highlighted_option is not None
            assert options.highlighted_option.id == "kube:prod-eks"
            assert not any("never-shown" in str(o.prompt) for o in options.options)
            await pilot.pause()

        assert snap_compare(platforms_app(tmp_path), terminal_size=size, run_before=run_before)
