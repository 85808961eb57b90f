"""How the app starts as `triage` starts it: the first frame before the inventory, the
start-up's objects frozen out of the collector's walks."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from tests.servers.redis import RedisServer
from tests.tui.conftest import wait_until
from tui.app import TriageApp
from tui.collector import pause_full_collections
from tui.screens.main_screen import MainScreen
from tui.screens.starting import StartingScreen
from tui.widgets.service_tree import ServiceTree

pytestmark = pytest.mark.integration


def inventory_file(tmp_path: Path, redis_server: RedisServer) -> Path:
    config = tmp_path / "triage.yaml"
    config.write_text(
        f"environments:\n  test:\n    targets:\n      - {{kind: redis, name: cache, url: "
        f"'{redis_server.url}'}}\n"
    )
    return config


async def test_an_inventory_file_is_read_after_the_first_frame(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    config = inventory_file(tmp_path, redis_server)
    app = TriageApp(None, config=str(config))
    assert not app.started
    assert not app.check_action("walkthrough", ())  # nothing to walk through yet
    assert app.check_action("quit", ())
    async with app.run_test(size=(100, 30)) as pilot:
        assert isinstance(app.screen_stack[0], StartingScreen)
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen))
        await wait_until(pilot, lambda: bool(app.screen.query(ServiceTree)))
        tree = app.screen.query_one(ServiceTree)
        await wait_until(pilot, lambda: tree.node_by_id("redis:cache") is not None)
        assert app.started and app.check_action("walkthrough", ())
        assert app.screen.sub_title.endswith(f"· {config}")


async def test_start_up_is_frozen_once_the_runbooks_are_in(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    config = inventory_file(tmp_path, redis_server)
    before, thresholds = gc.get_freeze_count(), gc.get_threshold()
    try:
        for freeze in (False, True):
            if freeze:
                pause_full_collections()  # as the CLI does before start-up
                assert gc.get_threshold()[2] > thresholds[2]
            app = TriageApp(None, config=str(config), freeze_start_up=freeze)
            async with app.run_test(size=(100, 30)) as pilot:
                app.load_library()
                await wait_until(pilot, lambda: app.library is not None)  # noqa: B023
                await pilot.pause()
                frozen = gc.get_freeze_count()
            assert (frozen > before) is freeze
            assert gc.get_threshold() == thresholds  # full collections run again
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()  # the test process runs many apps: give the collector everything back


async def test_full_collections_run_again_even_if_the_runbooks_never_come_in(
    redis_server: RedisServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import runbooks.search
    import tui.app

    def broken(folders: object) -> None:
        raise OSError("the library cannot be read")

    monkeypatch.setattr(tui.app, "FREEZE_AFTER_SECONDS", 0.3)
    monkeypatch.setattr(runbooks.search, "load_search_path", broken)
    config = inventory_file(tmp_path, redis_server)
    thresholds = gc.get_threshold()
    pause_full_collections()
    try:
        app = TriageApp(None, config=str(config), freeze_start_up=True)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_until(pilot, lambda: gc.get_threshold() == thresholds)
            assert app.library is None
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


async def test_an_inventory_that_cannot_be_read_ends_the_app_saying_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import providers.inventory

    def broken(path: str | None) -> object:
        raise RuntimeError(f"the loader broke on {path}")

    monkeypatch.setattr(providers.inventory, "load_inventory", broken)
    app = TriageApp(None, config=str(tmp_path / "triage.yaml"))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.config_error is not None)
    assert app.return_code == 2
    assert app.config_error == (
        f"cannot read the inventory: RuntimeError: the loader broke on {tmp_path / 'triage.yaml'}"
    )
