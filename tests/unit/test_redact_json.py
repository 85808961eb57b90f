"""Redaction of JSON members named as secrets (a request or log body shown in evidence)."""

from __future__ import annotations

import pytest

from providers.redact import redact


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ('{"password": "hunter2"}', '{"password": "***"}'),
        (
            '{"user": "bob", "api_key": "k-93 and more", "db": "shop"}',
            '{"user": "bob", "api_key": "***", "db": "shop"}',
        ),
        ('{"db_password":"hunter2","retries":3}', '{"db_password":"***","retries":3}'),
        ('{"apiKey":"k1","refreshToken":"r1"}', '{"apiKey":"***","refreshToken":"***"}'),
        ('"client_secret" : "two words"', '"client_secret" : "***"'),
        ('{"DB_PASSWORD": "hunter2"}', '{"DB_PASSWORD": "***"}'),
        (
            '{"x-api-key": "abc123", "stripe.privateKey": "pk"}',
            '{"x-api-key": "***", "stripe.privateKey": "***"}',
        ),
        ('{"aws_access_key": "wJalrXUtnFEMI"}', '{"aws_access_key": "***"}'),
        ('{"pin_token": 123456}', '{"pin_token": "***"}'),  # a number is a secret too
        ("{'passwd': 'hunter2', 'host': 'db'}", "{'passwd': '***', 'host': 'db'}"),  # a repr
        # escapes inside the value belong to it: the whole value goes, the next member stays
        ('{"password": "pa\\"ss\\\\", "next": 1}', '{"password": "***", "next": 1}'),
        # JSON carried in a JSON string, as a structured log line holds a request body
        (
            'msg="{\\"token\\": \\"s3\\\\\\"cr3t\\", \\"user\\": \\"bob\\"}"',
            'msg="{\\"token\\": \\"***\\", \\"user\\": \\"bob\\"}"',
        ),
    ],
)
def test_json_members_named_as_secrets_are_masked(raw: str, shown: str) -> None:
    assert redact(raw) == shown


@pytest.mark.parametrize(
    "text",
    [
        '{"Action": ["secretsmanager:GetSecretValue"], "Effect": "Allow"}',
        '{"Resource": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/db-AbCdEf"}',
        "denied arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/db-AbCdEf",
        '{"tokens": 3, "token_count": 4, "secret_name": "shop/db"}',  # not ending in the word
        '{"password": "", "token": null, "api_key": false}',  # missing or unset: nothing hidden
        '"password"',
    ],
)
def test_json_that_only_names_secrets_stays_readable(text: str) -> None:
    assert redact(text) == text


def test_no_part_of_a_masked_value_survives() -> None:
    body = '{"user": "ops", "password": "correct \\"horse\\" battery", "api_key": 9912}'
    shown = redact(body)
    for part in ("correct", "horse", "battery", "9912"):
        assert part not in shown
    assert '"user": "ops"' in shown
