"""boto3 behind the async contract: one session per target, clients per service, calls in threads.

botocore (boto3's core) is imported here lazily, inside functions: importing this module costs
nothing, so the TUI watching one Redis never pays for them. The standard credential chain
applies (a profile from the target's options or `AWS_PROFILE`, `AWS_REGION`,
`AWS_ENDPOINT_URL`, instance roles); the target's options may name a region, a profile, an
endpoint URL and the number of attempts per call (retries are adaptive: they back off on
throttling). Connect and read timeouts are the target's timeout, so a dead endpoint costs that.

Profiles are the AWS CLI's, read by botocore: IAM Identity Center (`sso_session` or
`sso_start_url`: the token `aws sso login` cached in ~/.aws/sso/cache), `credential_process`,
`role_arn` with `source_profile` (assumed through STS), and a `region` each. What goes wrong
with them is one line that says what to do (`aws sso login --profile X`); a credential process
runs with no terminal (its stdin is /dev/null, so it never reads the operator's keys), within a
time limit, and its output is never shown (it may hold a key). Proxies are the environment's
(providers/proxies.py); an endpoint on this machine's loopback is always reached directly.
"""

from __future__ import annotations

import asyncio
import configparser
import functools
import json
import os
import subprocess
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from providers.proxies import Proxy, proxy_for
from providers.redact import redact

if TYPE_CHECKING:
    from botocore.session import Session as BotocoreSession

    from providers.inventory import Target

DEFAULT_MAX_ATTEMPTS = 4
# A credential process may sign in somewhere first: it gets at least this long, whatever the
# target's timeout (the call that needed it still fails at its own deadline, and the next
# call finds the credentials botocore kept).
CREDENTIAL_PROCESS_TIMEOUT = 10.0
T = TypeVar("T")


class AwsCredentialError(Exception):
    """Credentials of a profile could not be had; the message is the line to show."""


def chunks(items: Iterable[T], size: int) -> list[list[T]]:
    """`items` in lists of at most `size` (describe_services takes 10, describe_tasks 100)."""
    batch: list[T] = []
    out: list[list[T]] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            out.append(batch)
            batch = []
    if batch:
        out.append(batch)
    return out


def arn_name(arn: str) -> str:
    """The last part of an ARN (`.../shop-prod/abc` -> `abc`), or the text itself."""
    return arn.rsplit("/", 1)[-1].rsplit(":", 1)[-1] if arn else arn


_LOADER_LOCK = threading.Lock()
_LOADER: Any = None


def _new_session(
    profile: str | None, region: str | None, process_timeout: float
) -> BotocoreSession:
    """A botocore session (the standard credential chain) sharing one loader of API models.

    Parsing the service models is most of what making a client costs; they never change, so
    every target's session reads them once per process. The chain's `credential_process` runs
    through `CredentialProcess` (botocore's ProcessProvider takes the `popen` to use).
    """
    global _LOADER
    import botocore.loaders
    import botocore.session
    from botocore.credentials import ProcessProvider, create_credential_resolver

    with _LOADER_LOCK:
        if _LOADER is None:
            _LOADER = botocore.loaders.create_loader()
    session = botocore.session.Session(profile=profile)
    session.register_component("data_loader", _LOADER)

    def credential_chain() -> Any:
        # What botocore makes at the first client (with that client's region, which an assumed
        # role's STS client gets), but with its process provider running CredentialProcess.
        resolver = create_credential_resolver(session, region_name=region)
        chain = resolver.providers
        for index, provider in enumerate(chain):
            if isinstance(provider, ProcessProvider):
                name = session.get_config_variable("profile") or "default"
                chain[index] = ProcessProvider(
                    profile_name=name,
                    load_config=lambda: session.full_config,
                    popen=functools.partial(CredentialProcess, name, process_timeout),
                )
        return resolver

    session.lazy_register_component("credential_provider", credential_chain)
    return session


