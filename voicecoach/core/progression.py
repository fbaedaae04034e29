"""Next session's numbers for each exercise, from its seed ranges and how it went before (pure, no I/O)."""

# Theory of operation
# -------------------
# An exercise's history is a list of Attempts, one per session in which it came up, oldest first.
# `replay` folds them into a State, starting at the low end of every seed range, and turns the State
# into an Adjustment: the numbers for the next session, whether to ask first, whether it is dropped.
#
#   completed         good_sessions += 1; after GOOD_SESSIONS_TO_GROW of them in a row, one step up
#   ended_early       not a good session (growth count back to 0); not pain either
#   stopped, skipped  (the session was stopped, or skipped for a reason other than pain) growth count
#   (not pain)        back to 0; the pain count is left alone
#   skipped for pain  one step down, ask first next time; PAIN_SKIPS_TO_DROP in a row: dropped
#
# A step up grows repetitions first, then the hold (seconds, breaths, or a movement's duration),
# never past the seed's high end; a step down undoes the last step up, never below the low end.
# A dropped exercise comes back only through `replay(..., restored=True)`: History.restore, when the
# user says "bring it back" and then yes, or runs `voicecoach history --restore ID`.

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from voicecoach.core.library import PlannedExercise
from voicecoach.core.routine import Exercise, Range, Sides

log = logging.getLogger(__name__)

GOOD_SESSIONS_TO_GROW = 3
"""Completed sessions in a row before an exercise grows by one step."""
PAIN_SKIPS_TO_DROP = 2
"""Sessions in a row in which an exercise was skipped because it hurt, before it is left out."""
HOLD_STEP_SECONDS = 1
HOLD_STEP_BREATHS = 1
DURATION_STEP_SECONDS = 5
"""A continuous movement (30 to 60 seconds) grows by 5 s: one second more would not be felt."""
OUTCOMES = ("completed", "ended_early", "skipped", "stopped")
PAIN = "pain"

_GROWTH_ORDER = ("reps", "hold_seconds", "hold_breaths", "duration_seconds")


@dataclass(frozen=True)
class Numbers:
    """The numbers an exercise is done with; None where the exercise has no such range."""

    reps: int
    hold_seconds: int | None = None
    hold_breaths: int | None = None
    duration_seconds: int | None = None

    @classmethod
    def of(cls, planned: PlannedExercise) -> Numbers:
        return cls(planned.reps, planned.hold_seconds, planned.hold_breaths, planned.duration_seconds)

    @classmethod
    def low(cls, exercise: Exercise) -> Numbers:
        """The low end of every seed range: where every exercise starts."""
        return cls.of_fields({f: r.low if (r := getattr(exercise, f)) is not None else None for f in _GROWTH_ORDER})

    @classmethod
    def of_fields(cls, values: dict[str, int | None]) -> Numbers:
        """From a value per field of _GROWTH_ORDER; every exercise has a repetition range."""
        reps = values["reps"]
        assert reps is not None, "every exercise has a range of repetitions"
        return cls(reps, values["hold_seconds"], values["hold_breaths"], values["duration_seconds"])


@dataclass(frozen=True)
class Attempt:
    """How an exercise went in one session: an ExerciseRecord's outcome, why, and the numbers used."""

    outcome: str
    reason: str | None = None
    numbers: Numbers | None = None

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome should be one of {', '.join(OUTCOMES)}, not {self.outcome!r}")

    @property
    def pain(self) -> bool:
        return self.outcome == "skipped" and self.reason == PAIN


@dataclass(frozen=True)
class Adjustment:
    """The numbers for an exercise's next session, and whether to ask first or leave it out."""

    exercise_id: str
    reps: int
    hold_seconds: int | None
    hold_breaths: int | None
    duration_seconds: int | None
    ask_first: bool
    dropped: bool
    why: str
    question: str | None = None
    """With ask_first: what the coach asks, e.g. "Last time pelvic tilts hurt. Try them gently, or skip?"."""

    @property
    def numbers(self) -> Numbers:
        return Numbers(self.reps, self.hold_seconds, self.hold_breaths, self.duration_seconds)


