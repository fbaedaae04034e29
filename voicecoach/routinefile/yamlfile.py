"""Reads a YAML file safely into plain data, remembering the line of every field.

YAML 1.1 turns bare yes/no/on/off into booleans; here only `true` and `false` are booleans, so
`sides: no` stays the text "no" and is then reported by the schema instead of silently changing
meaning. Duplicate keys, which PyYAML would quietly merge, are errors.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from voicecoach.errors import RoutineError

# A field path: mapping keys and list indexes from the document root, e.g. ("routines", "daily", 3).
FieldPath = tuple[str | int, ...]


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2-style booleans (true/false only)."""


_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def format_path(path: FieldPath) -> str:
    """("routines", "daily", "steps", 3, "reps") -> "routines.daily.steps[3].reps"."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(the whole file)"


class YamlDocument:
    """Plain data read from a YAML file, and the line each field path starts on."""

    def __init__(self, path: Path, data: Any, lines: dict[FieldPath, int]):
        self.path = path
        self.data = data
        self._lines = lines

    def line_of(self, path: FieldPath) -> int:
        """The line of the deepest part of `path` that is in the file (a missing field: its parent)."""
        for end in range(len(path), -1, -1):
            line = self._lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return 1

    def error(self, path: FieldPath, problem: str) -> RoutineError:
        """One sentence naming the file, the line and the field path."""
        return RoutineError(f"{self.path.name}:{self.line_of(path)}: {format_path(path)} {problem}")


def read_yaml(path: Path) -> YamlDocument:
    """Parse `path` with the strict loader; a missing or malformed file is a RoutineError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RoutineError(f"{path}: the file does not exist.") from None
    except (OSError, UnicodeDecodeError) as error:
        raise RoutineError(f"{path}: the file cannot be read ({error}).") from None
    try:
        node = yaml.compose(text, Loader=_StrictLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 1
        problem = error.problem or error.context or "it is not valid YAML"
        raise RoutineError(f"{path.name}:{line}: the file is not valid YAML: {problem}.") from None
    except yaml.YAMLError as error:
        raise RoutineError(f"{path.name}: the file is not valid YAML ({error}).") from None
    lines: dict[FieldPath, int] = {}
    scalars = _StrictLoader("")
    data = _construct(node, (), lines, path, scalars) if node is not None else None
    return YamlDocument(path, data, lines)


def _construct(
    node: yaml.Node, path: FieldPath, lines: dict[FieldPath, int], file: Path, scalars: _StrictLoader
) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = scalars.construct_object(key_node, deep=True)
            key_line = key_node.start_mark.line + 1
            if not isinstance(key, (str, int)):
                raise RoutineError(f"{file.name}:{key_line}: {format_path(path)} has a key that is not text.")
            if key in result:
                raise RoutineError(f"{file.name}:{key_line}: {format_path((*path, key))} is given twice.")
            lines[(*path, key)] = key_line
            result[key] = _construct(value_node, (*path, key), lines, file, scalars)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, (*path, index), lines, file, scalars) for index, item in enumerate(node.value)]
    return scalars.construct_object(node, deep=True)