class CredentialProcess(subprocess.Popen[bytes]):
    """A profile's `credential_process`, as botocore's ProcessProvider runs it, held to one line.

    Without a terminal (stdin is /dev/null: in the TUI a process reading it would take the
    operator's keys), within `limit` seconds, and failing with an AwsCredentialError that names
    the profile and the exit status but never the process's output: what it prints may hold
    a key, and botocore would put its stderr in the error.
    """

    def __init__(self, profile: str, limit: float, args: list[str], **options: Any) -> None:
        self.profile = profile
        self.limit = limit
        self.program = args[0] if args else "?"
        try:
            super().__init__(args, stdin=subprocess.DEVNULL, **options)
        except FileNotFoundError:
            raise AwsCredentialError(
                f"AWS profile {profile}: credential_process runs `{self.program}`, "
                "which is not there (not on PATH, or no such file)"
            ) from None
        except PermissionError:
            raise AwsCredentialError(
                f"AWS profile {profile}: credential_process `{self.program}` cannot be run "
                "(permission denied)"
            ) from None

    def communicate(
        self, input: bytes | None = None, timeout: float | None = None
    ) -> tuple[bytes, bytes]:
        try:
            stdout, stderr = super().communicate(input, timeout=self.limit)
        except subprocess.TimeoutExpired:
            self.kill()
            super().communicate()
            raise AwsCredentialError(
                f"AWS profile {self.profile}: credential_process `{self.program}` gave no "
                f"credentials within {self.limit:g}s"
            ) from None
        if self.returncode != 0:
            raise AwsCredentialError(
                f"AWS profile {self.profile}: credential_process `{self.program}` failed "
                f"(exit status {self.returncode}; its output is not shown)"
            )
        try:
            printed = json.loads(stdout)
        except ValueError:
            printed = None
        if not isinstance(printed, dict):
            raise AwsCredentialError(
                f"AWS profile {self.profile}: credential_process `{self.program}` printed no "
                "JSON credentials (expected Version, AccessKeyId, SecretAccessKey)"
            )
        return stdout, stderr


def aws_config_files() -> tuple[Path, Path]:
    """The shared config and credentials files, where the AWS CLI and boto3 look for them."""
    config = os.environ.get("AWS_CONFIG_FILE") or "~/.aws/config"
    credentials = os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials"
    return Path(config).expanduser(), Path(credentials).expanduser()


def aws_profiles() -> dict[str, str]:
    """Every profile of the shared config and credentials files, with its region ("" if none).

    Only section names and `region` are read out: keys stay in the files. Raises ValueError
    naming a file that cannot be read.
    """
    config_file, credentials_file = aws_config_files()
    profiles: dict[str, str] = {}
    for path, prefixed in ((config_file, True), (credentials_file, False)):
        if not path.exists():
            continue
        parser = configparser.RawConfigParser(default_section="\0no-defaults")
        try:
            parser.read_string(path.read_text(encoding="utf-8"), source=str(path))
        except OSError as error:
            raise ValueError(f"AWS config {path}: {error.strerror or error}") from error
        except configparser.Error as error:
            # Not str(error): it quotes the offending line, which could hold a key.
            raise ValueError(f"AWS config {path}: cannot parse ({type(error).__name__})") from error
        for section in parser.sections():
            # In config, profiles are `[profile name]` (and `[default]`); in credentials, `[name]`.
            name = section.removeprefix("profile ").strip() if prefixed else section.strip()
            if prefixed and section != "default" and not section.startswith("profile "):
                continue  # [sso-session ...], [services ...]: not profiles
            region = parser.get(section, "region", fallback="") if prefixed else ""
            profiles[name] = profiles.get(name) or region
    return profiles


