"""AWS profiles as the AWS CLI writes them, against the moto server: `credential_process`,
`role_arn` with `source_profile`, IAM Identity Center (SSO) profiles with no token or an
expired one, and `AWS_PROFILE` with the profile's own region.

Each test writes ~/.aws/config (and ~/.aws/credentials) in its own HOME; the only way to moto
is AWS_ENDPOINT_URL, and no key is in the environment: what discovery reaches, it reached with
the profile's credentials.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from providers.contexts import context_choices, context_line, contexts_in_use
from providers.contract import Health
from providers.ecs_provider import EcsProvider
from tests.servers.moto_server import ACCOUNT, REGION, MotoAws, ecs_target

pytestmark = pytest.mark.integration

CREDENTIAL_PROCESS = """#!{python}
import json, os, sys
runs = {runs!r}
count = int(open(runs).read()) + 1 if os.path.exists(runs) else 1
open(runs, "w").write(str(count))
with open(runs + ".stdin", "w") as out:  # what the process was given as its stdin
    out.write(str(os.stat(0).st_rdev == os.stat(os.devnull).st_rdev))
if {fail!r}:
    print('{{"SecretAccessKey": "printed-secret-never-shown"}}')
    print("denied: printed-secret-never-shown", file=sys.stderr)
    sys.exit(7)
print(json.dumps({{
    "Version": 1,
    "AccessKeyId": "AKIAPROCESSEXAMPLE01",
    "SecretAccessKey": "process-secret-never-shown",
    "SessionToken": "process-session-token",
}}))
"""


@pytest.fixture
def aws_home(aws: MotoAws, monkeypatch: pytest.MonkeyPatch) -> Path:
    """~/.aws of this test; moto reached through AWS_ENDPOINT_URL only, no keys, no region."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    ):
        monkeypatch.delenv(name, raising=False)
    folder = Path(os.environ["HOME"]) / ".aws"
    folder.mkdir()
    return folder


def credential_process(folder: Path, name: str, *, fail: bool = False) -> tuple[Path, Path]:
    """A credential_process script printing JSON keys (or failing); and its run count file."""
    runs = folder / f"{name}.runs"
    script = folder / name
    script.write_text(CREDENTIAL_PROCESS.format(python=sys.executable, runs=str(runs), fail=fail))
    script.chmod(0o755)
    return script, runs


async def discover(**options: str) -> tuple[str, Health, str]:
    """(address, health, reason) of an ecs target's discovery."""
    provider = EcsProvider(ecs_target({"max_attempts": 1, **options}))
    try:
        root = await provider.discover()
        return provider.address, root.status.health, root.status.reason
    finally:
        await provider.close()


