"""boto3 behind the async contract: one session per target, clients per service, calls in threads.

botocore (boto3's core) is imported here lazily, inside functions: importing this module costs
nothing, so the TUI watching one Redis never pays for them. The standard credential chain
applies (a profile from the target's options or `AWS_PROFILE`, `AWS_REGION`,
`AWS_ENDPOINT_URL`, instance roles); the target's options may name a region, a profile, an
endpoint URL and the number of attempts per call (retries are adaptive: they back off on
throttling). Connect and read timeouts are the target's timeout, so a dead endpoint costs that.
"""

from __future__ import annotations

import asyncio
import configparser
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from providers.redact import redact

if TYPE_CHECKING:
    from botocore.session import Session as BotocoreSession

    from providers.inventory import Target

DEFAULT_MAX_ATTEMPTS = 4
T = TypeVar("T")


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


def _new_session(profile: str | None) -> BotocoreSession:
    """A botocore session (the standard credential chain) sharing one loader of API models.

    Parsing the service models is most of what making a client costs; they never change, so
    every target's session reads them once per process.
    """
    global _LOADER
    import botocore.loaders
    import botocore.session

    with _LOADER_LOCK:
        if _LOADER is None:
            _LOADER = botocore.loaders.create_loader()
    session = botocore.session.Session(profile=profile)
    session.register_component("data_loader", _LOADER)
    return session


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

    def _aws_setup(self) -> None:
        self._aws_lock = threading.Lock()
        self._aws_session = None
        self._aws_clients = {}

    @property
    def aws_options(self) -> Mapping[str, Any]:
        return self.target.options

    @property
    def region(self) -> str:
        region = self.aws_options.get("region") or os.environ.get("AWS_REGION")
        return str(region or os.environ.get("AWS_DEFAULT_REGION") or "")

    @property
    def endpoint_url(self) -> str | None:
        endpoint = self.aws_options.get("endpoint_url") or self.target.url
        return str(endpoint) if isinstance(endpoint, str) and endpoint else None

    @property
    def address(self) -> str:
        profile = self.aws_options.get("profile") or os.environ.get("AWS_PROFILE")
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
                self._aws_session = _new_session(self.aws_options.get("profile") or None)
            attempts = int(self.aws_options.get("max_attempts", DEFAULT_MAX_ATTEMPTS))
            config = Config(
                connect_timeout=self.timeout,
                read_timeout=self.timeout,
                retries={"mode": "adaptive", "max_attempts": max(attempts, 1)},
                user_agent_extra="triage",
            )
            client = self._aws_session.create_client(
                service,
                region_name=self.region or None,
                endpoint_url=self.endpoint_url,  # None: botocore reads AWS_ENDPOINT_URL
                config=config,
            )
            self._aws_clients[service] = client
            return client

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
        try:
            import botocore.exceptions as errors
        except ImportError:  # pragma: no cover - boto3 is a dependency
            return None
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
