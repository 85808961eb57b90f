"""No secret leaves through the walkthrough's transcript, as Markdown or as JSON.

Every event a transcript records (the diagnosis with its checks, parameters and evidence, a fix
with its command, server and output, a refused fix, the verification, the symptom typed in) is
fed the corpus of tests/redaction_corpus.py as it comes, unredacted: the transcript is a way out
of the app and redacts what it writes, whatever redacted it before. Look-alikes come out
readable.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from providers.contract import CheckResult, CheckStatus
from providers.redact import MASK
from runbooks.engine import Diagnosis, Verdict, assess
from runbooks.fixing import FixOutcome, FixReport, PlannedFix
from runbooks.model import Cause, Condition, Fix, Runbook
from runbooks.transcript import Transcript
from tests.redaction_corpus import (
    LOOK_ALIKE_NAMES,
    LOOK_ALIKES,
    SECRETS,
    all_secrets,
    facts,
    json_text,
    leaked,
    log_lines,
)

URL = "postgresql://app:Pa55w0rd@db:5432/shop"
EVERY_SHAPE = [secret.shape for secret in SECRETS]


def leaky_result(check: str = "leaky.probe") -> CheckResult:
    """A failing check that says every secret, in its summary, evidence and facts."""
    return CheckResult(
        check=check,
        target="shop",
        status=CheckStatus.FAIL,
        summary=f"probe failed: {all_secrets()}",
        facts=facts(),
        evidence=tuple(secret.text for secret in SECRETS),
    )


def look_alike_result(name: str) -> CheckResult:
    """A passing check about an entity named like a secret, as the leaky provider says it."""
    return CheckResult(
        check="leaky.probe",
        target="shop",
        status=CheckStatus.PASS,
        summary=f"{name}: no container exited with an error",
        facts={"container": name, "reasons": [f"{name}: 0/1 running"]},
        evidence=(f"{name}: container exited with an error",),
    )


def results() -> dict[str, CheckResult]:
    return {
        "probe": leaky_result(),
        **{name: look_alike_result(name) for name in LOOK_ALIKE_NAMES},
    }


# Each secret quoted by the engine as the evidence of a cause (`probe: probe history #3 ≠ ''`).
CAUSE = Cause(
    id="probe-says-too-much",
    title="The probe prints what it was given",
    evidence=[
        Condition(check="probe", fact=f"probe.history.{index}", not_equals="")
        for index in range(len(SECRETS))
    ],
    fixes=[Fix(title="Restart the probe", run="probe restart --url {url}")],
)
RUNBOOK = Runbook(id="leaky-probe", title="The probe leaks", causes=[CAUSE])


def diagnosis() -> Diagnosis:
    found = results()
    return Diagnosis(
        runbook=RUNBOOK,
        environment="prod",
        params={
            "url": URL,
            "password": "hunter2",  # a parameter named as a secret: masked whatever it holds
            "note": all_secrets(),
            "services": list(LOOK_ALIKE_NAMES),
        },
        results=found,
        causes=[assess(CAUSE, found)],
    )


def fix_report() -> FixReport:
    """A fix whose command printed every secret, a private key across lines among them."""
    output = tuple(line.text for line in log_lines())
    return FixReport(
        ran=True,
        summary=f"restarted with {all_secrets()}",
        output=output,
        before={"probe": leaky_result()},
        after={"probe": leaky_result()},
        outcome=FixOutcome.FAILED,
        effect=f"the probe still says {all_secrets()}",
    )


def planned_fix() -> PlannedFix:
    return PlannedFix(
        cause=CAUSE,
        fix=CAUSE.fixes[0],
        preview=f"probe restart --url {URL} --token=9f8e7d6c5b4a # {all_secrets()}",
        destructive=False,
        confirmation_word="restart",
        verdict=Verdict.CONFIRMED,
        server=URL,
    )


def transcript() -> Transcript:
    """A transcript written by nobody in particular on no machine in particular."""
    return Transcript(
        "prod",
        symptom="",
        user="oncall",
        host="bastion",
        started_at=datetime(2026, 11, 22, 9, 30, tzinfo=UTC),
    )


def with_diagnosis(record: Transcript) -> None:
    record.record_diagnosis(diagnosis())


def with_fix(record: Transcript) -> None:
    record.record_fix(planned_fix(), fix_report(), forced=True)


def with_refusal(record: Transcript) -> None:
    record.record_refusal(CAUSE, CAUSE.fixes[0], URL, f"not confirmed: {all_secrets()}")


def with_verification(record: Transcript) -> None:
    record.record_verification({"probe": leaky_result()}, results())


def with_symptom(record: Transcript) -> None:
    record.symptom = f"the app says: {all_secrets()}"  # pasted from the app's error


EVENTS: dict[str, Callable[[Transcript], None]] = {
    "diagnosis": with_diagnosis,
    "fix": with_fix,
    "refusal": with_refusal,
    "verification": with_verification,
    "symptom": with_symptom,
}
EXPORTS: dict[str, Callable[[Transcript], str]] = {
    "markdown": Transcript.to_markdown,
    "json": Transcript.to_json,
}


def test_the_events_fed_to_the_transcript_hold_every_secret() -> None:
    # what the tests below feed the transcript, before it redacts: every shape, unmasked
    assert leaked(json_text(diagnosis().results["probe"].to_dict())) == EVERY_SHAPE
    explanations = [item.explanation for item in diagnosis().causes[0].evidence]
    assert leaked(" ".join(explanations)) == EVERY_SHAPE
    assert leaked(" ".join(fix_report().output)) == EVERY_SHAPE
    assert leaked(planned_fix().preview) == EVERY_SHAPE


@pytest.mark.parametrize("export", EXPORTS)
@pytest.mark.parametrize("event", EVENTS)
def test_no_secret_leaves_through_the_transcript(event: str, export: str) -> None:
    record = transcript()
    EVENTS[event](record)
    written = EXPORTS[export](record)
    assert leaked(written) == []
    assert MASK in written  # masked where they stood, not dropped with what was around them


@pytest.mark.parametrize("export", EXPORTS)
def test_a_whole_walkthrough_exports_no_secret_and_every_look_alike_readable(
    export: str,
) -> None:
    record = transcript()
    for add in EVENTS.values():
        add(record)
    written = EXPORTS[export](record)
    assert leaked(written) == []
    for text in LOOK_ALIKES:  # the fix's output holds each as a line
        assert text in written, text
    for name in LOOK_ALIKE_NAMES:  # each look-alike's check, in the diagnosis
        assert f"{name}: no container exited with an error" in written, name


def test_the_json_transcript_keeps_look_alikes_and_masks_named_secrets_whole() -> None:
    record = transcript()
    with_diagnosis(record)
    with_fix(record)
    document = record.to_json()
    assert leaked(document) == []
    event = record.events[0]
    assert event["params"]["password"] == MASK
    assert event["params"]["services"] == list(LOOK_ALIKE_NAMES)
    for name in LOOK_ALIKE_NAMES:
        result = event["checks"][name]
        assert result["summary"] == f"{name}: no container exited with an error"
        assert result["evidence"] == [f"{name}: container exited with an error"]
        assert result["facts"]["reasons"] == [f"{name}: 0/1 running"]
    probe = event["checks"]["probe"]["facts"]
    assert probe["db_password"] == MASK and probe["pin_token"] == MASK
    assert probe["look_alikes"] == list(LOOK_ALIKES)
    assert probe["secret_names"] == list(LOOK_ALIKE_NAMES)
    assert probe["has_password"] is True and probe["tokens"] == 3
    output = record.events[1]["output"]
    assert [text for text in output if text in LOOK_ALIKES] == list(LOOK_ALIKES)
    assert len(output) == len(log_lines())  # line for line: a masked line is still a line
