"""YAML files validated by pydantic, with errors that name the file, line and column.

Both the inventory and the runbooks are YAML a human edits under pressure; an error must point
at the exact place and say what was expected, never show a traceback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """YAML 1.2 booleans: only true and false. `on:`, `no` and `off` stay strings, as a person
    writing `on: cache` or a country code means them."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> Any:
    """A mapping that refuses a key given twice: the second would silently replace the first."""
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if isinstance(key, str | int | float | bool) and key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"{key!r} is given twice in this mapping", key_node.start_mark
            )
        seen.add(key) if isinstance(key, str | int | float | bool) else None
    return yaml.constructor.SafeConstructor.construct_mapping(loader, node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)

_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


@dataclass(frozen=True)
class SourceError(Exception):
    """One problem in one file, at one place."""

    path: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        if not self.line:  # the file as a whole (unreadable), no place inside it
            return f"{self.path}: {self.message}"
        return f"{self.path}:{self.line}:{self.column}: {self.message}"


def _mark_of(
    root: yaml.Node | None, location: tuple[int | str, ...], *, at_key: bool = False
) -> yaml.Node | None:
    """The deepest YAML node along a pydantic error location (its key, with `at_key`)."""
    node = root
    for index, part in enumerate(location):
        if isinstance(node, yaml.MappingNode):
            pair = next(
                (
                    (key, value)
                    for key, value in node.value
                    if getattr(key, "value", None) == str(part)
                ),
                None,
            )
            if pair is None:
                return node
            last = index == len(location) - 1
            node = pair[0] if at_key and last else pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return node
            node = node.value[part]
        else:
            return node
    return node


def _describe(error: dict[str, Any]) -> str:
    location = ".".join(str(part) for part in error["loc"] if not str(part).startswith("function"))
    message = str(error["msg"])
    message = message.removeprefix("Value error, ")
    if error["type"] == "missing":
        return f"{location}: required field is missing"
    if error["type"] == "extra_forbidden":
        return f"{location}: unknown field (check its spelling)"
    return f"{location}: {message}" if location else message


def locate(
    root: yaml.Node | None, location: tuple[int | str, ...], *, at_key: bool = False
) -> tuple[int, int]:
    """Line and column (1-based) of the value at `location`, or of its nearest ancestor."""
    node = _mark_of(root, location, at_key=at_key)
    if node is None:
        return (1, 1)
    return (node.start_mark.line + 1, node.start_mark.column + 1)


@dataclass(frozen=True)
class YamlDocument:
    """A parsed YAML file: its data, and its node tree for pointing at places in it."""

    path: str
    data: dict[str, Any]
    root: yaml.Node | None

    def error(
        self, location: tuple[int | str, ...], message: str, *, at_key: bool = False
    ) -> SourceError:
        line, column = locate(self.root, location, at_key=at_key)
        return SourceError(self.path, line, column, message)


def read_yaml(path: Path, *, text: str | None = None) -> YamlDocument:
    """Parse a YAML file whose top level is a mapping; `SourceError` says where it is not."""
    name = str(path)
    try:
        source = path.read_text(encoding="utf-8") if text is None else text
    except OSError as error:
        raise SourceError(name, 0, 0, f"cannot read: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise SourceError(name, 0, 0, f"not UTF-8 text: {error.reason}") from None
    try:
        # One parse (libyaml when present): the node tree locates errors, data is built from it.
        loader = _Loader(source)
        try:
            root = loader.get_single_node()
            data = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        problem = (error.problem or "invalid YAML").splitlines()[0]
        raise SourceError(name, line, column, f"invalid YAML: {problem}") from None
    except RecursionError:  # PyYAML composes recursively: thousands of `[` exhaust the stack
        raise SourceError(name, 1, 1, "invalid YAML: nested too deeply") from None
    except yaml.reader.ReaderError as error:  # a character YAML does not allow, e.g. NUL
        line = source.count("\n", 0, error.position) + 1
        column = error.position - source.rfind("\n", 0, error.position)
        code = error.character if isinstance(error.character, int) else ord(error.character)
        problem = f"character #x{code:04x} is not allowed in YAML"
        raise SourceError(name, line, column, f"invalid YAML: {problem}") from None
    except yaml.YAMLError as error:
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise SourceError(name, 1, 1, f"invalid YAML: {first_line}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SourceError(name, 1, 1, "expected a mapping of keys to values at the top level")
    return YamlDocument(name, data, root)


def validate(document: YamlDocument, model: type[M]) -> M:
    """The document as `model`; `SourceError` names the place of the first problem."""
    try:
        return model.model_validate(document.data)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        raise document.error(
            tuple(first["loc"]), _describe(dict(first)), at_key=first["type"] == "extra_forbidden"
        ) from None


def load_yaml_model(path: Path, model: type[M], *, text: str | None = None) -> M:
    """Parse and validate one YAML file; `SourceError` names the place of the first problem."""
    return validate(read_yaml(path, text=text), model)
