"""A Docker engine over ssh, reached as the docker CLI reaches it: each connection is
`ssh [-l USER] [-p PORT] -- HOST docker system dial-stdio` through the system ssh client, so the
operator's ~/.ssh/config (ProxyJump, IdentityFile, ControlMaster), agent and known_hosts apply.

The ssh process's standard input and output are one end of a socket pair and the HTTP
connection holds the other: a real socket, so the client's timeouts, urllib3's check for a
dropped connection and the cancelling of a followed log (a shutdown from another thread) work
as on the local socket. ssh runs in batch mode, in a session of its own: it never asks anything
on the terminal (the TUI owns it) and Ctrl-C is not its. What it writes on stderr is kept, and
a connection that ssh ended says why in one line (`SSHFailure`).

The docker SDK's own ssh transport (`use_ssh_client=True`) is not used: it needs paramiko
imported even to shell out, lets ssh write and ask on the terminal, reads ssh's pipe with no
timeout, cannot cancel a followed stream, and starts an ssh for each request.

Only the standard library is imported here; the urllib3, requests and docker classes are made
on the first ssh client (`_transport`), in the thread that makes it, so that importing this
module (from compose_provider, on the caller's thread) costs nothing.
"""

from __future__ import annotations

import contextlib
import functools
import math
import shutil
import socket
import subprocess
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from docker import DockerClient

REMOTE_COMMAND = ("docker", "system", "dial-stdio")
BASE_URL = "http://docker-over-ssh:2375"  # what requests sees; the adapter mounted on it dials ssh
ENDED_WITHIN = 5.0  # seconds for an ssh whose socket closed to exit and say why
NO_SSH = "no `ssh` client on PATH: install OpenSSH's client (apt-get install openssh-client)"


class SSHFailure(Exception):
    """ssh did not reach the engine: one line saying why and what to run.

    Not an OSError, so urllib3 and requests pass it on as it is instead of wrapping it."""


@dataclass(frozen=True, slots=True)
class SSHDestination:
    """`ssh://[USER@]HOST[:PORT]`, as the docker CLI takes it (no path, no password)."""

    host: str
    user: str = ""
    port: int | None = None

    @classmethod
    def parse(cls, url: str) -> SSHDestination:
        """The parts of `url`; a ValueError that does not repeat it (it may hold a password)."""
        parts = urlsplit(url)
        if parts.scheme != "ssh" or not parts.hostname:
            raise ValueError("not an ssh://[USER@]HOST[:PORT] address")
        if parts.password is not None:
            raise ValueError("a password in an ssh address is not supported: use a key")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError("an ssh address is ssh://[USER@]HOST[:PORT], nothing after the host")
        return cls(parts.hostname, parts.username or "", parts.port)

    def login(self) -> str:
        """What to type after `ssh` to log in as triage does: `-p 2222 ops@app-1`."""
        port = f"-p {self.port} " if self.port else ""
        return f"{port}{self.user + '@' if self.user else ''}{self.host}"

    def command(self, ssh: str, connect_timeout: float) -> list[str]:
        command = [ssh, "-T", "-o", "BatchMode=yes"]
        command += ["-o", f"ConnectTimeout={max(1, math.ceil(connect_timeout))}"]
        if self.user:
            command += ["-l", self.user]
        if self.port:
            command += ["-p", str(self.port)]
        return [*command, "--", self.host, *REMOTE_COMMAND]


