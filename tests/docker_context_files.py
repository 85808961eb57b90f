"""Docker context files as `docker context create` and `docker context use` write them, in the
test's own Docker config folder ($DOCKER_CONFIG, else ~/.docker of the test's HOME)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from providers.docker_contexts import config_folder


def write_context(
    name: str, host: str, *, description: str = "", skip_tls_verify: bool = False
) -> Path:
    """contexts/meta/<sha256 of name>/meta.json naming `host` as the context's engine."""
    folder = config_folder() / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest()
    folder.mkdir(parents=True, exist_ok=True)
    meta = {
        "Name": name,
        "Metadata": {"Description": description} if description else {},
        "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": skip_tls_verify}},
    }
    path = folder / "meta.json"
    path.write_text(json.dumps(meta), encoding="utf-8")
    return path


def use_context(name: str) -> None:
    """config.json's currentContext, as `docker context use NAME` sets it."""
    folder = config_folder()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.json"
    config = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"auths": {}}
    config["currentContext"] = name
    path.write_text(json.dumps(config, indent="\t"), encoding="utf-8")
