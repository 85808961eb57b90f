"""`triage report`: the redacted diagnostics bundle every guide's "Getting help" asks for.

One tar.gz: the discovered tree and statuses, every check result, the last log lines of each
failing service, versions, and a manifest. The tree and the results come redacted from the
environment; the log lines are read from the providers directly, so every file passes through
redaction once more as it is written, knowing the entities' names as the environment does.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import platform
import sys
import tarfile
import time
from collections.abc import Collection
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from providers.contract import Health, LogLine, Node
from providers.environment import LiveEnvironment
from providers.inventory import Inventory
from providers.redact import redact
from providers.text import sanitize

LOG_LINES = 200
LOG_SECONDS = 3.0
PACKAGES = (
    "triage",
    "textual",
    "redis",
    "psycopg",
    "pika",
    "httpx",
    "boto3",
    "docker",
    "kubernetes",
)


def _versions() -> dict[str, str]:
    found = {"python": sys.version.split()[0], "platform": platform.platform()}
    for package in PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


async def _last_lines(live: LiveEnvironment, node: Node) -> list[LogLine]:
    """What the node's log stream gives within a few seconds, at most LOG_LINES lines."""
    lines: list[LogLine] = []
    await live.prepare()
    stream = live.provider_for(node.id).logs(node.id)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(LOG_SECONDS):
            async for line in stream:
                lines.append(line)
                if len(lines) >= LOG_LINES:
                    break
    await stream.aclose()  # type: ignore[attr-defined]
    return lines


def _add(archive: tarfile.TarFile, name: str, text: str, names: Collection[str]) -> None:
    data = redact(text, names).encode("utf-8")
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(time.time())
    archive.addfile(info, io.BytesIO(data))


async def write_report(inventory: Inventory, environment: str | None, output: str | None) -> int:
    live = LiveEnvironment(inventory, environment)
    try:
        nodes, results = await live.check_everything()
        failing = [
            node
            for tree in nodes
            for node in tree.walk()
            if node.has_logs and node.status.health in {Health.FAILING, Health.DEGRADED}
        ]
        logs = await asyncio.gather(*(_last_lines(live, node) for node in failing))
    finally:
        await live.close()
    created = datetime.now(UTC)
    path = Path(output or f"triage-report-{created:%Y%m%dT%H%M%SZ}.tar.gz")
    files: dict[str, str] = {
        "tree.json": json.dumps([node.to_dict() for node in nodes], indent=2),
        "checks.json": json.dumps([result.to_dict() for result in results], indent=2, default=str),
        "versions.json": json.dumps(_versions(), indent=2),
    }
    for node, lines in zip(failing, logs, strict=True):
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in node.id)
        files[f"logs/{safe}.log"] = "".join(
            f"{line.time.isoformat()} {line.level} {line.source}: {sanitize(line.text)}\n"
            for line in lines
        )
    manifest = {
        "created_at": created.isoformat(),
        "environment": live.name,
        "inventory": inventory.source,
        "checks": len(results),
        "failing_nodes": [node.id for node in failing],
        "files": sorted(files),
        "redacted": True,
    }
    names = live.secret_like_names
    with tarfile.open(path, "w:gz") as archive:
        _add(archive, "manifest.json", json.dumps(manifest, indent=2), names)
        for name, text in files.items():
            _add(archive, name, text, names)
    problems = sum(result.status.value in {"fail", "error"} for result in results)
    print(
        f"wrote {path}: {len(results)} checks ({problems} failing), "
        f"{len(failing)} failing services' logs"
    )
    return 0
