"""Private OpenSSH servers and an ssh client set up in the test's own HOME.

- ``SSHServer``: an ``sshd`` in the foreground (``-D -e``) on a free loopback port, from a
  generated sshd_config (``-f``): a throwaway host key, the test's user key in an
  authorized_keys of its own, no PAM, no passwords, StrictModes off (the files live in /tmp).
  ``environment`` is set in its sessions with sshd's ``SetEnv``: the engine host's
  ``DOCKER_HOST``, since ``docker system dial-stdio`` (what Docker's ssh transport runs on the
  remote host) reads it.
- ``SSHClient``: ``~/.ssh`` of the test's HOME: a throwaway user key, ``known_hosts`` with the
  servers' host keys and a ``config`` of host aliases (``ProxyJump`` through a jump host).
  OpenSSH reads ``~/.ssh/config`` from the passwd database's home directory, never from
  ``$HOME``, so an ``ssh`` first on the test's PATH runs the real one with ``-F`` that file
  (which also keeps /etc/ssh/ssh_config and the machine's agent out of the test).

Fixtures: ``ssh_client`` (the client side), ``docker_over_ssh`` (a jump host and an engine
host whose sessions reach the private dockerd: ``ssh://USER@app-1`` through ``jump``).
"""

from __future__ import annotations

import contextlib
import getpass
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .docker_engine import DockerEngine
from .process import (
    ServerStartError,
    die_with_test_process,
    free_port,
    port_open,
    require_binary,
    spawn,
    stop_process,
    wait_until,
)

SSHD_CANDIDATES = ("/usr/sbin/sshd",)  # sshd re-executes itself: it needs its absolute path
INSTALL_HINT = "run `bash tests/system-deps.sh` as root (openssh-server, openssh-client)"
PRIVSEP_DIR = Path("/run/sshd")  # sshd started as root chroots its pre-auth child here


def keygen(path: Path) -> Path:
    """A new ed25519 key pair without a passphrase at `path` (and `path`.pub)."""
    binary = require_binary("ssh-keygen")
    subprocess.run(
        [binary, "-q", "-t", "ed25519", "-N", "", "-C", "triage-test", "-f", str(path)],
        check=True,
        capture_output=True,
    )
    return path


def sshd_binary() -> str:
    for candidate in SSHD_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    raise ServerStartError(f"sshd is not installed: {INSTALL_HINT}")


