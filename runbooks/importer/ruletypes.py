"""What a mapping rule is made of, shared by the rule tables of each provider family.

A `Rule` is data: the command family it applies to, a regular expression on the command, the
check or action it becomes (and further checks the same command shows, `also`), and the names
of the extractors that read parameters from the command. `expose` names parameters the runbook
should show with the check's default when the command does not hold them (a port that matters).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from runbooks.importer.commands import Command


@dataclass(frozen=True)
class Arg:
    """A value for a check parameter: a runbook parameter (`param` is its base name) or literal.

    `fill`, when set, describes a parameter the operator must fill: the command does not hold
    its value, so it becomes a required runbook parameter with no default.
    """

    value: Any
    param: str | None = None
    fill: str = ""
    described: str = ""  # the runbook parameter's description, when not "from the guide"


@dataclass(frozen=True)
class Rule:
    tool: str  # Command.tool: redis, sql, psql, rabbitmq, curl, url, net, compose, docker, ...
    match: str  # searched, case-insensitively, in `subject(command)`
    check: str = ""
    action: str = ""
    args: tuple[str, ...] = ()  # names of EXTRACTORS
    also: tuple[str, ...] = ()  # further checks the same command shows
    expose: tuple[str, ...] = ()  # parameters shown with the check's default when not found

    @property
    def name(self) -> str:
        return self.check or self.action

    @property
    def provider(self) -> str:
        return self.name.split(".")[0]


Extractor = Callable[[Command], Arg | None]


def option(words: list[str], *names: str) -> str | None:
    """The value after an option (`-n ns`, `--namespace ns`, `--namespace=ns`)."""
    for index, word in enumerate(words):
        for name in names:
            if word == name and index + 1 < len(words):
                return words[index + 1]
            if word.startswith(f"{name}=") and name.startswith("--"):
                return word.split("=", 1)[1]
    return None


def found(value: str | None, param: str) -> Arg | None:
    """A value read from a command as a runbook parameter; shell variables and placeholders
    in it are kept (they become parameters to fill); `{}` (xargs) and globs are not values."""
    if not value or value in {"{}", "-"} or "*" in value:
        return None
    return Arg(value, param)
