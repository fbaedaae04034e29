"""The history as trends: sessions and skips per week, and each exercise's numbers session by session.

Pure (no drawing): `history --plot` and `history --html` draw what these return.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import TYPE_CHECKING

from voicecoach.core.progression import PAIN, Numbers
from voicecoach.core.routine import Exercise, Range
from voicecoach.history.records import SessionSummary

if TYPE_CHECKING:
    pass

_FIELD_LABELS = {
    "reps": "repetitions",
    "hold_seconds": "hold (seconds)",
    "hold_breaths": "hold (breaths)",
    "duration_seconds": "movement (seconds)",
}


# ---- what is drawn ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Week:
    """A week (Monday to Sunday): sessions with exercise done, and the exercises skipped."""

    monday: date
    sessions: int
    skipped: dict[str, int]
    hurt: int


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def weekly(sessions: Sequence[SessionSummary], today: date, weeks: int) -> list[Week]:
    """The last `weeks` weeks up to `today`, oldest first, including empty ones."""
    first = monday_of(today) - timedelta(weeks=weeks - 1)
    counts: dict[date, Counter[str]] = {first + timedelta(weeks=i): Counter() for i in range(weeks)}
    done: Counter[date] = Counter()
    hurt: Counter[date] = Counter()
    for s in sessions:
        monday = monday_of(s.started_at.date())
        if monday not in counts:
            continue
        done[monday] += bool(s.done)
        counts[monday].update(s.skipped)
        hurt[monday] += len(s.hurt)
    return [Week(m, done[m], dict(counts[m]), hurt[m]) for m in counts]


@dataclass(frozen=True)
class Point:
    """How one exercise went in one session, and the numbers it was asked for with."""

    when: datetime
    outcome: str
    pain: bool
    numbers: Numbers | None
    reps_done: int

    @property
    def done(self) -> bool:
        return self.outcome in ("completed", "ended_early")


@dataclass(frozen=True)
class Quantity:
    """One number of an exercise that grows: its field in Numbers, its words, and its seed range."""

    field: str
    label: str
    seed: Range


def quantities(exercise: Exercise) -> list[Quantity]:
    """Repetitions, then the hold (seconds or breaths) or a movement's duration, if it has one."""
    found = [Quantity("reps", _FIELD_LABELS["reps"], exercise.reps)]
    for field in ("hold_seconds", "hold_breaths", "duration_seconds"):
        seed = getattr(exercise, field)
        if seed is not None:
            found.append(Quantity(field, _FIELD_LABELS[field], seed))
            break
    return found


def progress(sessions: Sequence[SessionSummary], exercises: Mapping[str, Exercise]) -> dict[str, list[Point]]:
    """exercise id -> its Points, oldest first, for the exercises of `exercises` that came up in
    `sessions`, in the order they first came up (a routine's order)."""
    points: dict[str, list[Point]] = {}
    for s in sorted(sessions, key=lambda s: s.started_at):
        for r in s.results:
            pain = r.outcome == "skipped" and r.reason == PAIN
            points.setdefault(r.exercise, []).append(Point(s.started_at, r.outcome, pain, r.numbers, r.reps_done))
    return {e: p for e, p in points.items() if e in exercises}


def value_of(point: Point, field: str) -> int | None:
    return getattr(point.numbers, field) if point.numbers is not None else None


def next_session_at(points_by_exercise: Mapping[str, Sequence[Point]]) -> datetime | None:
    """Where to draw "next session": one typical gap (the median between sessions) after the last one."""
    times = sorted({p.when for points in points_by_exercise.values() for p in points})
    if not times:
        return None
    gaps = sorted(b - a for a, b in pairwise(times))
    gap = gaps[len(gaps) // 2] if gaps else timedelta(days=1)
    return times[-1] + max(timedelta(hours=6), min(gap, timedelta(days=7)))
