"""The routine file's schema: exercises and routines as frozen, validated models.

`voicecoach.routinefile.loader` reads exercises.yaml into these models and turns every validation error into
one sentence naming the file, the line and the field. Units are in the field names.
"""

from __future__ import annotations

import enum
import string
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, WithJsonSchema

ID_PATTERN = r"^[a-z][a-z0-9_]*$"
Id = Annotated[str, Field(pattern=ID_PATTERN, max_length=40)]
Sentence = Annotated[str, Field(min_length=1, max_length=300)]


@dataclass(frozen=True)
class Range:
    """A whole-number range as a seed gives it: "5 to 10" is Range(5, 10), "5" is Range(5, 5)."""

    low: int
    high: int

    def __str__(self) -> str:
        return str(self.low) if self.low == self.high else f"{self.low} to {self.high}"

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int) and self.low <= value <= self.high


def _parse_range(value: Any) -> Range:
    if isinstance(value, Range):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        low = high = value
    elif (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        low, high = value
    else:
        raise ValueError("should be a whole number or a [low, high] pair of whole numbers")
    if low <= 0:
        raise ValueError("should be greater than 0")
    if low > high:
        raise ValueError("should have its low end first, at or below its high end")
    return Range(low, high)


_RANGE_SCHEMA = {
    "oneOf": [
        {"type": "integer", "minimum": 1},
        {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 2, "maxItems": 2},
    ],
    "description": "A whole number, or [low, high] as the seed article gives the range.",
}
RangeField = Annotated[
    Range,
    BeforeValidator(_parse_range),
    PlainSerializer(lambda r: r.low if r.low == r.high else [r.low, r.high]),
    WithJsonSchema(_RANGE_SCHEMA),
]


class Position(str, enum.Enum):
    """Where the body is; a change of position gets extra time to move."""

    ON_BACK = "on_back"
    ON_STOMACH = "on_stomach"
    ALL_FOURS = "all_fours"
    STANDING = "standing"


class Sides(str, enum.Enum):
    """none: one form; each_side: all repetitions on one side, then the other; alternating: swap every time."""

    NONE = "none"
    EACH_SIDE = "each_side"
    ALTERNATING = "alternating"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, use_enum_values=False)


class Exercise(_Strict):
    """One exercise as a seed article describes it, with its numbers as ranges."""

    name: Sentence
    purpose: Sentence
    position: Position = Field(strict=False)
    start: list[Sentence] = Field(min_length=1, description="Spoken cues for the start position.")
    action: list[Sentence] = Field(min_length=1, description="Spoken cues for the movement, said once.")
    cue: Sentence = Field(description="Short cue said at each repetition; may use {side}.")
    release: Sentence = Field(default="And relax.", description="Said when a hold or movement ends.")
    hold_seconds: RangeField | None = None
    hold_breaths: RangeField | None = None
    duration_seconds: RangeField | None = Field(
        default=None, description="A continuous movement kept up for this long, instead of counted reps."
    )
    reps: RangeField = Field(default=Range(1, 1))
    reps_counted: Literal["per_side", "in_total"] = "per_side"
    sides: Sides = Field(default=Sides.NONE, strict=False)
    side_names: tuple[Sentence, Sentence] = Field(default=("left", "right"), strict=False)
    pace_seconds: float = Field(default=4.0, gt=0, le=30, description="Time for one unheld movement.")
    rest_seconds: float = Field(default=2.0, ge=0, le=5, description="Pause between repetitions.")
    cautions: list[Sentence] = Field(default_factory=list)
    sources: list[Annotated[str, Field(pattern=r"^[0-9]{3}_[0-9a-f]+\.txt$")]] = Field(min_length=1)
    variant_of: Id | None = None
    notes: str | None = None

    def hold_kind(self) -> str | None:
        """ "seconds", "breaths", "duration" or None (a movement paced by pace_seconds)."""
        given = [
            kind
            for kind, value in (
                ("seconds", self.hold_seconds),
                ("breaths", self.hold_breaths),
                ("duration", self.duration_seconds),
            )
            if value is not None
        ]
        return given[0] if given else None

    def cue_fields(self) -> set[str]:
        """The {placeholders} in the repetition cue."""
        return {field for _, field, _, _ in string.Formatter().parse(self.cue) if field}


class Step(_Strict):
    """One exercise in a routine, optionally with its own numbers from within the exercise's ranges."""

    exercise: Id
    reps: int | None = Field(default=None, gt=0)
    hold_seconds: int | None = Field(default=None, gt=0)
    hold_breaths: int | None = Field(default=None, gt=0)
    duration_seconds: int | None = Field(default=None, gt=0)


class Routine(_Strict):
    """An ordered session: safety advice, the exercises, then a gentle cool-down."""

    name: Sentence
    description: Sentence
    steps: list[Step] = Field(min_length=1)
    cool_down: list[Step] = Field(min_length=1)


class Advice(_Strict):
    """A sentence of general advice from the seeds, spoken before every routine."""

    text: Sentence
    sources: list[str] = Field(min_length=1)


class Avoided(_Strict):
    """An exercise the seeds say to avoid; no exercise may be named like it."""

    name: Sentence
    matches: list[Annotated[str, Field(min_length=3)]] = Field(min_length=1)
    why: Sentence
    sources: list[str] = Field(min_length=1)


class ExerciseFile(_Strict):
    """The whole of exercises.yaml."""

    version: Literal[1]
    safety: list[Advice] = Field(min_length=1)
    avoid: list[Avoided] = Field(default_factory=list)
    exercises: dict[Id, Exercise] = Field(min_length=1)
    routines: dict[Id, Routine] = Field(min_length=1)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of exercises.yaml, for editors (published as exercises.schema.json)."""
    schema = ExerciseFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "voicecoach exercises.yaml"
    # A routine step may also be a bare exercise id (the loader expands it).
    shorthand = {"type": "string", "pattern": ID_PATTERN, "description": "An exercise id."}
    routine = schema["$defs"]["Routine"]["properties"]
    for part in ("steps", "cool_down"):
        routine[part]["items"] = {"anyOf": [{"$ref": "#/$defs/Step"}, shorthand]}
    return schema
