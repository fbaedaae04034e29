"""Turns a pydantic ValidationError on a YAML document into one sentence naming file, line and field."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from voicecoach.errors import RoutineError
from voicecoach.routinefile.yamlfile import FieldPath, YamlDocument

# Given pydantic's error details and the field path, a sentence ending (or None to use the generic one).
Special = Callable[[Mapping[str, Any], FieldPath], str | None]

_TYPE_NAMES = {
    "int_type": "a whole number",
    "float_type": "a number",
    "string_type": "text",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "bool_type": "true or false",
}


def first_error(
    doc: YamlDocument, error: ValidationError, field_names: Iterable[str], special: Special | None = None
) -> RoutineError:
    """The first validation problem as `file:line: field.path problem.`"""
    return all_errors(doc, error, field_names, special)[0][1]


def all_errors(
    doc: YamlDocument, error: ValidationError, field_names: Iterable[str], special: Special | None = None
) -> list[tuple[FieldPath, RoutineError]]:
    """Every validation problem, in file order of pydantic's report, with its field path."""
    names = list(field_names)
    found = []
    for details in error.errors(include_url=False):
        path: FieldPath = tuple(details["loc"])
        sentence = special(details, path) if special else None
        found.append((path, doc.error(path, sentence or problem(details, path, names))))
    return found


def problem(details: Mapping[str, Any], path: FieldPath, field_names: Iterable[str]) -> str:
    """What is wrong with the field, as the end of a sentence that starts with its path."""
    kind = details["type"]
    given = details.get("input")
    ctx = details.get("ctx") or {}
    if kind == "missing":
        return "is missing."
    if kind == "extra_forbidden":
        guess = difflib.get_close_matches(str(path[-1]), sorted(field_names), n=1)
        return "is not a known field" + (f"; did you mean {guess[0]}?" if guess else ".")
    if kind in ("enum", "literal_error"):
        return f"should be {ctx.get('expected', 'one of the allowed values')}, not {given!r}."
    if kind == "value_error":
        return f"{ctx.get('error', details['msg'])}, not {given!r}."
    if kind == "string_pattern_mismatch":
        return f"should be lower-case letters, digits and underscores (like knee_rolls), not {given!r}."
    if kind == "finite_number":
        return f"should be a finite number, not {given!r}."
    if kind == "too_short":
        return "should not be empty."
    if kind in _TYPE_NAMES:
        return f"should be {_TYPE_NAMES[kind]}, not {given!r}."
    return f"{details['msg'][0].lower()}{details['msg'][1:]}, not {given!r}."
