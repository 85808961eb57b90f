"""Runbook parameters out of commands: placeholders, shell variables, values worth changing.

Nothing a reader must fill in stays literal: `<rds-endpoint>`, `[service-name]`, `sg-xxx`,
`your-domain.com`, `$TASK_ARN` and `$(terraform output -raw vpc_id)` become `$name` with a
required parameter. Values found after options that name a cluster, service, namespace,
database, host, port, region ... become parameters with the found value as default. Secret
variables (`$OPENROUTER_API_KEY`) stay references to the environment, and a literal secret in an
auth header is replaced by one, so no secret from a guide ends up in a runbook; a fix command
that needs one is made a step by hand (a command reads nothing from the operator's shell).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

from providers.registry import command_catalogue
from runbooks.commands import SHELL_VARIABLES, references
from runbooks.importer.commands import substitution_name, tokenize
from runbooks.loader import PLACEHOLDER

SECRET_NAME = re.compile(r"key|token|secret|passw|credential|auth", re.IGNORECASE)
ENVIRONMENT = {
    "HOME",
    "PATH",
    "USER",
    "PWD",
    "REDIS_URL",
    "DATABASE_URL",
    "AMQP_URL",
    "AWS_REGION",
    "AWS_PROFILE",
    "AWS_ENDPOINT_URL",
    "KUBECONFIG",
    "DOCKER_HOST",
    "PGHOST",
    "PGPORT",
    "PGUSER",
    "PGDATABASE",
}
# Option -> parameter, per tool family ("*": any). The value after the option becomes `$param`.
OPTION_PARAMS: dict[str, dict[str, str]] = {
    "*": {
        "--cluster": "cluster",
        "--service": "service",
        "--services": "service",
        "--service-name": "service",
        "--region": "region",
        "--namespace": "namespace",
        "--db-cluster-identifier": "db_cluster",
        "--db-instance-identifier": "db_instance",
        "--cache-cluster-id": "cache_cluster",
        "--secret-id": "secret_id",
        "--log-group-name": "log_group",
        "--repository-name": "repository",
        "--repository-names": "repository",
        "--role-name": "role",
        "--task-definition": "task_definition",
        "--queue": "queue",
        "--vhost": "vhost",
    },
    "kubectl": {"-n": "namespace", "-l": "selector"},
    "psql": {"-d": "database", "--dbname": "database", "-h": "host", "-p": "port", "-U": "user"},
    "redis": {"-h": "host", "-p": "port", "-n": "db"},
    "rabbitmq": {"-p": "vhost"},
}
# Positional values: (tool, the word before it) -> parameter.
POSITIONAL_PARAMS: dict[tuple[str, str], str] = {
    ("rabbitmq", "purge_queue"): "queue",
    ("rabbitmq", "delete_queue"): "queue",
    ("compose", "restart"): "service",
    ("compose", "logs"): "service",
    ("compose", "stop"): "service",
    ("compose", "start"): "service",
    ("aws", "tail"): "log_group",
    ("kubectl", "deployment"): "deployment",
}
_PLACEHOLDERS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"<([A-Za-z][\w-]*)>"), "{0}"),
    (re.compile(r"\[([a-z][a-z0-9]*(?:-[a-z0-9]+)+)\]"), "{0}"),
    (re.compile(r"\b([a-z]{2,5})-x{3,}\b"), "{0}_id"),
    (re.compile(r"\byour-?(domain)\.[a-z]{2,}\b"), "{0}"),
    (re.compile(r"\byour-([a-z0-9]+(?:-[a-z0-9]+)*?)(?:-here)?\b(?![.-])"), "{0}"),
]


def param_name(text: str) -> str:
    name = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return name if re.match(r"[a-z]", name or "") else f"p_{name or 'value'}"


@dataclass
class ParamTable:
    """The parameters of one runbook, deduplicated by what they hold."""

    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    _by_value: dict[tuple[str, str], str] = field(default_factory=dict)
    _fills: set[str] = field(default_factory=set)

    def _new(self, base: str) -> str:
        name, count = base, 1
        while name in self.params:
            count += 1
            name = f"{base}_{count}"
        return name

    def value(self, base: str, value: Any, description: str) -> str:
        """A parameter holding a value found in the guide, as its default."""
        key = (base, str(value))
        if key not in self._by_value and base in self._fills:  # asked for before: now known
            self._fills.discard(base)
            self.params[base] = {"description": description, "default": value, "required": False}
            self._by_value[key] = base
        if key not in self._by_value:
            name = self._new(base)
            self.params[name] = {"description": description, "default": value, "required": False}
            self._by_value[key] = name
        return self._by_value[key]

    def placeholder(self, name: str, description: str) -> str:
        """A parameter the operator must fill: the guide has no value for it."""
        name = param_name(name)
        if name not in self.params:
            self.params[name] = {"description": description, "required": True}
        return name

    def fill(self, name: str, description: str) -> str:
        """A parameter a check needs that the command does not hold; a value found later in
        the same runbook becomes its default."""
        name = param_name(name)
        if name not in self.params:
            self.params[name] = {"description": description, "required": True}
            self._fills.add(name)
        return name

    def target(self, kind: str, description: str, key: str = "", *, required: bool = True) -> str:
        """A target parameter of `kind`; `key` tells targets of one kind apart (headers).
        Optional (`required=False`) for a target only fix commands reach, so that diagnosis
        runs without it; a check that needs the same target makes it required."""
        lookup = (f"target:{kind}", key)
        if lookup not in self._by_value:
            name = self._new(param_name(f"{kind}_{key}" if key else kind))
            self.params[name] = {"description": description, "target": kind}
            if not required:
                self.params[name]["required"] = False
            self._by_value[lookup] = name
        elif required:
            self.params[self._by_value[lookup]].pop("required", None)
        return self._by_value[lookup]


@dataclass
class Header:
    name: str
    env: str
    prefix: str = ""


def fill_placeholders(text: str, table: ParamTable) -> str:
    """`text` with every placeholder and shell variable as a `$param` or an `$ENV` reference."""
    loop_vars = set(re.findall(r"\bfor\s+([a-z_]\w*)\s+in\b", text))
    for var in loop_vars:  # bound by the loop itself: the shell's, not the runbook's
        text = re.sub(rf"\b(for\s+){var}\b", rf"\g<1>{var.upper()}", text)
        text = re.sub(rf"\$\{{?{var}\}}?\b", f"${var.upper()}", text)
    text = _substitutions(text, table)
    for pattern, template in _PLACEHOLDERS:
        text = pattern.sub(functools.partial(_placeholder, template=template, table=table), text)
    filler = "= '$" + "{}'"
    text = re.sub(r"=\s*'x{3,}'", lambda m: filler.format(table.placeholder("value", "x")), text)
    bound = {name.upper() for name in loop_vars}

    def variable(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in ENVIRONMENT or SECRET_NAME.search(name) or name in bound:
            return match.group(0)
        if name.isupper() or name not in table.params:
            described = f"the guide's ${name}"
            return "$" + table.placeholder(name, described)
        return match.group(0)

    return re.sub(r"\$\{?([A-Za-z_]\w*)\}?", variable, text)


def _substitutions(text: str, table: ParamTable) -> str:
    out, index = [], 0
    while (start := text.find("$(", index)) >= 0:
        depth, end = 0, start + 1
        while end < len(text):
            depth += {"(": 1, ")": -1}.get(text[end], 0)
            if depth == 0:
                break
            end += 1
        inner = text[start + 2 : end]
        name = substitution_name(inner)
        out.append(text[index:start])
        if name is None:
            out.append(text[start : end + 1])
        else:
            flat = " ".join(inner.split())
            out.append("$" + table.placeholder(name, f"value of `{flat}`"))
        index = end + 1
    out.append(text[index:])
    return "".join(out)


def _placeholder(match: re.Match[str], template: str, table: ParamTable) -> str:
    name = template.format(match.group(1).replace("-", "_"))
    before = match.string[: match.start()]
    assigned = re.search(r"([A-Za-z_]\w*)=$", before)
    if assigned and name in {"value", "new_value"}:
        name = assigned.group(1)
    if SECRET_NAME.search(name) and not name.endswith("_id"):
        return "$" + param_name(name).upper()  # a secret: the environment's, never the runbook's
    return "$" + table.placeholder(name, f"fill in: {match.group(0)}")


def command_values(text: str, table: ParamTable) -> tuple[str, list[str]]:
    """A `run:` command made to take its values from the runbook, as the loader requires: a
    `<placeholder>` the passes before left (`<image:tag>`, `<web acl name>`) becomes a
    parameter to fill. Returned with it: the variables it still reads from the operator's
    shell, a secret (`$ANTHROPIC_API_KEY`) or its own loop's variable, which make the command
    a step to do by hand (a secret is never a runbook parameter: it would be shown and kept in
    transcripts)."""

    def placeholder(match: re.Match[str]) -> str:
        name = param_name(match.group(0)[1:-1])
        if SECRET_NAME.search(name) and not name.endswith("_id"):
            return "$" + name.upper()
        name = table.placeholder(name, f"fill in: {match.group(0)}")
        follows = match.string[match.end() : match.end() + 1]
        return f"${{{name}}}" if re.match(r"\w", follows) else f"${name}"

    text = PLACEHOLDER.sub(placeholder, text)
    given = {name for spec in command_catalogue().values() for name in spec.variables}
    held = [
        name
        for name in references(text)
        if name not in table.params and name not in given and name not in SHELL_VARIABLES
    ]
    return text, held


def by_hand(command: str, held: list[str]) -> str:
    """The manual step for a command that needs what only the operator's shell holds."""
    loops = set(re.findall(r"\bfor\s+([A-Za-z_]\w*)\s+in\b", command))
    secrets = [f"${name}" for name in held if name not in loops]
    why = []
    if secrets:
        why.append(
            f"run it where {', '.join(secrets)} is set: a secret the operator holds, never "
            "given to triage"
        )
    if loops & set(held):
        why.append("it loops in the shell over values it finds itself")
    return f"{command}\n(By hand: {'; '.join(why)}.)"


