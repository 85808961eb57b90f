"""Fixtures shared by every test: private servers on free loopback ports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers.redis import RedisServer, start_redis

pytest_plugins = ["tests.servers.fixtures"]


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A private redis-server for one test, which the test may fill, slow down or stop."""
    (tmp_path / "redis").mkdir()
    with start_redis(tmp_path / "redis") as server:
        yield server
