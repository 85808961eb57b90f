"""http.request against a real HTTP server on loopback: the preview says exactly what will be
sent, nothing is sent without confirmation, and the answer comes back with secrets scrubbed."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from providers.base import ConfirmationRequired
from providers.http_provider import HttpProvider
from providers.inventory import Target

pytestmark = pytest.mark.integration
TOKEN = "tok-very-secret-1234"


class _Recorder(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.received.append(
            {
                "method": self.command,
                "path": self.path,
                "body": self.rfile.read(length).decode(),
                "type": self.headers.get("Content-Type"),
                "auth": self.headers.get("Authorization"),
            }
        )
        answer = json.dumps({"ok": False, "echo": f"token={TOKEN}"}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_POST = do_PATCH = do_PUT = _answer

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    _Recorder.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.received
    finally:
        server.shutdown()
        server.server_close()


async def test_a_post_is_previewed_confirmed_sent_and_its_answer_scrubbed(
    recorder: tuple[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    base, received = recorder
    monkeypatch.setenv("TRIAGE_TEST_API_TOKEN", TOKEN)
    target = Target(
        kind="http",
        name="api",
        url=f"{base}/health",
        timeout=3.0,
        options={
            "headers": {"Authorization": {"env": "TRIAGE_TEST_API_TOKEN", "prefix": "Bearer "}}
        },
    )
    provider = HttpProvider(target)
    body = '{"email": "ops@example.test", "password": "pw-hunter2"}'
    plan = await provider.plan_action(
        "http.request", {"url": f"{base}/api/v1/auth/login?key=abc", "body": body}
    )
    shown = f"{base}/api/v1/auth/login?key=***"
    # Not destructive: the word is the request's URL as the preview shows it, never a bare yes.
    assert plan.confirmation_word() == shown
    for wrong in (None, "yes"):
        with pytest.raises(ConfirmationRequired, match=f"type '{re.escape(shown)}' to run it"):
            await provider.run_action(plan, confirmation=wrong)
    assert received == []  # nothing sent before the operator confirms
    outcome = await provider.run_action(plan, confirmation=shown)
    with pytest.raises(ValueError, match="not DELETE"):
        await provider.plan_action("http.request", {"method": "DELETE"})

    assert plan.preview.summary == f"send POST {shown} with a {len(body)}-byte body"
    assert (
        not plan.preview.destructive
        and plan.preview.server == f"api ({base.removeprefix('http://')})"
    )
    assert plan.preview.touches == (
        f"POST {shown}",
        f'body ({len(body)} bytes): {{"email": "ops@example.test", "password": "***"}}',
        "headers: Authorization, Content-Type",
    )
    assert received == [
        {
            "method": "POST",
            "path": "/api/v1/auth/login?key=abc",
            "body": body,
            "type": "application/json",
            "auth": f"Bearer {TOKEN}",
        }
    ]
    assert not outcome.ok and outcome.summary == f"POST {shown}: 401 Unauthorized"
    assert TOKEN not in " ".join(outcome.output) and "token=***" in outcome.output[0]
    assert "pw-hunter2" not in json.dumps([plan.preview.summary, *plan.preview.touches])
