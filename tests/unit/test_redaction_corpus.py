"""Every secret shape, through every way out of the app; look-alikes come out as they went in.

The corpus and the provider that leaks it are in tests/redaction_corpus.py. The ways out: the
text functions, the tree and result helpers, the environment (where provider results enter the
app), the log batches (what the log pane is fed), `triage discover` (text and JSON), `triage check
--json`, the report bundle and the audit log. The TUI's own panes are in
tests/tui/test_redaction_on_screen.py, a real Docker engine in
tests/integration/test_compose_redaction.py.
"""

from __future__ import annotations

import asyncio
import tarfile
from pathlib import Path

import pytest

from providers.base import ActionPlan
from providers.contract import (
    ActionOutcome,
    ActionPreview,
    CheckCall,
    CheckResult,
    CheckStatus,
    Health,
    LogLine,
    Node,
    Status,
)
from providers.environment import LiveEnvironment, PlannedCheck
from providers.inventory import Environment, Inventory, Target
from providers.redact import (
    MASK,
    redact,
    redact_lines,
    redact_node,
    redact_result,
    redact_shapes,
    redact_value,
)
from providers.streams import LineBatch
from runbooks.gate import AuditLog, Gate
from tests.redaction_corpus import (
    LOOK_ALIKE_NAMES,
    LOOK_ALIKES,
    SECRETS,
    STAMP,
    LeakyProvider,
    Secret,
    all_secrets,
    facts,
    isolate,
    json_text,
    leaked,
    log_lines,
)
from tui import headless
from tui.report import write_report

SHAPES = [pytest.param(secret, id=secret.shape) for secret in SECRETS]


