"""Redaction's finer rules: where a value after `name:` starts and ends, entity names the
environment knows, key-shaped look-alikes, private keys across lines, and what each helper
hands back (masked whole, redacted inside, or the very same object)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from providers.contract import CheckResult, CheckStatus, Health, LogLine, Node, Status
from providers.redact import (
    _ANY_NEED,
    MASK,
    _probes,
    names_in,
    redact,
    redact_lines,
    redact_node,
    redact_result,
    redact_texts,
    redact_value,
    secret_like_names,
)

STAMP = datetime(2024, 5, 14, 9, 12, 30, tzinfo=UTC)
# A pod the environment knows, whose name ends in a secret word: `api-token: X` is its status.
KNOWN = {"api-token"}
CRASHING = "api-token: CrashLoopBackOff"


class TestValueAfterAColon:
    @pytest.mark.parametrize(
        ("text", "shown"),
        [
            ("password:hunter2", f"password:{MASK}"),  # no space: still a value
            ("password: 'x'", f"password: {MASK}"),  # a one-letter password, quoted
            ('password: ""', 'password: ""'),  # an empty string hides nothing
            ("token: expired.", "token: expired."),  # a state word, then a full stop
            ("api_key: ...", "api_key: ..."),  # elided: nothing shown, nothing to hide
            ("token: re-issued at 02:00 UTC", "token: re-issued at 02:00 UTC"),  # prose
            ("oauth token: Xero rejected the refresh", "oauth token: Xero rejected the refresh"),
            ("password: hUnter was rejected", f"password: {MASK} was rejected"),
            # 16 letters read as a generated value, even with prose after it
            ("password: qzmxnvbalskdjfhg rejected", f"password: {MASK} rejected"),
            ("user:1042:token: 7f9c2ab1e5", f"user:1042:token: {MASK}"),
        ],
    )
    def test_what_reads_as_a_value(self, text: str, shown: str) -> None:
        assert redact(text) == shown

    def test_a_secret_named_in_an_arn_is_a_path_not_a_value(self) -> None:
        arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf"
        assert redact(f"fetching {arn}") == f"fetching {arn}"


class TestKnownNames:
    def test_a_known_name_with_a_dotted_prefix_is_still_that_entity(self) -> None:
        text = "service shop.api-token: CrashLoopBackOff"
        assert redact(text, KNOWN) == text
        assert redact(text) == f"service shop.api-token: {MASK}"

    def test_a_known_name_is_matched_whole_with_its_dotted_prefix(self) -> None:
        text = "shop.api-token: CrashLoopBackOff"
        assert redact(text, {"shop.api-token"}) == text

    def test_a_name_with_a_short_prefix(self) -> None:
        assert redact("gh-secret: OOMKilled", {"gh-secret"}) == "gh-secret: OOMKilled"

    def test_secret_like_names_are_identifiers_that_end_in_a_secret_word(self) -> None:
        candidates = [None, 5432, "prod/db password", "token", "api-token", "sec-secret", "db"]
        assert secret_like_names(candidates) == {"api-token", "sec-secret"}

    def test_names_in_a_tree_are_its_node_names_and_the_parts_of_their_ids(self) -> None:
        pod = Node("k8s:prod/shop/api-token-7d9f", "pod", "api-token-7d9f")
        tree = Node("k8s:prod/shop/api-token", "deployment", "api", children=(pod,))
        assert names_in(tree) == {"api-token"}


class TestKeyShapes:
    @pytest.mark.parametrize(
        ("text", "shown"),
        [
            ("key sk-proj4f9a0c2e1b7d8e6f5a3c9d", f"key {MASK}"),  # digits
            ("key sk-AbCdEfGhIjKlMnOpQrStUv", f"key {MASK}"),  # mixed case
            # a lower-case slug or an upper-case label is a name, not a key
            ("deploying sk-checkout-frontend-canary", "deploying sk-checkout-frontend-canary"),
            ("job sk-NIGHTLY-EXPORT-FULL-RUN done", "job sk-NIGHTLY-EXPORT-FULL-RUN done"),
        ],
    )
    def test_sk_dash_keys(self, text: str, shown: str) -> None:
        assert redact(text) == shown

    def test_a_private_key_on_one_line_is_masked_between_its_markers(self) -> None:
        text = "-----BEGIN RSA PRIVATE KEY-----MIIEpAIBAAKCAQEA7b-----END RSA PRIVATE KEY-----"
        assert redact(text) == (
            f"-----BEGIN RSA PRIVATE KEY-----{MASK}-----END RSA PRIVATE KEY-----"
        )

    def test_a_private_key_cut_short_is_masked_to_the_end(self) -> None:
        text = "key: -----BEGIN OPENSSH PRIVATE KEY-----b3BlbnNzaC1rZXktdjEAAAAA"
        assert redact(text) == f"key: -----BEGIN OPENSSH PRIVATE KEY-----{MASK}"


class TestLines:
    def test_lines_after_a_whole_key_on_one_line_are_kept(self) -> None:
        texts = [
            "-----BEGIN EC PRIVATE KEY-----MHcCAQEEIB-----END EC PRIVATE KEY-----",
            "listening on :8443",
        ]
        assert redact_texts(texts) == [
            f"-----BEGIN EC PRIVATE KEY-----{MASK}-----END EC PRIVATE KEY-----",
            "listening on :8443",
        ]

    def test_a_certificate_is_not_a_secret(self) -> None:
        texts = ["-----BEGIN CERTIFICATE-----", "MIIDdzCCAl+gAwIBAgIE", "-----END CERTIFICATE-----"]
        assert redact_texts(texts) == texts

    def test_lines_of_one_text_know_the_environment_s_names(self) -> None:
        assert redact_texts([CRASHING], KNOWN) == [CRASHING]
        assert redact_texts([CRASHING]) == [f"api-token: {MASK}"]

    def test_log_lines_that_hold_nothing_are_handed_back_as_they_were(self) -> None:
        lines = [
            LogLine(STAMP, "api", "info", "GET /health 200"),
            LogLine(STAMP, "api", "info", "DATABASE_URL=postgres://app:hunter2@db:5432/shop"),
        ]
        shown = redact_lines(lines)
        assert shown[0] is lines[0]
        assert shown[1].text == f"DATABASE_URL=postgres://app:{MASK}@db:5432/shop"


def node(name: str, reason: str, detail: str = "", *children: Node) -> Node:
    return Node(
        f"k8s:prod/{name}", "pod", name, Status(Health.FAILING, reason), children, detail=detail
    )


class TestNode:
    def test_a_tree_with_nothing_to_hide_is_the_same_object(self) -> None:
        tree = node("shop", "1/2 running", "", node("api", "OOMKilled", "restarts 3"))
        assert redact_node(tree) is tree

    def test_a_changed_child_gives_a_new_parent_with_its_other_parts_kept(self) -> None:
        child = node("api", "ok", "DATABASE_URL=postgres://app:hunter2@db/shop")
        tree = node("shop", "1/2 running", "", child)
        shown = redact_node(tree)
        assert shown.children[0].detail == f"DATABASE_URL=postgres://app:{MASK}@db/shop"
        assert shown.status is tree.status  # a status that hid nothing is not copied
        assert shown.children[0].status is child.status

    def test_a_name_holding_a_url_password_loses_the_password(self) -> None:
        tree = node("postgres://app:hunter2@db:5432/shop", "reachable")
        assert redact_node(tree).name == f"postgres://app:{MASK}@db:5432/shop"

    def test_reasons_and_details_know_the_environment_s_names(self) -> None:
        tree = node("shop", CRASHING, CRASHING, node("api", CRASHING))
        assert redact_node(tree, KNOWN) is tree
        shown = redact_node(tree)
        masked = f"api-token: {MASK}"
        assert (shown.status.reason, shown.detail, shown.children[0].status.reason) == (
            masked,
            masked,
            masked,
        )


class TestResult:
    def test_summary_and_evidence_know_the_environment_s_names(self) -> None:
        result = CheckResult(
            "k8s.pods", "prod", CheckStatus.FAIL, CRASHING, evidence=(CRASHING, "1/2 running")
        )
        assert redact_result(result, KNOWN).summary == CRASHING
        assert redact_result(result, KNOWN).evidence == (CRASHING, "1/2 running")
        assert redact_result(result).evidence == (f"api-token: {MASK}", "1/2 running")


class TestValue:
    @pytest.mark.parametrize("name", ["api_key", "x-api-key", "refreshToken", "DB_PASSWORD"])
    def test_a_value_named_as_a_secret_is_masked_whole(self, name: str) -> None:
        assert redact_value(name, "k-93") == MASK

    @pytest.mark.parametrize("value", [None, True, False, ""])
    def test_a_secret_s_name_with_whether_it_is_set_is_shown(self, value: object) -> None:
        assert redact_value("DB_PASSWORD", value) == value

    def test_keys_holding_a_secret_shape_lose_it_and_other_keys_stay(self) -> None:
        value = {"postgres://app:hunter2@db/shop": "reachable", 5432: "open"}
        assert redact_value("probes", value) == {
            f"postgres://app:{MASK}@db/shop": "reachable",
            5432: "open",
        }

    def test_tuples_and_lists_are_redacted_item_by_item(self) -> None:
        urls = ("postgres://app:hunter2@db/shop", "redis://cache:6379")
        assert redact_value("endpoints", urls) == (f"postgres://app:{MASK}@db/shop", urls[1])
        assert redact_value("endpoints", list(urls)) == [f"postgres://app:{MASK}@db/shop", urls[1]]

    def test_strings_inside_know_the_environment_s_names(self) -> None:
        assert redact_value("reason", CRASHING, KNOWN) == CRASHING
        assert redact_value("reasons", (CRASHING,), KNOWN) == (CRASHING,)
        assert redact_value("reasons", [CRASHING], KNOWN) == [CRASHING]
        assert redact_value("reasons", [CRASHING]) == [f"api-token: {MASK}"]


def test_the_probes_find_every_text_a_rule_needs_and_nothing_in_plain_lines() -> None:
    probes = _probes(_ANY_NEED)
    assert len(probes) == len({need[0] for need in _ANY_NEED})  # one search per first letter
    for need in _ANY_NEED:
        assert any(probe.search(f"x {need} y") for probe in probes), need
    for plain in ("GET /health 200 in 3 ms", "checkpoint complete: wrote 1042 buffers"):
        assert not any(probe.search(plain) for probe in probes)
