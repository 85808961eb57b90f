"""A private Docker engine (dockerd + its own containerd) for the tests, with a test image.

dockerd runs as root with everything of its own under one fresh directory in /tmp: data root,
exec root (where its containerd lives), pidfile, unix socket and daemon.json (so the system's
/etc/docker/daemon.json and key.json are neither read nor written). Containers attach to a
bridge of our own (a unique name and a free /24), with ``--iptables=false``,
``--ip-masq=false`` and ``--ip-forward=false``: the engine touches no global firewall rule or
sysctl, so two test runs can have an engine each. Published ports still work, through the
userland proxy (docker-proxy listens on the host port), so "port already in use" is real.
Containers have no route off the machine, which is what the tests want.

No registry is reachable, so the test image is made here: the statically linked busybox from
Debian's busybox-static, with applet symlinks, imported with ``docker import``.
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import json
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import docker
import docker.errors

from .docker_host import free_network, ip, reap
from .process import ServerStartError, die_with_test_process, log_tail, spawn, wait_until

TEST_IMAGE = "triage-test/busybox:latest"
TEST_IMAGE_LABEL = "triage.test"
ROOT_PREFIX = "triage-docker-"
BRIDGE_PREFIX = "trdk"
DOCKERD_CANDIDATES = ("/usr/sbin/dockerd", "/usr/bin/dockerd")
INSTALL_HINT = (
    "run `bash tests/system-deps.sh` as root to install docker.io, busybox-static "
    "and the other packages the tests need"
)
BUSYBOX_APPLETS = (
    "sh", "ash", "echo", "printf", "sleep", "cat", "ls", "env", "true", "false", "test", "[",
    "kill", "ps", "date", "head", "tail", "grep", "sed", "mkdir", "rm", "touch", "hostname",
    "id", "seq", "yes", "timeout", "nc", "httpd", "wget", "wc", "uname", "sync", "top",
)  # fmt: skip


def dockerd_binary() -> str:
    """dockerd, or a failure that says how to install it: a missing engine is never a skip."""
    for candidate in (*DOCKERD_CANDIDATES, shutil.which("dockerd")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise ServerStartError(f"dockerd is not installed: {INSTALL_HINT}")


def busybox_binary() -> Path:
    for candidate in ("/bin/busybox", "/usr/bin/busybox"):
        path = Path(candidate)
        if path.is_file() and _is_static(path):
            return path
    raise ServerStartError(f"no statically linked busybox (busybox-static): {INSTALL_HINT}")


def _is_static(path: Path) -> bool:
    """An ELF without a PT_INTERP program header runs in an empty rootfs."""
    data = path.read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2:  # 64-bit only: what Debian amd64/arm64 ship
        return False
    order: Literal["little", "big"] = "little" if data[5] == 1 else "big"
    phoff = int.from_bytes(data[0x20:0x28], order)
    phentsize = int.from_bytes(data[0x36:0x38], order)
    phnum = int.from_bytes(data[0x38:0x3A], order)
    for index in range(phnum):
        start = phoff + index * phentsize
        if int.from_bytes(data[start : start + 4], order) == 3:  # PT_INTERP
            return False
    return True


def busybox_rootfs_tar() -> bytes:
    """A tar of a minimal rootfs: /bin/busybox, applet symlinks, /etc/passwd, /tmp."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:

        def directory(name: str, mode: int = 0o755) -> None:
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE
            info.mode = mode
            tar.addfile(info)

        def regular(name: str, content: bytes, mode: int = 0o644) -> None:
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mode = mode
            tar.addfile(info, io.BytesIO(content))

        for name in ("bin", "etc", "proc", "sys", "dev", "root", "var", "usr", "usr/bin"):
            directory(name)
        directory("tmp", 0o1777)
        regular("bin/busybox", busybox_binary().read_bytes(), 0o755)
        for applet in BUSYBOX_APPLETS:
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type = tarfile.SYMTYPE
            link.linkname = "busybox"
            tar.addfile(link)
        regular("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\n")
        regular("etc/group", b"root:x:0:\nnogroup:x:65534:\n")
    return buffer.getvalue()


