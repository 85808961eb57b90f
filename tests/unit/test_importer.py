"""`triage import` on the five guides: every runbook validates, and the two shares hold."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from providers.contract import CheckSpec, ParamSpec
from providers.registry import action_catalogue, check_catalogue
from runbooks.importer import guide as guide_module
from runbooks.importer import import_guide, measure, run_import, write_runbooks
from runbooks.loader import load_library, load_runbook
from tests.guides import GUIDES, require_guides

# The floor of the command share, as measured on the five guides: 47/286 = 0.164 with the
# redis, postgres, rabbitmq and http providers; 92/286 = 0.322 once compose and ecs registered
# (the importer reads the registry when it runs); 132/286 = 0.462 with rules for every registered
# provider (kubectl, the AWS services around ECS, compose) and required parameters a command
# lacks made parameters to fill; 177/286 = 0.619 with the log search checks (compose, kubectl,
# CloudWatch: 37 commands), SQL (postgres.query, postgres.run_sql) and requests other than GET
# (http.request). Of the diagnostic commands (not those that provision with terraform/pulumi,
# build or push images, edit local files, set up the host, wait or make a value: 47 of the
# 286), 177/239 = 0.741. With compose.scale (`up --scale SERVICE=N`) and compose.down (`down`,
# `down -v`): 182/286 = 0.636 of all commands, 182/239 = 0.762 of the diagnostic ones. A check
# or action takes no value from the operator's shell, and a secret is never a parameter (it
# would be shown and kept in transcripts), so `GET apikey:your-api-key-here` (a key the operator
# holds) is a step by hand: 181/286 = 0.633, 181/239 = 0.757.
COMMAND_SHARE_FLOOR = 0.63
DIAGNOSTIC_SHARE_FLOOR = 0.75


@pytest.fixture(scope="module")
def results() -> dict[str, object]:
    require_guides()
    return {path.name: import_guide(path) for path in GUIDES}


def _yaml(results: dict, guide_prefix: str, slug: str) -> dict:
    result = next(r for name, r in results.items() if name.startswith(guide_prefix))
    runbook_id = next(key for key in result.yaml if key.endswith(f"-{slug}"))
    return yaml.safe_load(result.yaml[runbook_id])


def _fixes(document: dict) -> list[dict]:
    return [fix for cause in document["causes"] for fix in cause["fixes"]]


def test_every_generated_runbook_passes_the_loader(results: dict) -> None:
    checks, actions = check_catalogue(), action_catalogue()
    seen: set[str] = set()
    total = 0
    for name, result in results.items():
        assert result.errors == [], result.errors
        assert result.yaml, name
        for runbook_id, text in result.yaml.items():
            runbook = load_runbook(
                Path(f"{runbook_id}.yaml"), text=text, checks=checks, actions=actions
            )
            assert runbook.id == runbook_id
            assert runbook.source.startswith(f"{name}#")
            assert runbook.id not in seen
            seen.add(runbook.id)
            assert runbook.causes and runbook.symptoms
            total += 1
    assert total >= 70


def test_section_share_and_command_share_from_the_files() -> None:
    require_guides()
    measured = measure(GUIDES)
    for name, (done, sections, mapped, commands) in measured.per_guide.items():
        diagnostic_mapped, diagnostic = measured.diagnostic[name]
        print(
            f"{name}: sections {done}/{sections}, commands mapped {mapped}/{commands}, "
            f"diagnostic commands mapped {diagnostic_mapped}/{diagnostic}"
        )
        assert sections >= 10
        assert commands >= 20
        assert diagnostic_mapped == mapped  # what is not diagnostic never maps: nothing hidden
    print(
        f"section share {measured.section_share:.3f}, command share "
        f"{measured.command_share:.3f}, diagnostic share {measured.diagnostic_share:.3f}"
    )
    assert measured.section_share >= 0.95
    assert measured.command_share >= COMMAND_SHARE_FLOOR  # all commands: see top
    assert measured.diagnostic_share >= DIAGNOSTIC_SHARE_FLOOR


def test_sections_that_are_not_symptoms_are_skipped_with_a_reason(results: dict) -> None:
    coverage = results[GUIDES[1].name].coverage
    kinds = {section.slug: (section.kind, section.outcome) for section in coverage.sections}
    assert kinds["table-of-contents"] == ("reference", "skipped")
    assert kinds["getting-help"] == ("reference", "skipped")
    assert kinds["issue-api-returns-500-errors"] == ("symptom", "runbook")
    assert kinds["3-memory-emergency"] == ("symptom", "runbook")
    assert kinds["1-fastapi-application"] == ("container", "skipped")


def test_destructive_commands_are_marked_and_never_safe(results: dict) -> None:
    secrets = _yaml(results, "000", "secrets-already-scheduled-for-deletion")
    deletes = [
        f for f in _fixes(secrets) if f.get("action") == "secretsmanager.force_delete_secret"
    ]
    assert [fix["with"] for fix in deletes] == [
        {"secret": "$secret_id"},
        {"secret": "$secret_id_2"},
        {"secret": "$secret_id_3"},
    ]
    assert secrets["params"]["secret_id_3"]["default"] == "whispa/prod/database-password"
    assert action_catalogue()["secretsmanager.force_delete_secret"][1].destructive
    assert not any("delete-secret" in fix.get("run", "") for fix in _fixes(secrets))

    emergency = _yaml(results, "001", "memory-emergency")
    assert {"title": "Clear Redis cache", "action": "redis.flushdb", "on": "redis"} in _fixes(
        emergency
    )
    backlog = _yaml(results, "003", "queue-backlog")
    purge = next(fix for fix in _fixes(backlog) if fix.get("action") == "rabbitmq.purge_queue")
    assert purge["with"] == {"queue": "$queue"}
    assert backlog["params"]["queue"]["default"] == "inbound-whatsapp-messages"

    database = _yaml(results, "004", "cannot-connect-to-database")
    down = next(fix for fix in _fixes(database) if fix.get("action") == "compose.down")
    assert down["with"] == {"volumes": True}  # `down -v`: a destructive action, volumes too
    assert action_catalogue()["compose.down"][1].destructive
    disk = results[GUIDES[4].name].coverage.commands
    prunes = [record for record in disk if "prune" in record.text]
    assert len(prunes) == 4 and all(record.destructive for record in prunes)
    runs = [fix for fix in _fixes(_yaml(results, "004", "out-of-disk-space")) if "run" in fix]
    assert all(fix["destructive"] for fix in runs if "prune" in fix["run"])
    port = _yaml(results, "003", "1-services-wont-start")
    kill = next(fix for fix in _fixes(port) if "taskkill" in fix.get("run", ""))
    assert kill == {
        "title": "Kill the process (replace PID)",
        "run": "taskkill /PID $pid /F",
        "destructive": True,
    }

    actions = action_catalogue()
    for result in results.values():
        for record in result.coverage.commands:
            if record.destructive and record.outcome == "action":
                assert actions[record.detail][1].destructive, record  # never made safe
            if record.destructive:
                assert record.outcome in {"action", "run"}, record


def test_placeholders_and_variables_become_parameters(results: dict) -> None:
    database = _yaml(results, "000", "database-connection-errors")
    assert database["params"]["sg_id"] == {"description": "fill in: sg-xxx", "required": True}
    groups = next(s for s in database["checks"] if s["use"] == "ec2.security_group_allows")
    assert groups["with"] == {"destination": "$sg_id", "source": "$source", "port": "$port"}
    assert database["params"]["source"]["required"] is True  # not in the command: to fill
    assert "default" not in database["params"]["source"]
    assert database["params"]["port"]["default"] == 5432  # the check's, shown to change
    ecs = _yaml(results, "002", "problem-ecs-tasks-failing-to-start")
    assert ecs["params"]["cluster"] == {
        "description": "cluster (from the guide)",
        "default": "omnirapeutic-production",
        "required": False,
    }
    stopped = next(s for s in ecs["checks"] if s["use"] == "ecs.stopped_tasks")
    assert stopped["with"] == {"cluster": "$cluster", "service": "$service"}
    tasks = _yaml(results, "000", "ecs-tasks-failing-to-start")  # describe-tasks, no service
    assert tasks["params"]["service"]["required"] is True
    assert "default" not in tasks["params"]["service"]
    network = _yaml(results, "004", "cannot-access-application")
    assert network["params"]["domain"]["required"] is True
    commands = []  # what runs: check arguments, fix commands and action arguments
    for result in results.values():
        for text in result.yaml.values():
            document = yaml.safe_load(text)
            commands += [str(step.get("with", "")) for step in document.get("checks", [])]
            commands += [f"{fix.get('run', '')} {fix.get('with', '')}" for fix in _fixes(document)]
    every = "\n".join(commands)
    for literal in (
        "<rds-endpoint>",
        "sg-xxx",
        "your-domain.com",
        "[service-name]",
        "<PID>",
        "$TASK_ARN",
        "$ALB_ARN",
        "<task-id>",
    ):
        assert literal not in every, literal


def test_third_party_api_calls_take_their_auth_header_from_the_environment(
    results: dict,
) -> None:
    llm = _yaml(results, "000", "llm-api-errors")
    step = llm["checks"][0]
    assert step["use"] == "http.status" and step["with"] == {"url": "$url"}
    target = llm["params"][step["on"]]
    assert target["target"] == "http"
    assert "env: OPENROUTER_API_KEY" in target["description"]
    assert "prefix: 'Bearer '" in target["description"]
    assert llm["params"]["url"]["default"] == "https://openrouter.ai/api/v1/models"
    coverage = results[GUIDES[0].name].coverage
    assert any("OPENROUTER_API_KEY" in note for note in coverage.notes)


def test_checks_registered_later_are_used_when_the_importer_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    require_guides()
    without_ecs = {k: v for k, v in check_catalogue().items() if not k.startswith("ecs.")}
    monkeypatch.setattr(guide_module, "check_catalogue", lambda: without_ecs)
    before = import_guide(GUIDES[2])
    record = next(r for r in before.coverage.commands if "describe-services" in r.text)
    assert record.outcome == "run"
    assert record.detail.startswith("not yet automatable: no provider for ecs")
    assert "not yet automatable: no provider for ecs" in before.coverage.render()

    spec = CheckSpec(
        "ecs.service_events",
        "ECS service events",
        "",
        ("ecs.service",),
        {"cluster": ParamSpec("Cluster"), "service": ParamSpec("Service")},
    )
    registered = {**without_ecs, "ecs.service_events": ("ecs", spec)}
    monkeypatch.setattr(guide_module, "check_catalogue", lambda: registered)
    after = import_guide(GUIDES[2])
    assert after.errors == []
    ecs = yaml.safe_load(after.yaml["002-10817c68e5111664-problem-ecs-tasks-failing-to-start"])
    step = next(step for step in ecs["checks"] if step["use"] == "ecs.service_events")
    assert step["with"] == {"cluster": "$cluster", "service": "$service"}
    assert ecs["params"][step["on"]]["target"] == "ecs"
    assert after.coverage.command_share > before.coverage.command_share


def test_run_import_writes_runbooks_the_library_loads(tmp_path: Path) -> None:
    require_guides()
    code, report = run_import(GUIDES[3], tmp_path / "out")
    assert code == 0, report
    assert "Symptom sections imported: 16/16 (100%)" in report
    assert "Commands mapped to checks or actions:" in report
    assert "Why commands of symptom sections stayed manual:" in report
    library = load_library([tmp_path / "out"])
    assert library.errors == []
    written = sorted(path.stem for path in (tmp_path / "out").glob("*.yaml"))
    assert written == sorted(library.runbooks)
    again = import_guide(GUIDES[3])
    assert len(write_runbooks(again, tmp_path / "again")) == len(written)


def test_run_import_of_a_missing_file_exits_2(tmp_path: Path) -> None:
    code, report = run_import(tmp_path / "nope.md", None)
    assert code == 2
    assert "cannot read" in report
