"""Host plumbing of the private docker engine (``tests.servers.docker_engine``): ``ip``
commands, a free /24 for its bridge, and reaping what is left of an engine (its processes,
mounts, bridge and cgroups).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import random
import signal
import subprocess
import time
from pathlib import Path

from .process import ServerStartError


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise ServerStartError(f"ip {' '.join(args)} failed: {result.stderr.strip()}")
    return result


def used_networks() -> list[ipaddress.IPv4Network]:
    """Every IPv4 prefix this machine routes or has an address in (the default route aside)."""
    prefixes = []
    for line in ip("-4", "route", "show", "table", "all", check=False).stdout.splitlines():
        words = line.split()
        if words and words[0] in ("broadcast", "local", "unreachable", "prohibit", "blackhole"):
            words = words[1:]
        if words:
            prefixes.append(words[0])
    for line in ip("-4", "-o", "addr", check=False).stdout.splitlines():
        words = line.split()
        if "inet" in words[:-1]:
            prefixes.append(words[words.index("inet") + 1])
    used = []
    for prefix in prefixes:
        with contextlib.suppress(ValueError):  # "default" and the like
            used.append(ipaddress.IPv4Network(prefix, strict=False))
    return used


def free_network() -> ipaddress.IPv4Network:
    """A /24 in 172.31.0.0/16 that no route or address on this machine overlaps."""
    used = used_networks()
    candidates = list(range(256))
    random.shuffle(candidates)
    for third in candidates:
        network = ipaddress.IPv4Network(f"172.31.{third}.0/24")
        if not any(network.overlaps(other) for other in used if other.prefixlen > 0):
            return network
    raise ServerStartError("no free /24 in 172.31.0.0/16 for the test engine's bridge")


def processes_using(root: Path, cgroup_parent: str) -> list[int]:
    """Pids of an engine: their command line names ``root`` (dockerd, containerd, shims,
    docker-proxy) or they run in its cgroup parent (the containers' own processes)."""
    needle = str(root).encode()
    cgroup = f"/{cgroup_parent}/".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            cgroups = (entry / "cgroup").read_bytes()
        except OSError:
            continue
        if needle in cmdline or cgroup in cgroups:
            found.append(int(entry.name))
    return found


def mounts_under(root: Path) -> list[str]:
    mounts = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            point = line.split()[4].encode().decode("unicode_escape")
            if point == str(root) or point.startswith(f"{root}/"):
                mounts.append(point)
    return mounts


def reap(root: Path, bridge: str, cgroup_parent: str) -> None:
    """Kill what is left of an engine under ``root``, unmount, drop its bridge and cgroups."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = processes_using(root, cgroup_parent)
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 5
        while processes_using(root, cgroup_parent) and time.monotonic() < deadline:
            time.sleep(0.1)
    for point in sorted(mounts_under(root), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True, check=False)
    if Path(f"/sys/class/net/{bridge}").exists():
        ip("link", "del", bridge, check=False)
    # The cgroup parent sits at the top of each hierarchy, or under the cgroup this sandbox
    # runs in (the memory hierarchy here). Container cgroups go first, then the parent.
    for pattern in (cgroup_parent, f"*/{cgroup_parent}", f"*/*/{cgroup_parent}"):
        for parent in Path("/sys/fs/cgroup").glob(f"*/{pattern}"):
            children = sorted(parent.glob("**/"), key=lambda path: len(path.parts))
            for child in reversed(children):
                with contextlib.suppress(OSError):
                    child.rmdir()
