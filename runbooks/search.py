"""Where runbooks come from, and which one wins when two have the same id.

The search path, in order: the built-in library, the user's folder
(`$XDG_CONFIG_HOME/triage/runbooks/`, where `triage import` writes), the inventory's
`settings.runbook_paths` then its environment's `runbook_paths`, then each `--runbooks DIR`.
A runbook in a later folder replaces one with the same id from an earlier folder (a team's own
`redis-out-of-memory` over the built-in one); two with the same id in one folder are an error.
A folder someone named that does not exist is an error too; the user's folder may be absent.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from providers.registry import action_catalogue, check_catalogue
from providers.yamlsource import SourceError
from runbooks.loader import LIBRARY, Library, load_into, runbook_files

BUILT_IN, USER, INVENTORY, COMMAND_LINE = "built-in", "user", "inventory", "--runbooks"


@dataclass(frozen=True)
class Folder:
    """One place on the search path, and who put it there."""

    path: Path
    origin: str

    @property
    def required(self) -> bool:
        """Named by someone (not the built-in library or the user's default folder)."""
        return self.origin in (INVENTORY, COMMAND_LINE)


def user_folder() -> Path:
    """The user's own runbooks: `$XDG_CONFIG_HOME/triage/runbooks` (~/.config by default)."""
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "triage" / "runbooks"


def search_path(
    inventory_paths: Iterable[Path] = (), extra: Iterable[str | Path] = ()
) -> list[Folder]:
    """The folders runbooks are read from, in order; later ones win."""
    return [
        Folder(LIBRARY, BUILT_IN),
        Folder(user_folder(), USER),
        *(Folder(Path(path), INVENTORY) for path in inventory_paths),
        *(Folder(Path(path), COMMAND_LINE) for path in extra),
    ]


def load_search_path(folders: Sequence[Folder]) -> Library:
    """Every runbook on the search path; each error is kept and the rest still load."""
    checks, actions = check_catalogue(), action_catalogue()
    library = Library()
    for folder in folders:
        if not folder.path.exists():
            if folder.required:
                library.errors.append(
                    SourceError(str(folder.path), 0, 0, f"no such folder (from {folder.origin})")
                )
            continue
        load_into(library, runbook_files([folder.path]), checks, actions, origin=folder.origin)
    return library