class AwsSession:
    """Mixed into the ecs provider: boto3 clients for the target's account and region."""

    target: Target
    timeout: float
    _aws_lock: threading.Lock
    _aws_session: BotocoreSession | None
    _aws_clients: dict[str, Any]
    _profile_region: str | None

    def _aws_setup(self) -> None:
        self._aws_lock = threading.Lock()
        self._aws_session = None
        self._aws_clients = {}
        self._profile_region = None  # read once from the config file: it is not watched

    @property
    def aws_options(self) -> Mapping[str, Any]:
        return self.target.options

    @property
    def profile(self) -> str:
        """The profile the calls use ("" for none: botocore's `default`, if any). Without the
        option, botocore's order: AWS_DEFAULT_PROFILE before AWS_PROFILE."""
        profile = self.aws_options.get("profile") or os.environ.get("AWS_DEFAULT_PROFILE")
        return str(profile or os.environ.get("AWS_PROFILE") or "")

    @property
    def region(self) -> str:
        """The option's region, else `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's own."""
        region = self.aws_options.get("region") or os.environ.get("AWS_REGION")
        region = region or os.environ.get("AWS_DEFAULT_REGION")
        if not region:
            if self._profile_region is None:
                try:
                    self._profile_region = aws_profiles().get(self.profile or "default", "")
                except ValueError:  # botocore says what is wrong with the file when it reads it
                    self._profile_region = ""
            region = self._profile_region
        return str(region or "")

    @property
    def endpoint_url(self) -> str | None:
        endpoint = self.aws_options.get("endpoint_url") or self.target.url
        return str(endpoint) if isinstance(endpoint, str) and endpoint else None

    @property
    def address(self) -> str:
        profile = self.profile
        where = f"aws {self.region or '(no region)'}"
        if profile:
            where = f"{where} profile {profile}"
        endpoint = self.endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
        return f"{where} at {endpoint}" if endpoint else where

    def _client_sync(self, service: str) -> Any:
        with self._aws_lock:
            if service in self._aws_clients:
                return self._aws_clients[service]
            from botocore.config import Config

            if self._aws_session is None:
                self._aws_session = _new_session(
                    self.aws_options.get("profile") or None,
                    self.region or None,
                    max(self.timeout, CREDENTIAL_PROCESS_TIMEOUT),
                )
            attempts = int(self.aws_options.get("max_attempts", DEFAULT_MAX_ATTEMPTS))
            config = Config(
                connect_timeout=self.timeout,
                read_timeout=self.timeout,
                retries={"mode": "adaptive", "max_attempts": max(attempts, 1)},
                user_agent_extra="triage",
                **self._proxies(),
            )
            client = self._aws_session.create_client(
                service,
                region_name=self.region or None,
                endpoint_url=self.endpoint_url,  # None: botocore reads AWS_ENDPOINT_URL
                config=config,
            )
            self._aws_clients[service] = client
            return client

    def _proxies(self) -> dict[str, Any]:
        """botocore's `proxies` for a known endpoint: the proxy `proxy_for` picks, or none at
        all (an empty mapping: botocore then ignores the environment). With no endpoint known
        (AWS's own), botocore reads the environment itself, NO_PROXY included."""
        endpoint = self.endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
        if not endpoint:
            return {}
        proxy = proxy_for(endpoint)
        return {"proxies": {"http": proxy.url, "https": proxy.url} if proxy else {}}

    async def aws(self, api: str, operation: str, /, **params: Any) -> dict[str, Any]:
        """One API call, in a thread: `await self.aws("ecs", "describe_services", ...)`."""

        def run() -> dict[str, Any]:
            result: dict[str, Any] = getattr(self._client_sync(api), operation)(**params)
            return result

        return await asyncio.to_thread(run)

    async def aws_pages(self, api: str, operation: str, key: str, /, **params: Any) -> list[Any]:
        """Every item under `key` across all pages of a paginated call."""

        def run() -> list[Any]:
            paginator = self._client_sync(api).get_paginator(operation)
            items: list[Any] = []
            for page in paginator.paginate(**params):
                items.extend(page.get(key, []))
            return items

        return await asyncio.to_thread(run)

    async def aws_thread(self, body: Callable[[], T]) -> T:
        return await asyncio.to_thread(body)

    async def close(self) -> None:
        clients, self._aws_clients = list(self._aws_clients.values()), {}
        for client in clients:
            client.close()

    def describe_aws_error(self, error: BaseException) -> str | None:
        """One line for a botocore error, or None when it is not one."""
        if isinstance(error, AwsCredentialError):
            return f"{self.address}: {error}"
        try:
            import botocore.exceptions as errors
        except ImportError:  # pragma: no cover - boto3 is a dependency
            return None
        sso = (errors.SSOTokenLoadError, errors.UnauthorizedSSOTokenError)
        if isinstance(error, sso) or (
            isinstance(error, errors.TokenRetrievalError) and error.kwargs.get("provider") == "sso"
        ):
            profile = sso_profile(self.profile or "default")
            return (
                f"{self.address}: AWS SSO token for profile {profile} expired or missing: "
                f"run `aws sso login --profile {profile}`"
            )
        if isinstance(error, errors.CredentialRetrievalError):
            message = str(error.kwargs.get("error_msg", ""))
            if error.kwargs.get("provider") == "custom-process" and not message.startswith(
                ("Unsupported version", "Missing required key")
            ):  # the process's stderr: it may hold a key
                return f"{self.address}: a credential_process failed (its output is not shown)"
            return redact(f"{self.address}: {error}")
        if isinstance(error, errors.ProxyConnectionError):
            return f"{self.address}: {proxy_refusal(error)}"
        if isinstance(error, errors.ClientError):
            info = error.response.get("Error", {})
            code = info.get("Code", "Error")
            message = info.get("Message", "")
            operation = getattr(error, "operation_name", "")
            return redact(f"{self.address}: {operation} failed: {code}: {message}".rstrip(": "))
        if isinstance(error, errors.NoCredentialsError | errors.PartialCredentialsError):
            return (
                f"{self.address}: no AWS credentials found (AWS_PROFILE, AWS_ACCESS_KEY_ID, "
                "~/.aws/credentials or an instance role)"
            )
        if isinstance(error, errors.NoRegionError):
            return f"{self.address}: no region (set options.region or AWS_REGION)"
        if isinstance(error, errors.ProfileNotFound):
            return f"{self.address}: {error}"
        if isinstance(error, errors.ConnectTimeoutError | errors.ReadTimeoutError):
            return f"{self.address}: no answer within {self.timeout:g}s"
        if isinstance(error, errors.EndpointConnectionError):
            return f"{self.address}: cannot connect to {error.kwargs.get('endpoint_url', '?')}"
        if isinstance(error, errors.BotoCoreError):
            return redact(f"{self.address}: {error}")
        return None