@pytest.fixture
def leaky_kind(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate(monkeypatch, tmp_path / "home")


@pytest.fixture
def inventory(leaky_kind: None) -> Inventory:
    target = Target(kind="leaky", name="shop", timeout=5)
    return Inventory(environments={"prod": Environment(targets=[target])}, source="test")


# -- the text functions -------------------------------------------------------------------------


@pytest.mark.parametrize("secret", SHAPES)
@pytest.mark.parametrize("around", ["{}", "connect failed ({}), retrying in 2 s", "msg={}"])
def test_every_secret_shape_is_masked_wherever_it_stands(secret: Secret, around: str) -> None:
    shown = redact(around.format(secret.text))
    assert leaked(shown) == []
    assert MASK in shown


def test_a_name_is_masked_only_where_it_holds_a_secret_shape() -> None:
    for shape in ("JWT", "URL password", "GitHub token", "AWS access key id"):
        secret = next(secret for secret in SECRETS if secret.shape == shape)
        assert leaked(redact_shapes(f"cache ({secret.text})")) == [], shape
    for name in (*LOOK_ALIKE_NAMES, "api-token", "db-password", "password=staging"):
        assert redact_shapes(name) == name


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_look_alikes_come_out_unchanged(text: str) -> None:
    assert redact(text) == text
    assert redact_shapes(text) == text
    assert redact_value("reasons", [text]) == [text]


def test_a_name_ending_in_a_secret_word_masks_what_reads_as_a_value_after_a_colon() -> None:
    # `=` always assigns; after `:` a value is what does not read as the start of prose
    assert redact("sec-secret=running") == f"sec-secret={MASK}"
    assert redact("password: hunter2") == f"password: {MASK}"  # a digit
    assert redact("password: hUnter") == f"password: {MASK}"  # mixed case
    assert redact("password: p@ss!") == f"password: {MASK}"  # symbols
    assert redact('password: "two words"') == f"password: {MASK}"  # quoted
    assert redact("password: correcthorsebatterystaple ok") == f"password: {MASK} ok"  # long
    assert redact("password: hunter") == f"password: {MASK}"  # the last word
    assert redact("password: 1234") == f"password: {MASK}"  # a PIN, at the end
    assert redact("password: hunter is what was tried") == "password: hunter is what was tried"
    # an entity the environment knows is named, not a key
    assert redact("api-token: CrashLoopBackOff") == f"api-token: {MASK}"
    assert redact("api-token: CrashLoopBackOff", {"api-token"}) == "api-token: CrashLoopBackOff"
    assert redact("ns/api-token: 1 pod", {"api-token"}) == "ns/api-token: 1 pod"
    assert redact("token: Hunter2Two", {"api-token"}) == f"token: {MASK}"


def test_a_private_key_printed_across_log_lines_is_masked_line_by_line() -> None:
    lines = log_lines()
    shown = redact_lines(lines)
    assert leaked(" ".join(line.text for line in shown)) == []
    assert [line.text for line in shown if line.text in LOOK_ALIKES] == list(LOOK_ALIKES)
    assert [line.time for line in shown] == [line.time for line in lines]
    quiet = [LogLine(STAMP, "api", "info", text) for text in LOOK_ALIKES]
    assert redact_lines(quiet) is quiet  # nothing to hide: the same list, no copies


# -- the tree and result helpers ----------------------------------------------------------------


def test_a_tree_is_redacted_through_its_children_names_kept() -> None:
    tree = asyncio.run(LeakyProvider(Target(kind="redis", name="shop")).discover())
    shown = redact_node(tree)
    assert leaked(json_text(shown.to_dict())) == []
    assert leaked(" ".join(node.detail for node in shown.walk())) == []
    assert [node.name for node in shown.walk()] == [node.name for node in tree.walk()]
    assert [node.id for node in shown.walk()] == [node.id for node in tree.walk()]
    by_name = {node.name: node for node in shown.walk()}
    for name in LOOK_ALIKE_NAMES:
        reason = by_name[name].status.reason
        assert reason == f"0/1 running; {name}: stopped (exited with code 0)"
    quiet = Node("x:y", "x", "sec-secret", Status(Health.OK, "sec-secret: 1/1 running"))
    assert redact_node(quiet, {"sec-secret"}) is quiet


def test_a_result_is_redacted_in_its_summary_evidence_and_facts() -> None:
    result = CheckResult(
        check="leaky.probe",
        target="shop",
        status=CheckStatus.FAIL,
        summary=f"probe failed: {all_secrets()}",
        facts=facts(),
        evidence=tuple(secret.text for secret in SECRETS),
    )
    shown = redact_result(result)
    assert leaked(json_text(shown.to_dict())) == []
    assert shown.facts["db_password"] == MASK
    assert shown.facts["pin_token"] == MASK
    assert shown.facts["secret_names"] == list(LOOK_ALIKE_NAMES)
    assert shown.facts["has_password"] is True
    assert shown.facts["tokens"] == 3
    assert shown.facts["look_alikes"] == list(LOOK_ALIKES)
    assert shown.facts["states"] == {"prod/db-password": "present"}
    # a key ending in a secret word is a field, unless the environment knows it as a name
    assert shown.facts["by_container"]["sec-secret"] == MASK
    named = redact_result(result, {"sec-secret"})
    assert named.facts["by_container"] == dict.fromkeys(LOOK_ALIKE_NAMES, "exited")


# -- where provider results enter the app -------------------------------------------------------


async def test_the_environment_redacts_every_tree_and_result(inventory: Inventory) -> None:
    live = LiveEnvironment(inventory)
    try:
        nodes, results = await live.check_everything()
        again = await live.discover_target("leaky:shop")
        one = await live.run_check(PlannedCheck("leaky:shop/item-0", CheckCall("leaky.probe")))
    finally:
        await live.close()
    assert leaked(json_text([node.to_dict() for node in [*nodes, again]])) == []
    assert leaked(json_text([result.to_dict() for result in [*results, one]])) == []
    assert len(results) == 1 + len(SECRETS) + len(LOOK_ALIKE_NAMES)
    passing = {r.node_id.rsplit("/", 1)[1]: r for r in results if r.status is CheckStatus.PASS}
    for name in LOOK_ALIKE_NAMES:
        assert passing[name].summary == f"{name}: no container exited with an error"
        assert passing[name].evidence == (f"{name}: container exited with an error",)
        assert passing[name].facts["reasons"] == [f"{name}: 0/1 running"]
    assert one.facts["by_container"] == dict.fromkeys(LOOK_ALIKE_NAMES, "exited")


async def test_log_batches_reach_the_app_redacted(leaky_kind: None) -> None:
    provider = LeakyProvider(Target(kind="leaky", name="shop"))
    batches = [batch async for batch in provider.log_batches("leaky:shop")]
    shown = [line.text for batch in batches for line in batch.lines]
    assert len(shown) == len(log_lines())
    assert leaked(" ".join(shown)) == []
    assert [text for text in shown if text in LOOK_ALIKES] == list(LOOK_ALIKES)
    # a batch handed over already redacted (by reader threads) is not read again
    raw = log_lines()
    assert LineBatch(raw, redacted=True).lines is raw
    assert leaked(" ".join(line.text for line in LineBatch(raw).lines)) == []


# -- what the headless commands print ------------------------------------------------------------


async def test_discover_prints_no_secret_as_text_or_json(
    inventory: Inventory, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await headless.discover(inventory, None, as_json=False, color=False) == 1
    text = capsys.readouterr().out
    assert await headless.discover(inventory, None, as_json=True, color=False) == 1
    document = capsys.readouterr().out
    assert leaked(text) == [] and leaked(document) == []
    for name in LOOK_ALIKE_NAMES:
        assert f"{name}  0/1 running; {name}: stopped (exited with code 0)" in text
        assert f'"reason": "0/1 running; {name}: stopped (exited with code 0)"' in document


async def test_check_json_prints_no_secret_in_facts_summaries_or_evidence(
    inventory: Inventory, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await headless.check(inventory, None, as_json=True, color=False) == 1
    document = capsys.readouterr().out
    assert leaked(document) == []
    assert '"db_password": "***"' in document
    for name in LOOK_ALIKE_NAMES:
        assert f'"summary": "{name}: no container exited with an error"' in document
    assert await headless.check(inventory, None, as_json=False, color=False) == 1
    assert leaked(capsys.readouterr().out) == []


# -- what leaves the machine ----------------------------------------------------------------------


async def test_the_report_bundle_holds_no_secret(
    inventory: Inventory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = tmp_path / "report.tar.gz"
    assert await write_report(inventory, None, str(bundle)) == 0
    with tarfile.open(bundle) as archive:
        texts = {
            member.name: archive.extractfile(member).read().decode()  # type: ignore[union-attr]
            for member in archive.getmembers()
        }
    assert "logs/leaky_shop.log" in texts  # the failing root's log lines, read directly
    assert {name: leaked(text) for name, text in texts.items() if leaked(text)} == {}
    for text in LOOK_ALIKES:
        assert text in texts["logs/leaky_shop.log"]


async def test_the_audit_log_holds_no_secret(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.jsonl")
    gate = Gate("prod", read_only=False, audit=audit, user="oncall", host="bastion")

    async def apply() -> ActionOutcome:
        return ActionOutcome("leaky.restart", "shop", True, f"restarted: {all_secrets()}")

    preview = ActionPreview("leaky.restart", "shop", f"restart with {all_secrets()}", False)
    plan = ActionPlan(preview, apply)
    params = {"password": "hunter2", "url": "postgresql://app:Pa55w0rd@db:5432/shop"}
    params |= {f"note{index}": secret.text for index, secret in enumerate(SECRETS)}
    await gate.run_action(
        LeakyProvider(Target(kind="redis", name="shop")),
        plan,
        confirmation=plan.confirmation_word(),
        params=params,
    )
    written = audit.path.read_text()
    assert len(audit.entries()) == 2
    assert leaked(written) == []
