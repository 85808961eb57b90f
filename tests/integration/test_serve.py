"""`triage serve`: the app in a browser, through textual-serve, on this machine only."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.servers.process import free_port, port_open
from tests.servers.redis import RedisServer

pytestmark = pytest.mark.integration


async def first_screen(url: str) -> str:
    """What the browser would receive from the app until its tree shows, as text."""
    import aiohttp

    received = ""
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as socket:
        deadline = time.monotonic() + 30
        while "cache" not in received and time.monotonic() < deadline:
            try:
                message = await socket.receive(timeout=5)
            except TimeoutError:
                continue
            if message.type is aiohttp.WSMsgType.BINARY:
                received += message.data.decode("utf-8", "replace")
            elif message.type is aiohttp.WSMsgType.TEXT:
                received += message.data
            else:
                break
    return received


def test_serve_answers_with_the_app_page(redis_server: RedisServer, tmp_path: Path) -> None:
    config = tmp_path / "triage.yaml"
    config.write_text(
        f"environments:\n  prod:\n    targets:\n      - {{kind: redis, name: cache, "
        f'url: "{redis_server.url}"}}\n'
    )
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tui.cli",
            "serve",
            "--port",
            str(port),
            "--config",
            str(config),
            "--read-only",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**os.environ},
    )
    try:
        deadline = time.monotonic() + 20
        while not port_open("127.0.0.1", port):
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            assert time.monotonic() < deadline, "triage serve did not listen"
            time.sleep(0.1)
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=10)
        assert page.status_code == 200
        assert f'data-session-websocket-url="ws://127.0.0.1:{port}/ws"' in page.text
        screen = asyncio.run(first_screen(f"ws://127.0.0.1:{port}/ws?width=100&height=30"))
        assert "Services" in screen and "cache" in screen
    finally:
        server.terminate()
        server.wait(timeout=10)