def explain(destination: SSHDestination, stderr: str, returncode: int) -> str | None:
    """Why an ssh to `docker system dial-stdio` ended, in one line; None for a clean end."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    said = [line for line in lines if not line.startswith(("Warning:", "Connection closed by"))]
    login = f"`ssh {destination.login()}`"
    for line in said:
        if "Host key verification failed" in line:
            return (
                f"Host key verification failed: run {login} once to accept its key, "
                "or add it to known_hosts"
            )
        if "REMOTE HOST IDENTIFICATION HAS CHANGED" in line:
            return (
                f"the host key of {destination.host} changed: check it, then "
                f"`ssh-keygen -R {destination.host}` and {login} to accept the new one"
            )
        if "Permission denied" in line:
            denied = line.rstrip(".")
            return f"{denied}: check the user and key with {login} (ssh-add, IdentityFile)"
        if line.startswith("ssh: ") or "Connection refused" in line or "timed out" in line:
            said_line = line if line.startswith("ssh: ") else f"ssh: {line}"
            return f"{said_line}: check the host, its sshd and any ProxyJump with {login}"
    if returncode == 127 or any("command not found" in line for line in said):
        return (
            f"{destination.host} has no `docker` command on its PATH "
            "(docker system dial-stdio runs there): install the docker CLI on it"
        )
    if said:
        return said[-1] if returncode == 255 else f"on {destination.host}: {said[-1]}"
    if returncode not in (0, -15):  # -15: our own SIGTERM when the connection closed
        return f"ssh {destination.login()} ended with exit code {returncode}"
    return None


class DialedSSH:
    """One `ssh ... docker system dial-stdio`: our end of its socket, and why it ended."""

    def __init__(self, destination: SSHDestination, connect_timeout: float) -> None:
        ssh = shutil.which("ssh")
        if ssh is None:
            raise SSHFailure(NO_SSH)
        self.destination = destination
        ours, theirs = socket.socketpair()
        try:
            self.process = subprocess.Popen(
                destination.command(ssh, connect_timeout),
                stdin=theirs.fileno(),
                stdout=theirs.fileno(),
                stderr=subprocess.PIPE,
                start_new_session=True,  # no terminal to ask on, no Ctrl-C from it
            )
        except OSError as error:
            ours.close()
            raise SSHFailure(f"cannot run {ssh}: {error.strerror}") from None
        finally:
            theirs.close()
        self.socket = ours
        self._stderr = b""
        self._ended = threading.Event()
        threading.Thread(target=self._watch, name="ssh-dial-stdio", daemon=True).start()

    def _watch(self) -> None:
        """Keep what ssh says until it exits, then reap it."""
        assert self.process.stderr is not None
        with self.process.stderr:
            self._stderr = self.process.stderr.read()
        self.process.wait()
        self._ended.set()

    def failure(self, within: float = ENDED_WITHIN) -> str | None:
        """Why ssh ended, once it has (waiting at most `within` seconds); None while it runs
        or when it ended cleanly."""
        if not self._ended.wait(within):
            return None
        text = self._stderr.decode("utf-8", errors="replace")
        return explain(self.destination, text, self.process.returncode)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.socket.close()
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.terminate()


def docker_client(
    url: str, *, timeout: float | None, connect_timeout: float, max_pool_size: int, **kwargs: Any
) -> DockerClient:
    """A DockerClient on the engine at `url` (ssh://...); blocking: without `version` in
    kwargs it asks the engine its API version, through ssh."""
    return _transport().client(
        SSHDestination.parse(url),
        timeout=timeout,
        connect_timeout=connect_timeout,
        max_pool_size=max_pool_size,
        **kwargs,
    )


@functools.cache
def _transport() -> Any:
    """The classes that plug `DialedSSH` into urllib3, requests and the docker SDK."""
    import http.client

    import docker
    import requests.adapters
    import urllib3.connection
    import urllib3.connectionpool
    from docker.constants import MINIMUM_DOCKER_API_VERSION

    class Connection(urllib3.connection.HTTPConnection):
        """An HTTP connection whose socket is an ssh's; a request that ssh's end broke
        raises `SSHFailure` with ssh's reason instead of "connection reset"."""

        def __init__(self, destination: SSHDestination, connect_timeout: float, **kw: Any):
            super().__init__("localhost", **kw)
            self.destination = destination
            self.connect_timeout = connect_timeout
            self.dialed: DialedSSH | None = None

        def connect(self) -> None:
            self.dialed = DialedSSH(self.destination, self.connect_timeout)
            self.sock = self.dialed.socket
            self.sock.settimeout(self.timeout)

        def request(self, *args: Any, **kw: Any) -> None:
            try:
                super().request(*args, **kw)
            except OSError as error:
                self._raise_why(error)

        def getresponse(self, *args: Any, **kw: Any) -> Any:
            try:
                return super().getresponse(*args, **kw)
            except (OSError, http.client.HTTPException) as error:
                self._raise_why(error)

        def _raise_why(self, error: BaseException) -> None:
            said = None
            if self.dialed is not None and not isinstance(error, TimeoutError):
                said = self.dialed.failure()
            if said:
                raise SSHFailure(said) from error
            raise error

        def close(self) -> None:
            super().close()
            if self.dialed is not None:  # kept: http.client closes before the error is raised
                self.dialed.close()

    class Pool(urllib3.connectionpool.HTTPConnectionPool):
        def __init__(self, destination: SSHDestination, connect_timeout: float, **kw: Any):
            super().__init__("localhost", **kw)
            self.destination = destination
            self.connect_timeout = connect_timeout

        def _new_conn(self) -> Connection:
            self.num_connections += 1
            timeout = self.timeout.connect_timeout
            return Connection(self.destination, self.connect_timeout, timeout=timeout)

    class Adapter(requests.adapters.HTTPAdapter):
        """One pool of ssh connections, whatever the URL; proxies do not apply (ssh's own
        ProxyCommand or ProxyJump do)."""

        def __init__(self, pool: Pool) -> None:
            super().__init__()
            self.pool = pool

        def get_connection_with_tls_context(
            self, request: Any, verify: Any, proxies: Any = None, cert: Any = None
        ) -> Pool:
            return self.pool

        def request_url(self, request: Any, proxies: Any) -> str:
            return str(request.path_url)

        def close(self) -> None:
            super().close()
            self.pool.close()

    class Transport:
        @staticmethod
        def client(
            destination: SSHDestination,
            *,
            timeout: float | None,
            connect_timeout: float,
            max_pool_size: int,
            version: str | None = None,
            **kwargs: Any,
        ) -> DockerClient:
            client = docker.DockerClient(
                base_url=BASE_URL.replace("http", "tcp", 1),  # a placeholder, no socket
                version=version or MINIMUM_DOCKER_API_VERSION,  # not asked yet: no ssh yet
                timeout=timeout,
                max_pool_size=max_pool_size,
                **kwargs,
            )
            api = client.api
            api.proxies, api.trust_env = {}, False
            pool = Pool(destination, connect_timeout, timeout=timeout, maxsize=max_pool_size)
            api.mount(BASE_URL, Adapter(pool))
            api.base_url = BASE_URL
            if version is None:  # as the SDK does when it is given no version
                try:
                    api._version = api.version(api_version=False)["ApiVersion"]
                except BaseException:
                    client.close()
                    raise
            return client

    return Transport