@dataclass
class SSHServer:
    """One private sshd; `start()` returns when it accepts connections."""

    root: Path
    authorized_keys: Path
    environment: dict[str, str] = field(default_factory=dict)
    host: str = "127.0.0.1"
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def host_key(self) -> Path:
        return self.root / "ssh_host_ed25519_key"

    @property
    def log_path(self) -> Path:
        return self.root / "sshd.log"

    def known_hosts_line(self) -> str:
        """This server's line of a known_hosts file (OpenSSH writes a port as [host]:port)."""
        kind, key = self.host_key.with_suffix(".pub").read_text().split()[:2]
        return f"[{self.host}]:{self.port} {kind} {key}"

    def start(self) -> None:
        binary = sshd_binary()
        self.root.mkdir(parents=True, exist_ok=True)
        keygen(self.host_key)
        self.port = self.port or free_port(self.host)
        if os.geteuid() == 0:
            PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)  # what the ssh service unit creates
        lines = [
            f"ListenAddress {self.host}:{self.port}",
            f"HostKey {self.host_key}",
            f"PidFile {self.root / 'sshd.pid'}",
            f"AuthorizedKeysFile {self.authorized_keys}",
            "StrictModes no",
            "UsePAM no",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PubkeyAuthentication yes",
            "PermitRootLogin prohibit-password",
            "AllowTcpForwarding yes",
            "PermitTTY no",
            "X11Forwarding no",
            "LogLevel VERBOSE",
        ]
        if self.environment:
            lines.append("SetEnv " + " ".join(f"{k}={v}" for k, v in self.environment.items()))
        config = self.root / "sshd_config"
        config.write_text("\n".join(lines) + "\n")
        self.process = spawn(
            [binary, "-D", "-e", "-f", str(config)],
            self.log_path,
            preexec_fn=die_with_test_process,
        )
        try:
            wait_until(
                lambda: port_open(self.host, self.port),
                timeout=30,
                what=f"sshd on {self.host}:{self.port}",
                log_path=self.log_path,
                process=self.process,
            )
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the listener and the sessions it forked (each runs in a session of its own)."""
        process, self.process = self.process, None
        if process is None:
            return
        sessions = descendants(process.pid)
        stop_process(process, grace=5)
        for pid in sessions:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 15)


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            parent = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, pending = [], [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


@dataclass
class SSHClient:
    """~/.ssh of the test's HOME and an `ssh` first on PATH that reads its config."""

    home: Path
    user: str = field(default_factory=getpass.getuser)
    hosts: list[str] = field(default_factory=list)  # config blocks, in order
    known: list[str] = field(default_factory=list)  # known_hosts lines

    @property
    def folder(self) -> Path:
        return self.home / ".ssh"

    @property
    def key(self) -> Path:
        return self.folder / "id_ed25519"

    @property
    def public_key(self) -> str:
        return self.key.with_suffix(".pub").read_text()

    @property
    def bin(self) -> Path:
        return self.home / "bin"

    def prepare(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        keygen(self.key)
        self.bin.mkdir(exist_ok=True)
        real = require_binary("ssh")
        shim = self.bin / "ssh"
        shim.write_text(f'#!/bin/sh\nexec {real} -F "$HOME/.ssh/config" "$@"\n')
        shim.chmod(0o755)
        monkeypatch.setenv("PATH", f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}")
        monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
        self.write()

    def authorize(self, server: SSHServer) -> None:
        """`server` accepts this client's key; call before starting it."""
        with server.authorized_keys.open("a") as keys:
            keys.write(self.public_key)

    def alias(self, name: str, server: SSHServer, *extra: str, known: bool = True) -> None:
        """`Host name` for `server`; its host key in known_hosts unless `known` is False."""
        self.hosts.append(
            "\n".join(
                [
                    f"Host {name}",
                    f"  HostName {server.host}",
                    f"  Port {server.port}",
                    f"  User {self.user}",
                    *(f"  {line}" for line in extra),
                ]
            )
        )
        if known:
            self.known.append(server.known_hosts_line())
        self.write()

    def write(self) -> None:
        common = "\n".join(
            [
                "Host *",
                f"  IdentityFile {self.key}",
                "  IdentitiesOnly yes",
                "  IdentityAgent none",
                f"  UserKnownHostsFile {self.folder / 'known_hosts'}",
                "  GlobalKnownHostsFile /dev/null",
                "  StrictHostKeyChecking yes",
            ]
        )
        (self.folder / "config").write_text("\n\n".join([*self.hosts, common]) + "\n")
        (self.folder / "known_hosts").write_text("".join(f"{line}\n" for line in self.known))


@dataclass
class DockerOverSSH:
    """An engine host (`app-1`, only reachable through `jump`) whose sessions reach the private
    dockerd, and the client's config that names both."""

    client: SSHClient
    jump: SSHServer
    engine_host: SSHServer
    engine: DockerEngine

    def url(self, alias: str = "app-1") -> str:
        return f"ssh://{self.client.user}@{alias}"


def new_server(root: Path, client: SSHClient, **environment: str) -> SSHServer:
    server = SSHServer(root=root, authorized_keys=root / "authorized_keys", environment=environment)
    root.mkdir(parents=True)
    client.authorize(server)
    return server


@pytest.fixture
def ssh_client(monkeypatch: pytest.MonkeyPatch) -> SSHClient:
    """The ssh client side in this test's HOME (no agent, no machine config)."""
    client = SSHClient(Path.home())
    client.prepare(monkeypatch)
    return client


@contextlib.contextmanager
def running(*servers: SSHServer) -> Iterator[None]:
    try:
        for server in servers:
            try:
                server.start()
            except ServerStartError as error:
                pytest.fail(f"a test sshd could not start: {error}", pytrace=False)
        yield
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def docker_over_ssh(
    ssh_client: SSHClient, docker_engine: DockerEngine, tmp_path: Path
) -> Iterator[DockerOverSSH]:
    """`ssh://USER@app-1` reaches the private dockerd through the jump host `jump`: app-1's
    sessions have DOCKER_HOST set to the engine's socket (the docker CLI is the machine's)."""
    require_binary("docker")  # dial-stdio runs it on the engine host
    jump = new_server(tmp_path / "sshd-jump", ssh_client)
    engine_host = new_server(
        tmp_path / "sshd-app-1", ssh_client, DOCKER_HOST=docker_engine.base_url
    )
    with running(jump, engine_host):
        ssh_client.alias("jump", jump)
        ssh_client.alias("app-1", engine_host, "ProxyJump jump")
        yield DockerOverSSH(ssh_client, jump, engine_host, docker_engine)