def redact_headers(text: str) -> tuple[str, list[Header]]:
    """Auth headers of a curl command: values become `$ENV` references, literal ones too."""
    headers: list[Header] = []

    def header(match: re.Match[str]) -> str:
        quote, name, value = match.group(1), match.group(2).strip(), match.group(3).strip()
        if not SECRET_NAME.search(name):
            return match.group(0)
        prefix = ""
        scheme = re.match(r"(Bearer|Token|Basic|Bot)\s+", value, re.IGNORECASE)
        if scheme:
            prefix, value = scheme.group(0), value[scheme.end() :]
        env = re.fullmatch(r"\$\{?([A-Z_][A-Z0-9_]*)\}?", value)
        variable = env.group(1) if env else param_name(name).upper()
        headers.append(Header(name, variable, prefix))
        return f"-H {quote}{name}: {prefix}${variable}{quote}"

    pattern = r"""(?:-H|--header)\s+(["'])([^:"']+):\s*([^"']*)\1"""
    return re.sub(pattern, header, text), headers


def option_values(words: list[str], tool: str) -> list[tuple[int, str]]:
    """(index of the word holding the value, parameter) for values worth a parameter."""
    options = {**OPTION_PARAMS["*"], **OPTION_PARAMS.get(tool, {})}
    found: list[tuple[int, str]] = []
    for index, word in enumerate(words):
        option, _, inline = word.partition("=")
        if option in options and inline and word.startswith("--"):
            found.append((index, options[option]))
        elif word in options and index + 1 < len(words):
            found.append((index + 1, options[word]))
        elif index and (tool, words[index - 1]) in POSITIONAL_PARAMS and not word.startswith("-"):
            found.append((index, POSITIONAL_PARAMS[(tool, words[index - 1])]))
        elif re.match(r"^https?://", word):
            found.append((index, "url"))
    return found


def parameterize(text: str, tool: str, table: ParamTable) -> str:
    """`text` with the values found after known options replaced by `$param` (default: value)."""
    tokens = tokenize(text)
    words = [token.value for token in tokens]
    edits: list[tuple[int, int, str]] = []
    for index, base in option_values(words, tool):
        token = tokens[index]
        raw = text[token.start : token.end]
        value = words[index].partition("=")[2] if words[index].startswith("--") else words[index]
        if not value or "$" in value or "<" in value or "{" in value or "*" in value:
            continue
        default: Any = int(value) if base in {"port", "db"} and value.isdigit() else value
        name = table.value(base, default, f"{base.replace('_', ' ')} (from the guide)")
        replaced = raw.replace(value, f"${name}", 1)
        edits.append((token.start, token.end, replaced))
    for start, end, replaced in sorted(edits, reverse=True):
        text = text[:start] + replaced + text[end:]
    return text
