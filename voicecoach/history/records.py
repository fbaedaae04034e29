"""What the history holds, as read back: sessions, their exercise results, and a session never finished."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from voicecoach.core.library import PlannedExercise
from voicecoach.core.progression import PAIN, Numbers


@dataclass(frozen=True)
class ExerciseResult:
    """One stored ExerciseRecord, with the numbers it was done with."""

    id: int
    session_id: int
    exercise: str
    outcome: str
    reason: str | None
    reps_done: int
    reps_planned: int
    numbers: Numbers | None
    started_at_seconds: float
    ended_at_seconds: float
    recorded_at: datetime


@dataclass(frozen=True)
class SessionSummary:
    """A session and what happened in it."""

    id: int
    routine: str
    started_at: datetime
    ended_at: datetime | None
    stopped: bool
    minutes: float | None
    results: tuple[ExerciseResult, ...]

    @property
    def done(self) -> tuple[str, ...]:
        return tuple(r.exercise for r in self.results if r.outcome in ("completed", "ended_early"))

    @property
    def skipped(self) -> tuple[str, ...]:
        return tuple(r.exercise for r in self.results if r.outcome == "skipped")

    @property
    def hurt(self) -> tuple[str, ...]:
        return tuple(r.exercise for r in self.results if r.outcome == "skipped" and r.reason == PAIN)


@dataclass(frozen=True)
class Unfinished:
    """A session that never ended; resume it at the exercise after the last recorded one."""

    session: SessionSummary

    @property
    def last_exercise(self) -> str | None:
        return self.session.results[-1].exercise if self.session.results else None

    def resume_index(self, plan: Sequence[PlannedExercise]) -> int:
        """Where to carry on in `plan`: after the last recorded exercise (records not in the plan,
        e.g. dropped since, are passed over)."""
        index = 0
        for result in self.session.results:
            found = next((i for i in range(index, len(plan)) if plan[i].id == result.exercise), None)
            if found is not None:
                index = found + 1
        return index

    def remaining(self, plan: Sequence[PlannedExercise]) -> list[PlannedExercise]:
        return list(plan[self.resume_index(plan) :])


def result_from_row(row: sqlite3.Row) -> ExerciseResult:
    """An exercise_results row as an ExerciseResult."""
    numbers = None
    if row["reps"] is not None:
        numbers = Numbers(row["reps"], row["hold_seconds"], row["hold_breaths"], row["duration_seconds"])
    return ExerciseResult(
        id=row["id"],
        session_id=row["session_id"],
        exercise=row["exercise"],
        outcome=row["outcome"],
        reason=row["reason"],
        reps_done=row["reps_done"],
        reps_planned=row["reps_planned"],
        numbers=numbers,
        started_at_seconds=row["started_at_seconds"],
        ended_at_seconds=row["ended_at_seconds"],
        recorded_at=datetime.fromisoformat(row["recorded_at"]),
    )
