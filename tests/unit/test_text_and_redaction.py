"""Text from backends never drives the terminal; secrets never leave a provider."""

from __future__ import annotations

import pytest

from providers.redact import redact
from providers.text import sanitize


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain line", "plain line"),
        ("\x1b[31mred\x1b[0m text", "red text"),
        ("before\x1b]52;c;ZXZpbA==\x07after", "beforeafter"),  # clipboard write
        ("x\x1b]0;pwned title\x1b\\y", "xy"),  # window title, ST-terminated
        ("\x1b[2J\x1b[Hcleared", "cleared"),
        ("bell\x07 and nul\x00", "bell^G and nul^@"),
        ("multi\nline\r\nentry", "multi line entry"),
        ("tab\there", "tab    here"),
        ("c1 \x9b31m csi", "c1  csi"),
        ("del\x7f", "del^?"),
    ],
)
def test_sanitize_neutralises_escape_and_control_sequences(raw: str, shown: str) -> None:
    assert sanitize(raw) == shown
    assert "\x1b" not in sanitize(raw)


@pytest.mark.parametrize(
    ("raw", "secret"),
    [
        ("redis://:hunter2@cache:6379/0", "hunter2"),
        ("postgresql://app:pa55word@db:5432/app", "pa55word"),
        ("host=db user=app password=pa55word dbname=app", "pa55word"),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig", "eyJhbGciOiJIUzI1NiJ9"),
        ("key AKIAIOSFODNN7EXAMPLE used", "AKIAIOSFODNN7EXAMPLE"),
        ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI"),
        ("OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstuvwx", "sk-proj-abcdefghijklmnop"),
        ("DB_PASSWORD: 'correct horse'", "correct horse"),
        ("STRIPE_SECRET=whsec_12345", "whsec_12345"),
        ("slack xoxb-1234567890-abcdefghij", "xoxb-1234567890"),
        ("ALTER ROLE app PASSWORD 'hunter22'", "hunter22"),
    ],
)
def test_redact_hides_known_secret_shapes(raw: str, secret: str) -> None:
    assert secret not in redact(raw)
    assert "***" in redact(raw)


@pytest.mark.parametrize(
    "text",
    [
        "redis://cache:6379/0 answered PONG in 0.3 ms; 12 keys",
        "role ecsTaskExecutionRole is denied secretsmanager:GetSecretValue",
        "tokens: 3 in the bucket",
    ],
)
def test_redact_keeps_ordinary_text(text: str) -> None:
    assert redact(text) == text
