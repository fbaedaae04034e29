"""Loads exercises.yaml strictly, before any microphone opens, into a Library of planned routines.

Every problem is one RoutineError sentence: `exercises.yaml:42: routines.daily.steps[3].reps ...`.
Schema errors come from the pydantic models in `voicecoach.core.routine`; the checks that need the whole
file (unknown exercise ids, numbers outside a seed's range, exercises the seeds say to avoid) live here.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from voicecoach.core.library import Library
from voicecoach.core.routine import Exercise, ExerciseFile, Range, Routine, Sides, Step
from voicecoach.errors import RoutineError
from voicecoach.routinefile.yamlerrors import first_error
from voicecoach.routinefile.yamlfile import FieldPath, YamlDocument, read_yaml

DEFAULT_FILE = "exercises.yaml"
REPO_ROOT = Path(__file__).resolve().parents[2]
_HOLD_FIELDS = ("hold_seconds", "hold_breaths", "duration_seconds")


def find_exercises(explicit: str | Path | None) -> Path:
    """--exercises, then $VOICECOACH_EXERCISES, then ./exercises.yaml, then the one beside the package."""
    for named in (str(explicit) if explicit else None, os.environ.get("VOICECOACH_EXERCISES")):
        if named:
            return Path(named)
    for candidate in (Path.cwd() / DEFAULT_FILE, REPO_ROOT / DEFAULT_FILE):
        if candidate.is_file():
            return candidate
    raise RoutineError(f"No {DEFAULT_FILE} here or beside the voicecoach package; name one with --exercises FILE.")


def load(path: Path | str = DEFAULT_FILE) -> Library:
    """Read and check a routine file; any problem is a RoutineError naming file, line and field."""
    path = Path(path)
    doc = read_yaml(path)
    if not isinstance(doc.data, dict):
        raise doc.error((), "should be a mapping with version, safety, exercises and routines.")
    data = _with_step_shorthand(doc.data)
    try:
        content = ExerciseFile.model_validate(data)
    except ValidationError as error:
        raise _first_error(doc, error) from None
    _check_exercises(doc, content)
    _check_routines(doc, content)
    return Library(path, content)


def _with_step_shorthand(data: dict[str, Any]) -> dict[str, Any]:
    """A routine step may be a bare exercise id: `- knee_rolls` means `- exercise: knee_rolls`."""
    routines = data.get("routines")
    if not isinstance(routines, dict):
        return data
    expanded = {}
    for routine_id, routine in routines.items():
        if isinstance(routine, dict):
            routine = {
                key: [{"exercise": s} if isinstance(s, str) else s for s in value]
                if key in ("steps", "cool_down") and isinstance(value, list)
                else value
                for key, value in routine.items()
            }
        expanded[routine_id] = routine
    return {**data, "routines": expanded}


def _first_error(doc: YamlDocument, error: ValidationError) -> RoutineError:
    return first_error(doc, error, _all_field_names(), _seed_file_names)


def _seed_file_names(details: Mapping[str, Any], path: FieldPath) -> str | None:
    """A wrong `sources` entry names the seed file pattern; other problems get the shared wording."""
    if details["type"] == "string_pattern_mismatch" and len(path) > 1 and path[-2] == "sources":
        return f"should name a seed file like 003_17edfd41803de707.txt, not {details.get('input')!r}."
    return None


def _all_field_names() -> list[str]:
    models: list[type[BaseModel]] = [ExerciseFile, Exercise, Routine, Step]
    return sorted({name for model in models for name in model.model_fields})


def _check_exercises(doc: YamlDocument, content: ExerciseFile) -> None:
    for exercise_id, exercise in content.exercises.items():
        where = ("exercises", exercise_id)
        holds = [field for field in _HOLD_FIELDS if getattr(exercise, field) is not None]
        if len(holds) > 1:
            raise doc.error((*where, holds[1]), f"cannot be given together with {holds[0]}.")
        unknown = exercise.cue_fields() - {"side"}
        if unknown:
            raise doc.error((*where, "cue"), f"uses {{{sorted(unknown)[0]}}}; only {{side}} is known.")
        if "side" in exercise.cue_fields() and exercise.sides is Sides.NONE:
            raise doc.error((*where, "cue"), "uses {side} but the exercise has no sides.")
        if exercise.variant_of is not None and exercise.variant_of not in content.exercises:
            raise doc.error((*where, "variant_of"), f"names no exercise: {exercise.variant_of!r}.")
        for avoided in content.avoid:
            words = f"{exercise_id.replace('_', ' ')} {exercise.name}".lower()
            if any(match.lower() in words for match in avoided.matches):
                raise doc.error(
                    (*where, "name"),
                    f"is {avoided.name.lower()}, which the seeds say to avoid: {avoided.why}",
                )


def _check_routines(doc: YamlDocument, content: ExerciseFile) -> None:
    for routine_id, routine in content.routines.items():
        for part in ("steps", "cool_down"):
            for index, step in enumerate(getattr(routine, part)):
                where = ("routines", routine_id, part, index)
                exercise = content.exercises.get(step.exercise)
                if exercise is None:
                    guess = difflib.get_close_matches(step.exercise, list(content.exercises), n=1)
                    hint = f"; did you mean {guess[0]}?" if guess else "."
                    raise doc.error((*where, "exercise"), f"names no exercise: {step.exercise!r}{hint}")
                _check_overrides(doc, where, step, exercise)


def _check_overrides(doc: YamlDocument, where: FieldPath, step: Step, exercise: Exercise) -> None:
    for field in ("reps", *_HOLD_FIELDS):
        value = getattr(step, field)
        if value is None:
            continue
        seed_range: Range | None = getattr(exercise, field)
        if seed_range is None:
            raise doc.error((*where, field), f"is set, but {step.exercise} has no {field}.")
        if value not in seed_range:
            raise doc.error(
                (*where, field),
                f"should be within {step.exercise}'s range of {seed_range}, not {value}.",
            )
