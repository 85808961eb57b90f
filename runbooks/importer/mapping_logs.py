"""Rules for commands that read logs: `docker compose logs`, `docker logs`, `kubectl logs`,
`aws logs tail / filter-log-events`, each usually piped through `grep`.

They become the log search checks: the window (`--tail N`, `--since 1h`) and the pattern
(`| grep -i "error\\|exception"`, several greps in a row meaning all of them) are read from the
command; `-f`/`--follow` is dropped, because a check reads a bounded window and never follows.
"""

from __future__ import annotations

import re

from runbooks.importer.commands import Command, tokenize
from runbooks.importer.ruletypes import Arg, Extractor, Rule, found, option

LOG_RULES: list[Rule] = [
    Rule(
        "compose",
        r"\blogs\b",
        "compose.log_search",
        args=("service", "log_pattern", "log_lines", "log_since"),
    ),
    Rule(
        "docker",
        r"^docker\s+(?:container\s+)?logs\b",
        "compose.log_search",
        args=("log_container", "log_pattern", "log_lines", "log_since"),
    ),
    Rule(
        "kubectl",
        r"\blogs\b",
        "k8s.log_search",
        args=(
            "namespace",
            "selector",
            "pod",
            "log_container_k8s",
            "log_previous",
            "log_pattern",
            "log_lines",
            "log_since",
        ),
    ),
    Rule(
        "aws",
        r"^aws\s+logs\s+(?:tail|filter-log-events|get-log-events)\b",
        "cloudwatch.log_search",
        args=("log_group", "stream_prefix", "filter_pattern", "log_pattern", "log_since"),
    ),
]
LOG_NO_CHECK: list[tuple[str, str, str]] = [
    ("aws", r"^aws\s+logs\s+describe-", "lists log groups or streams; no check lists them"),
]

_GREP_VALUED = {"-A", "-B", "-C", "-m", "--max-count", "--context", "-f", "--file"}


def _grep_segments(text: str) -> list[list[str]]:
    """The words of each `grep` a command's output is piped through."""
    flat = re.sub(r"[\\`]\n", " ", text)
    segments: list[list[str]] = [[]]
    for token in tokenize(flat):
        if token.value in {"|", "&&", ";", "||"}:
            segments.append([])
        else:
            segments[-1].append(token.value)
    return [words for words in segments[1:] if words[:1] in (["grep"], ["egrep"])]


def _bre_to_python(pattern: str) -> str:
    """A basic (grep without -E) regular expression as Python reads it: `\\|` alternates,
    `\\(`/`\\)` group, and bare `|`, `(`, `)`, `+`, `?`, `{` are literal characters."""
    out, index = [], 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            following = pattern[index + 1]
            out.append(following if following in "|()+?{}" else char + following)
            index += 2
            continue
        out.append("\\" + char if char in "|()+?{}" else char)
        index += 1
    return "".join(out)


def _one_grep(words: list[str]) -> str | None:
    """One grep's pattern as a Python regular expression, or None when it cannot be said."""
    extended = words[0] == "egrep"
    patterns: list[str] = []
    invert = whole_word = fixed = False
    index = 1
    while index < len(words):
        word = words[index]
        if word in {"-e", "--regexp"} and index + 1 < len(words):
            patterns.append(words[index + 1])
            index += 2
            continue
        if word in _GREP_VALUED:
            index += 2
            continue
        if word.startswith("--"):
            extended |= word == "--extended-regexp"
            invert |= word == "--invert-match"
        elif word.startswith("-") and len(word) > 1:
            extended |= "E" in word
            invert |= "v" in word
            whole_word |= "w" in word
            fixed |= "F" in word
        elif not patterns:
            patterns.append(word)
        else:
            return None  # grep PATTERN FILE: reads a file, not the logs
        index += 1
    if not patterns or any("$" in p and not p.endswith("$") for p in patterns):
        return None  # a shell variable: not a pattern the guide gives
    parts = [re.escape(p) if fixed else (p if extended else _bre_to_python(p)) for p in patterns]
    joined = "|".join(parts)
    if whole_word:
        joined = rf"\b(?:{joined})\b"
    return f"^(?!.*(?:{joined}))" if invert else joined


def log_pattern(command: Command) -> Arg | None:
    """The pattern of the greps the logs are piped through; several greps: all must match."""
    greps = [_one_grep(words) for words in _grep_segments(command.text)]
    if not greps or any(pattern is None for pattern in greps):
        return None
    if len(greps) == 1:
        return Arg(greps[0])
    return Arg("".join(f"(?=.*(?:{pattern}))" for pattern in greps))


def _lines(command: Command) -> Arg | None:
    names = ("--tail", "--lines") if command.tool == "kubectl" else ("--tail", "-n", "--lines")
    value = option(command.words, *names)
    return Arg(int(value)) if value and value.isdigit() else None


def _since(command: Command) -> Arg | None:
    value = option(command.words, "--since")
    if value and re.fullmatch(r"\d+(?:\.\d+)?[smhd]?", value):
        return Arg(value)
    return None


def _docker_logs_container(command: Command) -> Arg | None:
    """The container of `docker logs [-f] [--tail N] NAME`."""
    words = command.words[1:]
    words = words[1:] if words[:1] == ["container"] else words
    index = 1
    while index < len(words):
        word = words[index]
        if word in {"|", "&&", ";", ">", "||"}:
            return None
        if word in {"--tail", "-n", "--since", "--until"}:
            index += 2
            continue
        if not word.startswith("-"):
            return found(word, "container")
        index += 1
    return None


def _aws_group(command: Command) -> Arg | None:
    words = command.words
    if words[2:3] == ["tail"]:
        positional = [w for w in words[3:] if not w.startswith("-")]
        named = positional[0] if positional and not words[3].startswith("-") else None
        return found(named, "log_group")
    return found(option(words, "--log-group-name"), "log_group")


LOG_EXTRACTORS: dict[str, Extractor] = {
    "log_pattern": log_pattern,
    "log_lines": _lines,
    "log_since": _since,
    "log_container": _docker_logs_container,
    "log_container_k8s": lambda c: found(option(c.words, "-c", "--container"), "container"),
    "log_group": _aws_group,
    "log_previous": lambda c: Arg(True) if {"--previous", "-p"} & set(c.words) else None,
    "stream_prefix": lambda c: found(
        option(c.words, "--log-stream-name-prefix", "--log-stream-names"), "stream_prefix"
    ),
    "filter_pattern": lambda c: Arg(v) if (v := option(c.words, "--filter-pattern")) else None,
}
# Check parameters named differently from their extractor.
LOG_ARG_NAMES = {
    "log_pattern": "pattern",
    "log_lines": "lines",
    "log_since": "since",
    "log_container": "container",
    "log_container_k8s": "container",
    "log_previous": "previous",
    "log_group": "group",
}
