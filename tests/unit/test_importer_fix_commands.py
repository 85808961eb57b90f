"""The importer's `run:` steps pass the loader's command rules: a command that reaches a server
declares a target of that kind, takes every value from the runbook, and a step that needs a
secret the operator holds, its own shell loop, or a workstation is one to do by hand."""

from __future__ import annotations

import textwrap
from pathlib import Path

import yaml

from providers.registry import command_catalogue
from runbooks.commands import SHELL_VARIABLES, kinds_used, references
from runbooks.importer import import_guide
from runbooks.importer.params import ParamTable
from runbooks.loader import PLACEHOLDER

GUIDE = textwrap.dedent(
    """\
    # Shop operations

    ## Orders are not saved

    **Symptoms:**
    - "Error: could not write order"

    **Solutions:**

    1. **The database table is missing**
       ```bash
       docker compose exec -T db pg_dump -U shop shop > backup.sql
       aws ssm start-session --target $BASTION_ID
       ```
    2. **The image was never pushed**
       ```bash
       docker build -t <registry>/shop:<tag> .
       docker push <registry>/shop:<tag>
       docker pull <image:tag from the task definition>
       ```
    3. **The payment key is rejected**
       ```bash
       echo "$PAYMENT_API_KEY" | head -c 7
       redis-cli GET apikey:your-api-key-here
       ```
    4. **Some target groups are unhealthy**
       ```bash
       for tg in $TG_ARNS; do
         echo "Target Group: $tg"
         aws elbv2 describe-target-health --target-group-arn $tg
       done
       ```
    """
)


def _import(tmp_path: Path) -> dict:
    path = tmp_path / "shop.md"
    path.write_text(GUIDE, encoding="utf-8")
    result = import_guide(path)
    assert result.errors == []
    [text] = result.yaml.values()
    return yaml.safe_load(text)


def _fixes(document: dict) -> list[dict]:
    return [fix for cause in document["causes"] for fix in cause["fixes"]]


def test_every_run_step_declares_its_kinds_and_takes_no_value_from_the_shell(
    tmp_path: Path,
) -> None:
    document = _import(tmp_path)
    specs = command_catalogue()
    params = document["params"]
    declared = {p["target"] for p in params.values() if p.get("target")}
    given = {name for kind in declared for name in specs[kind].variables}
    runs = [fix["run"] for fix in _fixes(document) if "run" in fix]
    assert runs
    for run in runs:
        assert set(kinds_used(run, specs)) <= declared, run
        assert not PLACEHOLDER.search(run), run
        for name in references(run):
            assert name in params or name in given or name in SHELL_VARIABLES, (name, run)


def test_a_target_only_commands_reach_is_optional(tmp_path: Path) -> None:
    params = _import(tmp_path)["params"]
    for kind in ("compose", "postgres", "ecs"):
        [param] = [p for p in params.values() if p.get("target") == kind]
        assert param["required"] is False, (kind, param)


def test_shell_variables_and_placeholders_become_parameters(tmp_path: Path) -> None:
    document = _import(tmp_path)
    runs = [fix["run"] for fix in _fixes(document) if "run" in fix]
    assert "aws ssm start-session --target $bastion_id" in runs
    assert "docker pull $image_tag_from_the_task_definition" in runs
    assert document["params"]["bastion_id"]["required"] is True
    assert not [name for name in document["params"] if "payment" in name or "api_key" in name]


def test_a_secret_a_loop_or_a_workstation_makes_a_step_by_hand(tmp_path: Path) -> None:
    document = _import(tmp_path)
    manual = [fix["manual"] for fix in _fixes(document) if "manual" in fix]
    secret = [text for text in manual if "a secret the operator holds" in text]
    assert [text.splitlines()[0] for text in secret] == [
        'echo "$PAYMENT_API_KEY" | head -c 7',
        "redis-cli GET apikey:$API_KEY",  # a check would need the key: it is not made one
    ]
    assert [check["use"] for check in document.get("checks", [])] == []
    loops = [text for text in manual if text.startswith("for TG in")]
    assert len(loops) == 1 and "loops in the shell" in loops[0]
    builds = [text for text in manual if text.startswith(("docker build", "docker push"))]
    assert len(builds) == 2 and all("builds or ships images, on no target" in t for t in builds)


def test_a_check_on_a_commands_target_makes_it_required() -> None:
    table = ParamTable()
    name = table.target("redis", "for a command", required=False)
    assert table.params[name]["required"] is False
    assert table.target("redis", "for a check") == name
    assert "required" not in table.params[name]  # required, the default
    assert table.target("redis", "for another command", required=False) == name
    assert "required" not in table.params[name]