@dataclass(frozen=True)
class _State:
    numbers: Numbers
    good_sessions: int = 0
    pain_skips: int = 0
    ask_first: bool = False
    why: str = "New: starting at the low end of the seed's range."


def replay(
    exercise_id: str,
    exercise: Exercise,
    attempts: Sequence[Attempt],
    *,
    restored: bool = False,
    good_sessions_to_grow: int = GOOD_SESSIONS_TO_GROW,
    pain_skips_to_drop: int = PAIN_SKIPS_TO_DROP,
) -> Adjustment:
    """The next session's numbers for an exercise after `attempts` (oldest first, one per session).

    Seed 004, "Start Slowly": "Make sure to ease into these exercises", so every exercise starts at
    the low end of its range, and an exercise asked back after being dropped starts there again and
    is asked about first. `restored` means the attempts are those since the user asked for it back.
    """
    state = _State(Numbers.low(exercise))
    if restored:
        state = replace(state, ask_first=True, why="Asked back after being left out: starting gently.")
    for attempt in attempts:
        state = _step(state, exercise, attempt, good_sessions_to_grow)
    dropped = state.pain_skips >= pain_skips_to_drop
    why = state.why
    if dropped:
        why = f"Hurt {times(state.pain_skips)} in a row: left out until you ask for it back."
    numbers = _clamped(state.numbers, exercise)
    return Adjustment(
        exercise_id=exercise_id,
        reps=numbers.reps,
        hold_seconds=numbers.hold_seconds,
        hold_breaths=numbers.hold_breaths,
        duration_seconds=numbers.duration_seconds,
        ask_first=state.ask_first and not dropped,
        dropped=dropped,
        why=why,
        question=_question(exercise.name, restored and state.pain_skips == 0)
        if state.ask_first and not dropped
        else None,
    )


def _step(state: _State, exercise: Exercise, attempt: Attempt, good_sessions_to_grow: int) -> _State:
    numbers = _clamped(attempt.numbers or state.numbers, exercise)
    if attempt.pain:
        return _pain(state, exercise, numbers)
    if attempt.outcome == "completed":
        return _completed(state, exercise, numbers, good_sessions_to_grow)
    if attempt.outcome == "ended_early":
        return _State(numbers, why="Ended early last time: staying at these numbers.")
    # stopped, or skipped for a reason other than pain: not a good session, and no news about pain.
    return replace(
        state,
        numbers=numbers,
        good_sessions=0,
        why=f"Not completed last time ({attempt.outcome}): staying at these numbers.",
    )


def _completed(state: _State, exercise: Exercise, numbers: Numbers, good_sessions_to_grow: int) -> _State:
    """Seed 000: "Increase the duration and intensity of your lower back pain exercises gradually";
    seed 002: "As you feel your back muscles get stronger, you can increase the number of reps you do".

    Only after `good_sessions_to_grow` completed sessions in a row, and by one step: repetitions
    first (seed 002), then the hold or duration (seed 000), never past the seed's high end.
    """
    good = state.good_sessions + 1
    if good < good_sessions_to_grow:
        more = good_sessions_to_grow - good
        done = "once" if good == 1 else f"{times(good)} in a row"
        return _State(numbers, good_sessions=good, why=f"Completed {done}; {more} more in a row before a step up.")
    grown, field = _step_up(numbers, exercise)
    if field is None:
        return _State(numbers, why="Completed again, at the top of the seed's range.")
    return _State(grown, why=f"Completed {times(good)} in a row: one step up ({_FIELD_WORDS[field]}).")


def _pain(state: _State, exercise: Exercise, numbers: Numbers) -> _State:
    """Seed 004: "Do not perform any exercise which increases symptoms"; seed 002: "If they hurt
    you, don't do them"; seed 003: "stop immediately if you feel any pain".

    One step gentler (never below the low end) and asked about first; the caller drops it after
    PAIN_SKIPS_TO_DROP such sessions in a row.
    """
    gentler, field = _step_down(numbers, exercise)
    what = f"one step gentler ({_FIELD_WORDS[field]})" if field else "already at the gentlest numbers"
    return _State(
        gentler, pain_skips=state.pain_skips + 1, ask_first=True, why=f"Hurt last time: {what}, and ask first."
    )


