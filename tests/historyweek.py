"""A week of sessions twice a day, with pain skips, remembered as the coach remembers them (the plan
adjusted by the history before each session, each exercise recorded with the numbers it was asked for)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

from voicecoach.core.events import ExerciseRecord, SessionEnded
from voicecoach.core.library import Library
from voicecoach.core.progression import apply
from voicecoach.history.store import History
from voicecoach.routinefile.loader import load

REPO = Path(__file__).resolve().parent.parent
EXERCISES = REPO / "exercises.yaml"

PAIN = {
    (2, 8): ("pelvic_tilt",),
    (4, 8): ("knees_to_chest",),
    (4, 18): ("knees_to_chest",),  # twice in a row: left out from then on
    (6, 18): ("back_extension",),
}
"""(day of the week, hour) -> the exercises skipped because they hurt in that session."""


def week(path: Path, first: date | None = None) -> list[datetime]:
    """Seven days of the daily routine at 08:00 and 18:00 local time, the last day yesterday unless
    `first` is given; the sessions' start times."""
    library: Library = load(EXERCISES)
    exercises = library.content.exercises
    first = first or date.today() - timedelta(days=7)
    started = []
    with History.open(path) as history:
        for day in range(7):
            for hour in (8, 18):
                when = datetime.combine(first + timedelta(days=day), time(hour)).astimezone()
                plan = apply(library.plan("daily"), history.adjustments(exercises))
                session = history.start_session("daily", when)
                records = []
                for n, planned in enumerate(plan):
                    hurt = planned.id in PAIN.get((day, hour), ())
                    record = ExerciseRecord(
                        planned.id,
                        "skipped" if hurt else "completed",
                        0 if hurt else planned.reps,
                        planned.reps,
                        60.0 * n,
                        60.0 * n + 50,
                    )
                    history.record_exercise(session, record, planned, now=when)
                    records.append(record)
                history.end_session(session, SessionEnded("daily", (), (), 17.0, False, tuple(records)), now=when)
                started.append(when)
    return started
