"""A fix's shell command: which targets it reaches, how it is filled in, what it runs with, and
whether its output says it failed.

A command runs against the target the diagnosis bound, never against what the operator's shell
happens to point at: every variable that steers a tool to a server (REDIS_URL, PG*, DOCKER_HOST,
KUBECONFIG, AWS_PROFILE, ...) is removed from what the child inherits and set from the target;
passwords go to the child's environment only (REDISCLI_AUTH, PGPASSWORD), never on its command
line or on screen.

Filling `$name` in is done here rather than with `shlex.quote` alone: a runbook's reference may
sit inside double or single quotes of a longer word (`"apikey:$key"`, `'{"url": "$hook"}'`),
and each place needs its own escaping for the value to stay one literal string.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import signal
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from providers.base import CommandTarget
from providers.contract import CommandSpec

REFERENCE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
# Variables a command may read from the operator's shell: none of them names a server.
SHELL_VARIABLES = frozenset({"HOME", "USER", "PWD", "PATH", "TMPDIR", "SHELL"})
# Programs that run another program: the one after them is the command's first real program.
_WRAPPERS = frozenset({"sudo", "env", "nohup", "time", "watch", "exec", "command"})
_OPERATORS = frozenset({"|", "||", "&", "&&", ";", ";;", "(", ")", "|&"})

# What tools print when they fail but exit 0 (redis-cli answers an error reply with exit 0),
# or what says a failure whatever the exit code. Anchored at the line's start where a tool's
# own prefix allows it, so an application's log line (`web-1  | ERROR ...`) is not taken.
_FAILURE = re.compile(
    r"^(?:\(error\) )?(?:ERR|WRONGPASS|NOAUTH|NOPERM|WRONGTYPE|READONLY|LOADING|BUSY|MISCONF|OOM"
    r"|EXECABORT|NOSCRIPT|CROSSSLOT|CLUSTERDOWN|MASTERDOWN|NOREPLICAS)\b"
    r"|^(?:ERROR|FATAL|PANIC):\s"
    r"|^[\w.-]+: (?:error|FATAL|fatal):\s"
    r"|^(?:error|Error)(?: response from daemon| from server \([A-Za-z]+\))?:\s"
    r"|^An error occurred \("
    r"|^AUTH failed: "
    r"|(?i:permission denied|access denied|not authori[sz]ed|authentication failed)"
    r"|(?i:command not found)|^sh: \d+: .*: not found$"
)


def references(template: str) -> list[str]:
    """The `$names` a command template uses, in order, each once."""
    found: list[str] = []
    for match in REFERENCE.finditer(template):
        name = match.group(1) or match.group(2)
        if name not in found:
            found.append(name)
    return found


def words(template: str) -> list[str]:
    """The command's words as the shell would split them (quotes removed), operators apart."""
    lexer = shlex.shlex(template, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        return list(lexer)
    except ValueError:  # an unbalanced quote: the words as they stand
        return template.split()


def programs(template: str) -> list[str]:
    """The programs a command runs, in order: the first word of each pipeline element, past
    `sudo`, `env` and variable assignments."""
    found: list[str] = []
    expect_program = True
    for word in words(template):
        if word in _OPERATORS:
            expect_program = True
            continue
        if not expect_program:
            continue
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", word) or word in _WRAPPERS:
            continue
        if word.startswith("-"):  # an option of a wrapper (`sudo -u postgres`)
            continue
        found.append(os.path.basename(word))
        expect_program = False
    return found


def kinds_used(template: str, specs: Mapping[str, CommandSpec]) -> list[str]:
    """The provider kinds a command reaches: by the variables it names and by the tools it runs
    anywhere in it (`xargs -n1 redis-cli` reaches Redis too), in order of first mention."""
    found: list[str] = []
    named = references(template)
    tokens = {os.path.basename(word) for word in words(template)}
    for kind, spec in specs.items():
        if any(name in spec.variables for name in named) or tokens & set(spec.tools):
            found.append(kind)
    return found


def _single_quoted(value: str) -> str:
    return value.replace("'", "'\\''")


def _double_quoted(value: str) -> str:
    return re.sub(r'([\\"$`])', r"\\\1", value)


def fill(template: str, values: Mapping[str, str]) -> str:
    """The template with each `$name` in `values` replaced by its value, quoted for where it
    stands: outside quotes as one word, inside "..." or '...' as literal text. Names not in
    `values` are left for the shell."""
    out: list[str] = []
    quote: str | None = None
    index = 0
    while index < len(template):
        char = template[index]
        if char == "\\" and quote != "'":
            out.append(template[index : index + 2])
            index += 2
            continue
        if char in "'\"" and quote in (None, char):
            quote = None if quote else char
        elif char == "$":
            match = REFERENCE.match(template, index)
            name = (match.group(1) or match.group(2)) if match else ""
            if match and name in values:
                value = str(values[name])
                if quote == "'":
                    out.append(_single_quoted(value))
                elif quote == '"':
                    out.append(_double_quoted(value))
                else:
                    out.append(shlex.quote(value))
                index = match.end()
                continue
        out.append(char)
        index += 1
    return "".join(out)


def _shadowed(name: str, shadows: Iterable[str]) -> bool:
    return any(
        name.startswith(shadow[:-1]) if shadow.endswith("*") else name == shadow
        for shadow in shadows
    )


def child_environment(
    inherited: Mapping[str, str],
    targets: Iterable[CommandTarget],
    specs: Mapping[str, CommandSpec],
) -> dict[str, str]:
    """What the command's process gets: the operator's environment without anything that points
    at a server (of any kind), then each target's variables and secrets (`{files}` in them is
    filled in when the command runs, by `run_shell`)."""
    shadows = [shadow for spec in specs.values() for shadow in spec.shadows]
    targets = list(targets)
    unset = {name for target in targets for name in target.unset}
    environment = {
        name: value
        for name, value in inherited.items()
        if not _shadowed(name, shadows) and name not in unset
    }
    for target in targets:
        environment.update(target.variables)
        environment.update(target.secrets)
    return environment


def failure_in(lines: Iterable[str]) -> str | None:
    """The first line of output that says the command failed, or None."""
    return next((line.strip() for line in lines if _FAILURE.search(line.strip())), None)


@dataclass(frozen=True, slots=True)
class ShellRun:
    """How a command ended: its exit code (None: stopped at its timeout) and its output."""

    exit_code: int | None
    output: tuple[str, ...]


async def run_shell(
    command: str,
    *,
    environment: Mapping[str, str],
    targets: Iterable[CommandTarget],
    cwd: str | None,
    timeout: float,
    keep_lines: int,
) -> ShellRun:
    """Run `command` with `environment` (`{files}` in it: a private folder holding the
    targets' files for this run, removed after), output captured, stopped at `timeout`."""
    targets = list(targets)
    with tempfile.TemporaryDirectory(prefix="triage-fix-") as folder:
        for target in targets:
            for name, text in target.files.items():
                path = Path(folder) / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
                path.chmod(0o700 if name.startswith("bin/") else 0o600)
        env = {name: value.replace("{files}", folder) for name, value in environment.items()}
        process = await asyncio.create_subprocess_shell(
            command,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            stdin=asyncio.subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,  # its own process group, so a timeout stops its children
        )
        try:
            async with asyncio.timeout(timeout):
                raw, _ = await process.communicate()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
            return ShellRun(None, ())
    lines = raw.decode("utf-8", "replace").splitlines()[-keep_lines:]
    return ShellRun(process.returncode, tuple(lines))


def shown_environment(targets: Iterable[CommandTarget]) -> str:
    """The variables a command gets, as the preview shows them: values of the non-secret ones,
    only the names of the secret ones."""
    parts: list[str] = []
    for target in targets:
        for name, value in target.variables.items():
            if name == "PATH":  # a tool of this run's own first (redis-cli --user): said in
                continue  # the target's address
            shown = value.replace("{files}/", "<this run's folder>/")
            parts.append(f"{name}={shown}")
        parts += [f"{name}=(secret, from the target)" for name in target.secrets]
    return ", ".join(parts)