async def test_credential_process_profile_from_aws_profile_with_its_region(
    aws: MotoAws, aws_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    aws.ecs_stack(desired=1, running=1)
    script, runs = credential_process(aws_home, "issue-keys")
    (aws_home / "config").write_text(
        f"[profile ops]\ncredential_process = {script} --account shop\nregion = {REGION}\n"
    )
    monkeypatch.setenv("AWS_PROFILE", "ops")

    address, health, reason = await discover()

    assert health is not Health.FAILING, reason
    assert reason.startswith("1 clusters"), reason  # the stack, read with the process's keys
    assert address == f"aws {REGION} profile ops at {aws.endpoint}"
    assert runs.read_text() == "1"
    assert (aws_home / "issue-keys.runs.stdin").read_text() == "True"  # /dev/null, no terminal
    target = ecs_target({})
    assert context_line(contexts_in_use([target])) == f"aws ops/{REGION}"


async def test_failing_credential_process_gives_its_exit_status_not_its_output(
    aws: MotoAws, aws_home: Path
) -> None:
    script, runs = credential_process(aws_home, "issue-keys", fail=True)
    (aws_home / "config").write_text(
        f"[profile broken]\ncredential_process = {script}\nregion = {REGION}\n"
    )

    address, health, reason = await discover(profile="broken")

    assert health is Health.FAILING
    assert reason == (
        f"{address}: AWS profile broken: credential_process `{script}` failed "
        "(exit status 7; its output is not shown)"
    )
    assert runs.read_text() == "1"


async def test_credential_process_not_there(aws: MotoAws, aws_home: Path) -> None:
    (aws_home / "config").write_text(
        f"[profile gone]\ncredential_process = /opt/no-such-tool/issue-keys\nregion = {REGION}\n"
    )

    address, health, reason = await discover(profile="gone")

    assert health is Health.FAILING
    assert reason == (
        f"{address}: AWS profile gone: credential_process runs "
        "`/opt/no-such-tool/issue-keys`, which is not there (not on PATH, or no such file)"
    )


async def test_role_assumed_from_a_source_profile(aws: MotoAws, aws_home: Path) -> None:
    aws.ecs_stack(desired=1, running=1)
    (aws_home / "credentials").write_text(
        "[base]\naws_access_key_id = AKIABASEEXAMPLE00001\naws_secret_access_key = base-secret\n"
    )
    (aws_home / "config").write_text(
        f"[profile deploy]\nrole_arn = arn:aws:iam::{ACCOUNT}:role/triage-readonly\n"
        f"source_profile = base\nrole_session_name = triage-on-call\nregion = {REGION}\n"
    )

    provider = EcsProvider(ecs_target({"profile": "deploy", "max_attempts": 1}))
    try:
        root = await provider.discover()
        identity = await provider.aws("sts", "get_caller_identity")
    finally:
        await provider.close()

    assert [cluster.name for cluster in root.children] == ["shop-prod"], root.status.reason
    assert identity["Arn"] == (
        f"arn:aws:sts::{ACCOUNT}:assumed-role/triage-readonly/triage-on-call"
    )


async def test_failing_credential_process_of_a_source_profile_is_not_shown(
    aws: MotoAws, aws_home: Path
) -> None:
    script, runs = credential_process(aws_home, "issue-keys", fail=True)
    (aws_home / "config").write_text(
        f"[profile base]\ncredential_process = {script}\n"
        f"[profile deploy]\nrole_arn = arn:aws:iam::{ACCOUNT}:role/triage-readonly\n"
        f"source_profile = base\nregion = {REGION}\n"
    )

    address, health, reason = await discover(profile="deploy")

    assert health is Health.FAILING
    assert reason == f"{address}: a credential_process failed (its output is not shown)"
    assert runs.read_text() == "1"


SSO_CONFIG = f"""\
[profile sso-dev]
sso_session = corp
sso_account_id = {ACCOUNT}
sso_role_name = ReadOnly
region = {REGION}

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = {REGION}
sso_registration_scopes = sso:account:access

[profile sso-legacy]
sso_start_url = https://legacy.awsapps.com/start
sso_region = {REGION}
sso_account_id = {ACCOUNT}
sso_role_name = ReadOnly
region = {REGION}

[profile admin]
role_arn = arn:aws:iam::{ACCOUNT}:role/admin
source_profile = sso-dev
region = {REGION}
"""


def cached_sso_token(aws_home: Path, key: str, start_url: str, expires: datetime) -> None:
    """A token as `aws sso login` caches it: the file name is the SHA-1 of the session name
    (or, for a profile without sso_session, of the start URL)."""
    cache = aws_home / "sso" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    token = {
        "startUrl": start_url,
        "region": REGION,
        "accessToken": "sso-access-token-never-shown",
        "expiresAt": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    (cache / f"{hashlib.sha1(key.encode()).hexdigest()}.json").write_text(json.dumps(token))


def sso_line(address: str, profile: str) -> str:
    return (
        f"{address}: AWS SSO token for profile {profile} expired or missing: "
        f"run `aws sso login --profile {profile}`"
    )


async def test_sso_profiles_without_a_token_say_what_to_run(aws: MotoAws, aws_home: Path) -> None:
    (aws_home / "config").write_text(SSO_CONFIG)

    for profile, sso_profile in (("sso-dev", "sso-dev"), ("sso-legacy", "sso-legacy")):
        address, health, reason = await discover(profile=profile)
        assert health is Health.FAILING
        assert reason == sso_line(address, sso_profile)
    # A role assumed from an SSO profile: the login is the SSO profile's.
    address, _, reason = await discover(profile="admin")
    assert reason == sso_line(address, "sso-dev")


async def test_sso_profiles_with_an_expired_token_say_what_to_run(
    aws: MotoAws, aws_home: Path
) -> None:
    (aws_home / "config").write_text(SSO_CONFIG)
    expired = datetime.now(UTC) - timedelta(hours=1)
    cached_sso_token(aws_home, "corp", "https://corp.awsapps.com/start", expired)
    legacy_url = "https://legacy.awsapps.com/start"
    cached_sso_token(aws_home, legacy_url, legacy_url, expired)

    for profile in ("sso-dev", "sso-legacy"):
        address, health, reason = await discover(profile=profile)
        assert health is Health.FAILING
        assert reason == sso_line(address, profile)
        assert "never-shown" not in reason


async def test_the_picker_lists_the_profiles_of_every_kind_and_no_sso_session(
    aws_home: Path,
) -> None:
    (aws_home / "config").write_text(
        SSO_CONFIG + "\n[default]\nregion = eu-central-1\n[profile ops]\ncredential_process = x\n"
    )
    (aws_home / "credentials").write_text("[base]\naws_access_key_id = AKIABASEEXAMPLE00001\n")

    choices = context_choices([ecs_target({})])

    assert choices.aws_profiles == {
        "sso-dev": REGION,
        "sso-legacy": REGION,
        "admin": REGION,
        "default": "eu-central-1",
        "ops": "",
        "base": "",
    }
    assert choices.aws_regions == ("eu-central-1", REGION)
    assert choices.unreadable == ()
