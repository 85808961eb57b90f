"""A kubeconfig user's exec credential plugin (`aws eks get-token`, `gke-gcloud-auth-plugin`).

The plugin is run when a request needs a token, and its token is used until the
`expirationTimestamp` the plugin gave (none: until the API server refuses it), then it is run
again; a token the API server answers 401 to is dropped, and the request is sent once more with
a new one. That is what kubectl does, so a session that outlives a 15-minute EKS token goes on.

The kubernetes client can run exec plugins itself, but not in a way a TUI can live with: when
stdout is a terminal it hands the plugin the terminal (the plugin would read the operator's keys
and write over the screen), it gives the plugin no time limit, and it renews a token five
minutes before its end, so a token that lives less than that costs a plugin run per request.
Here the plugin runs without a terminal (`spec.interactive` false), within a time limit, once
for all the threads that need a token at the same moment, and what goes wrong is one line that
names the kubeconfig user and the command, never the plugin's standard output (the token).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from providers.redact import redact

STDERR_SHOWN = 200  # characters of the plugin's last stderr line shown with its exit status
FAILURE_KEPT = 5.0  # seconds a failed run answers for the plugin before it is run again

# kubeconfig cluster fields -> ExecCredential spec.cluster fields (provideClusterInfo).
_CLUSTER_FIELDS = {
    "server": "server",
    "tls-server-name": "tlsServerName",
    "insecure-skip-tls-verify": "insecureSkipTLSVerify",
    "certificate-authority-data": "certificateAuthorityData",
    "proxy-url": "proxyURL",
    "disable-compression": "disableCompression",
}


class ExecPluginError(Exception):
    """The exec plugin could not give a token; the message is the line to show."""


@dataclass(frozen=True, slots=True)
class ExecPlugin:
    """The `exec` section of one kubeconfig user."""

    user: str
    command: str
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    api_version: str = "client.authentication.k8s.io/v1beta1"
    directory: str = ""  # the kubeconfig's folder: a relative command is found from there
    cluster: Mapping[str, Any] | None = None  # spec.cluster, when provideClusterInfo is set

    @classmethod
    def from_kubeconfig(
        cls, user: str, section: Mapping[str, Any], directory: str, cluster: Mapping[str, Any]
    ) -> ExecPlugin:
        """From a user's `exec` mapping; ValueError naming the user when it is unusable."""
        command = section.get("command")
        if not isinstance(command, str) or not command:
            raise ValueError(f"kubeconfig user {user}: exec has no command")
        api_version = section.get("apiVersion")
        if not isinstance(api_version, str) or not api_version:
            raise ValueError(f"kubeconfig user {user}: exec has no apiVersion")
        env = {
            str(item.get("name")): str(item.get("value", ""))
            for item in section.get("env") or []
            if isinstance(item, Mapping) and item.get("name")
        }
        info = None
        if section.get("provideClusterInfo"):
            info = {
                spec: cluster[name] for name, spec in _CLUSTER_FIELDS.items() if name in cluster
            }
            for extension in cluster.get("extensions") or []:
                if extension.get("name") == "client.authentication.k8s.io/exec":
                    info["config"] = extension.get("extension")
        return cls(
            user=user,
            command=command,
            args=tuple(str(arg) for arg in section.get("args") or []),
            env=env,
            api_version=api_version,
            directory=directory,
            cluster=info,
        )

    def executable(self) -> str:
        """The program to run; ExecPluginError when it is not there."""
        environment = {**os.environ, **self.env}
        if os.sep in self.command:
            path = Path(self.directory or ".", self.command)
            if not path.exists():
                raise ExecPluginError(
                    f"kubeconfig user {self.user} runs `{self.command}` (exec plugin) which does "
                    "not exist: install it or fix the kubeconfig"
                )
            return str(path)
        found = shutil.which(self.command, path=environment.get("PATH", os.defpath))
        if found is None:
            raise ExecPluginError(
                f"kubeconfig user {self.user} runs `{self.command}` (exec plugin) which is not "
                "on PATH: install it or fix the kubeconfig"
            )
        return found

    def run(self, limit: float) -> tuple[str, float | None]:
        """(token, when it expires as a Unix time, or None), from one run of the plugin."""
        spec: dict[str, Any] = {"interactive": False}
        if self.cluster is not None:
            spec["cluster"] = dict(self.cluster)
        info = {"apiVersion": self.api_version, "kind": "ExecCredential", "spec": spec}
        environment = {**os.environ, **self.env, "KUBERNETES_EXEC_INFO": json.dumps(info)}
        name = f"kubeconfig user {self.user}: exec plugin `{self.command}`"
        try:
            done = subprocess.run(
                [self.executable(), *self.args],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                cwd=self.directory or None,
                env=environment,
                timeout=limit,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ExecPluginError(f"{name} gave no token within {limit:g}s") from None
        except PermissionError:
            raise ExecPluginError(f"{name} cannot be run (permission denied)") from None
        except OSError as error:
            raise ExecPluginError(f"{name} cannot be run ({error.strerror or error})") from None
        if done.returncode != 0:
            lines = done.stderr.decode("utf-8", errors="replace").strip().splitlines()
            said = redact(lines[-1].strip())[:STDERR_SHOWN] if lines else ""
            raise ExecPluginError(
                f"{name} exited with status {done.returncode}" + (f": {said}" if said else "")
            )
        return self._read(done.stdout, name)

    def _read(self, stdout: bytes, name: str) -> tuple[str, float | None]:
        try:
            credential = json.loads(stdout)
        except ValueError:
            credential = None
        status = credential.get("status") if isinstance(credential, dict) else None
        if not isinstance(status, dict):
            raise ExecPluginError(f"{name} printed no ExecCredential (JSON with a status)")
        token = status.get("token")
        if not isinstance(token, str) or not token:
            if status.get("clientCertificateData"):
                raise ExecPluginError(
                    f"{name} gives a client certificate, not a token: triage uses tokens only"
                )
            raise ExecPluginError(f"{name} gave an ExecCredential without a token")
        expires = status.get("expirationTimestamp")
        if not expires:
            return token, None
        try:
            return token, datetime.fromisoformat(str(expires).replace("Z", "+00:00")).timestamp()
        except ValueError:
            raise ExecPluginError(
                f"{name} gave an expirationTimestamp that is not a time: {str(expires)[:40]!r}"
            ) from None


class ExecCredentials:
    """The bearer token of one exec plugin, shared by every thread of one API client.

    `header()` gives `Bearer <token>`, running the plugin when there is no token or it expired;
    threads that ask while it runs wait for that run. A failure is kept for `FAILURE_KEPT`
    seconds: the twenty requests of a sweep share one failing run, and the sweep after the
    operator fixed it (installed the plugin, signed in again) runs it anew. `refused(header)`
    drops a token the API server answered 401 to.
    """

    def __init__(self, plugin: ExecPlugin, limit: float) -> None:
        self.plugin = plugin
        self.limit = limit
        self._lock = threading.Lock()
        self._header = ""
        self._expires: float | None = None
        self._failure = ""
        self._failed_at = 0.0

    def header(self) -> str:
        with self._lock:
            if self._header and (self._expires is None or time.time() < self._expires):
                return self._header
            if self._failure and time.monotonic() < self._failed_at + FAILURE_KEPT:
                raise ExecPluginError(self._failure)
            try:
                token, self._expires = self.plugin.run(self.limit)
            except ExecPluginError as error:
                self._header, self._failure = "", str(error)
                self._failed_at = time.monotonic()
                raise
            self._header, self._failure = f"Bearer {token}", ""
            return self._header

    def refused(self, header: str) -> None:
        """The API server answered 401 to `header`: unless another thread renewed it already,
        the next request runs the plugin for a new token."""
        with self._lock:
            if header == self._header:
                self._header = ""

    def set_on(self, configuration: Any) -> None:
        """Make `configuration` (the client's) ask for the token at every request: its
        `refresh_api_key_hook` runs before each request reads `api_key`."""

        def refresh(client_configuration: Any) -> None:
            client_configuration.api_key["BearerToken"] = self.header()

        configuration.api_key["BearerToken"] = ""  # so the client sends the header at all
        configuration.refresh_api_key_hook = refresh