def _increment(field: str, exercise: Exercise) -> int:
    if field == "reps":
        # Counted in total and done on both sides: one more on each side keeps the sides even.
        both_sides = exercise.reps_counted == "in_total" and exercise.sides is not Sides.NONE
        return 2 if both_sides else 1
    return {"hold_seconds": HOLD_STEP_SECONDS, "hold_breaths": HOLD_STEP_BREATHS}.get(field, DURATION_STEP_SECONDS)


def _step_up(numbers: Numbers, exercise: Exercise) -> tuple[Numbers, str | None]:
    for field in _GROWTH_ORDER:
        seed_range: Range | None = getattr(exercise, field)
        value = getattr(numbers, field)
        if seed_range is not None and value is not None and value < seed_range.high:
            grown = min(seed_range.high, value + _increment(field, exercise))
            return replace(numbers, **{field: grown}), field
    return numbers, None


def _step_down(numbers: Numbers, exercise: Exercise) -> tuple[Numbers, str | None]:
    for field in reversed(_GROWTH_ORDER):
        seed_range: Range | None = getattr(exercise, field)
        value = getattr(numbers, field)
        if seed_range is not None and value is not None and value > seed_range.low:
            gentler = max(seed_range.low, value - _increment(field, exercise))
            return replace(numbers, **{field: gentler}), field
    return numbers, None


def _clamped(numbers: Numbers, exercise: Exercise) -> Numbers:
    """Numbers inside the exercise's seed ranges (the file may have changed since they were used)."""
    values: dict[str, int | None] = {}
    for field in _GROWTH_ORDER:
        seed_range: Range | None = getattr(exercise, field)
        value = getattr(numbers, field)
        if seed_range is None:
            values[field] = None
        else:
            values[field] = seed_range.low if value is None else min(seed_range.high, max(seed_range.low, value))
    return Numbers.of_fields(values)


_FIELD_WORDS = {
    "reps": "repetitions",
    "hold_seconds": "seconds of hold",
    "hold_breaths": "breaths of hold",
    "duration_seconds": "seconds of movement",
}


def times(n: int) -> str:
    """1 -> "once", 2 -> "twice", 3 -> "3 times"."""
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def _question(name: str, restored: bool) -> str:
    them = "them" if name.lower().endswith("s") else "it"
    if restored:
        return f"You asked for {name.lower()} back. Try {them} gently, or skip?"
    return f"Last time {name.lower()} hurt. Try {them} gently, or skip?"


def apply(plan: Sequence[PlannedExercise], adjustments: Mapping[str, Adjustment]) -> list[PlannedExercise]:
    """`Library.plan(routine)` with each exercise's adjusted numbers; dropped exercises left out.

    Exercises with no adjustment (no history yet) keep the plan's numbers.
    """
    adjusted = []
    for planned in plan:
        adjustment = adjustments.get(planned.id)
        if adjustment is None:
            adjusted.append(planned)
        elif adjustment.dropped:
            log.info("leaving out %s: %s", planned.id, adjustment.why)
        else:
            numbers = _clamped(adjustment.numbers, planned.exercise)
            adjusted.append(
                replace(
                    planned,
                    reps=numbers.reps,
                    hold_seconds=numbers.hold_seconds,
                    hold_breaths=numbers.hold_breaths,
                    duration_seconds=numbers.duration_seconds,
                )
            )
    return adjusted


def questions(plan: Sequence[PlannedExercise], adjustments: Mapping[str, Adjustment]) -> dict[str, str]:
    """exercise id -> what to ask before it, for the exercises of `plan` that hurt last time."""
    return {
        p.id: a.question
        for p in plan
        if (a := adjustments.get(p.id)) is not None and a.ask_first and a.question and not a.dropped
    }