def sso_profile(profile: str) -> str:
    """The profile that holds the SSO settings `profile` gets its credentials from: itself, or
    the `source_profile` its role is assumed with (and so on), as `aws sso login` wants it."""
    config_file, _ = aws_config_files()
    parser = configparser.RawConfigParser(default_section="\0no-defaults")
    try:
        parser.read_string(config_file.read_text(encoding="utf-8"))
    except (OSError, configparser.Error):
        return profile
    seen: set[str] = set()
    current = profile
    while current not in seen:
        seen.add(current)
        section = current if current == "default" else f"profile {current}"
        if not parser.has_section(section):
            break
        if parser.has_option(section, "sso_session") or parser.has_option(section, "sso_start_url"):
            return current
        source = parser.get(section, "source_profile", fallback="").strip()
        if not source:
            break
        current = source
    return profile


def proxy_refusal(error: Any) -> str:
    """The line for botocore's ProxyConnectionError: which proxy, from which variable."""
    used = Proxy.named(str(error.kwargs.get("proxy_url", "")), "the environment")
    for name in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
        value = os.environ.get(name, "").strip()
        if value and Proxy.named(value, name).shown == used.shown:
            used = Proxy.named(value, name)
            break
    if "refused" in str(error.kwargs.get("error", "")).lower():
        return used.refused()
    return f"cannot connect to proxy {used.shown} (from {used.variable})"
