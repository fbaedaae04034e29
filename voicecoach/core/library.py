"""A validated routine file as the coach uses it: routines of planned exercises, with this session's numbers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from voicecoach.core.routine import Exercise, ExerciseFile, Range, Routine, Sides, Step
from voicecoach.errors import RoutineError


@dataclass(frozen=True)
class PlannedExercise:
    """An exercise with the numbers chosen for this session (the low end of each range by default)."""

    id: str
    exercise: Exercise
    reps: int
    hold_seconds: int | None
    hold_breaths: int | None
    duration_seconds: int | None
    cool_down: bool = False
    ask_first: str | None = None  # a question to ask before it (it hurt last time)

    @property
    def name(self) -> str:
        return self.exercise.name

    @property
    def sides(self) -> Sides:
        return self.exercise.sides

    def reps_per_side(self) -> int:
        """Repetitions on each side (or in all, for an exercise with no sides)."""
        if self.sides is Sides.NONE or self.exercise.reps_counted == "per_side":
            return self.reps
        return max(1, self.reps // 2)

    def side_count(self) -> int:
        return 1 if self.sides is Sides.NONE else 2


@dataclass(frozen=True)
class Library:
    """A validated routine file."""

    path: Path
    content: ExerciseFile

    @property
    def routine_ids(self) -> list[str]:
        return list(self.content.routines)

    def routine(self, routine_id: str) -> Routine:
        try:
            return self.content.routines[routine_id]
        except KeyError:
            known = ", ".join(self.content.routines)
            raise RoutineError(f"{self.path.name} has no routine called {routine_id!r}; it has: {known}.") from None

    def plan(self, routine_id: str) -> list[PlannedExercise]:
        """The routine's exercises, in order, cool-down last, with the numbers for this session."""
        routine = self.routine(routine_id)
        return [
            _plan_step(step, self.content.exercises[step.exercise], cool_down)
            for steps, cool_down in ((routine.steps, False), (routine.cool_down, True))
            for step in steps
        ]

    def safety_advice(self) -> list[str]:
        return [advice.text for advice in self.content.safety]


def _plan_step(step: Step, exercise: Exercise, cool_down: bool) -> PlannedExercise:
    def chosen(field: str) -> int | None:
        override = getattr(step, field)
        seed_range: Range | None = getattr(exercise, field)
        if seed_range is None:
            return None
        return override if override is not None else seed_range.low

    return PlannedExercise(
        id=step.exercise,
        exercise=exercise,
        reps=step.reps if step.reps is not None else exercise.reps.low,
        hold_seconds=chosen("hold_seconds"),
        hold_breaths=chosen("hold_breaths"),
        duration_seconds=chosen("duration_seconds"),
        cool_down=cool_down,
    )