@dataclass
class DockerEngine:
    root: Path
    bridge: str
    network: ipaddress.IPv4Network
    image: str = TEST_IMAGE
    process: subprocess.Popen[bytes] | None = None
    storage_driver: str = ""

    # -- addresses -----------------------------------------------------------------------------

    @property
    def socket_path(self) -> Path:
        return self.root / "docker.sock"

    @property
    def base_url(self) -> str:
        return f"unix://{self.socket_path}"

    @property
    def log_path(self) -> Path:
        return self.root / "dockerd.log"

    @property
    def gateway(self) -> str:
        """The host's address on the engine's bridge (where containers see the host)."""
        return str(next(self.network.hosts()))

    @property
    def cgroup_parent(self) -> str:
        return f"triage-{self.bridge}"

    def env(self) -> dict[str, str]:
        """Environment for the docker CLI (``DOCKER_HOST``) aimed at this engine."""
        return {**os.environ, "DOCKER_HOST": self.base_url}

    # -- clients -------------------------------------------------------------------------------

    def client(self, timeout: int = 60) -> docker.DockerClient:
        return docker.DockerClient(base_url=self.base_url, timeout=timeout)

    def api(self, timeout: int = 60) -> docker.APIClient:
        return docker.APIClient(base_url=self.base_url, timeout=timeout)

    def run(self, command: str | list[str] | None = None, **kwargs: Any) -> Any:
        """``containers.run(image, command, ...)``: the test image and detached by default.

        Returns the Container (or its output with ``detach=False``). ``cleanup()`` removes it.
        """
        image = kwargs.pop("image", self.image)
        kwargs.setdefault("detach", True)
        labels = dict(kwargs.pop("labels", None) or {})
        labels.setdefault(TEST_IMAGE_LABEL, "1")
        with contextlib.closing(self.client()) as client:
            return client.containers.run(image, command, labels=labels, **kwargs)

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        binary = dockerd_binary()
        busybox_binary()  # fail early, with the install hint, before starting anything
        (self.root / "owner.pid").write_text(str(os.getpid()))
        (self.root / "bridge").write_text(self.bridge)
        config = self.root / "daemon.json"
        config.write_text(json.dumps({"deprecated-key-path": str(self.root / "key.json")}))
        ip("link", "add", "name", self.bridge, "type", "bridge")
        ip("addr", "add", f"{self.gateway}/{self.network.prefixlen}", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")
        self.process = spawn(
            [
                binary,
                "--config-file", str(config),
                "--data-root", str(self.root / "data"),
                "--exec-root", str(self.root / "exec"),
                "--pidfile", str(self.root / "dockerd.pid"),
                "--host", self.base_url,
                "--bridge", self.bridge,
                "--iptables=false",
                "--ip6tables=false",
                "--ip-masq=false",
                "--ip-forward=false",
                "--userland-proxy=true",
                "--userland-proxy-path", shutil.which("docker-proxy") or "/usr/sbin/docker-proxy",
                "--cgroup-parent", self.cgroup_parent,
                "--shutdown-timeout", "2",
            ],
            self.log_path,
            cwd=self.root,
            preexec_fn=die_with_test_process,
        )  # fmt: skip
        try:
            wait_until(
                self._answers,
                timeout=60,
                what=f"dockerd on {self.base_url}",
                log_path=self.log_path,
                process=self.process,
            )
            with contextlib.closing(self.client()) as client:
                self.storage_driver = str(client.info().get("Driver", ""))
            self.import_test_image()
        except BaseException:
            self.stop()
            raise

    def _answers(self) -> bool:
        if not self.socket_path.exists():
            return False
        try:
            with contextlib.closing(self.client(timeout=2)) as client:
                return bool(client.ping())
        except (docker.errors.DockerException, OSError):
            return False

    def import_test_image(self) -> None:
        repository, tag = self.image.rsplit(":", 1)
        api = self.api()
        try:
            api.import_image_from_data(
                busybox_rootfs_tar(),
                repository=repository,
                tag=tag,
                changes=['CMD ["/bin/sh"]'],
            )
            api.inspect_image(self.image)  # raises when the import did not take
        finally:
            api.close()

    def cleanup(self) -> None:
        """Remove every container, non-default network and volume (the engine is ours alone)."""
        with contextlib.closing(self.client()) as client:
            for container in client.containers.list(all=True):
                with contextlib.suppress(docker.errors.NotFound):
                    container.remove(force=True, v=True)
            for network in client.networks.list():
                if network.name not in ("bridge", "host", "none"):
                    with contextlib.suppress(docker.errors.APIError):
                        network.remove()
            with contextlib.suppress(docker.errors.APIError):
                client.volumes.prune()

    def stop(self) -> None:
        """Remove containers, SIGTERM dockerd and wait; nothing of the engine may survive."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            with contextlib.suppress(Exception):
                self.cleanup()
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                process.wait(timeout=10)
        reap(self.root, self.bridge, self.cgroup_parent)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        return log_tail(self.log_path, lines=200)


def reap_stale_engines() -> None:
    """Clean up engines whose pytest died without teardown (its pid is gone)."""
    for root in Path("/tmp").glob(f"{ROOT_PREFIX}*"):
        try:
            owner = int((root / "owner.pid").read_text())
            bridge = (root / "bridge").read_text().strip()
        except (OSError, ValueError):
            continue
        if Path(f"/proc/{owner}").exists():
            continue
        reap(root, bridge, f"triage-{bridge}")
        shutil.rmtree(root, ignore_errors=True)


_counter = 0


@contextlib.contextmanager
def start_docker_engine() -> Iterator[DockerEngine]:
    """Start a private dockerd with the test image imported; always stopped and removed."""
    global _counter
    reap_stale_engines()
    _counter += 1
    root = Path(tempfile.mkdtemp(prefix=ROOT_PREFIX, dir="/tmp"))
    engine = DockerEngine(
        root=root,
        bridge=f"{BRIDGE_PREFIX}{os.getpid():x}-{_counter:x}",
        network=free_network(),
    )
    try:
        engine.start()
        yield engine
    finally:
        engine.remove()
