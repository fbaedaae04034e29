"""Sessions, exercise results and progress, kept in a crash-safe SQLite file in the user's data directory."""

# Theory of operation
# -------------------
# One SQLite file ($XDG_DATA_HOME/voicecoach/history.sqlite3). Each ExerciseEnded is written as it
# happens, in its own transaction, so a power cut loses at most the exercise in progress; a session
# with no ended_at is one the process never finished, and `unfinished_session` offers to resume it.
#
# The file itself (schema, WAL and fsync, checks, a damaged file moved aside and a fresh history
# started) is historyfile.py; what is read back (SessionSummary, ExerciseResult, Unfinished) is
# historyrecords.py. This module is the History: one transaction per write, and the queries.
#
# Progression is not stored: it is replayed from the results (voicecoach.core.progression) whenever a
# session is planned. The `progression` table keeps only what the results cannot say: that the user
# asked for a dropped exercise back (results up to `restored_after` are then forgotten).
#
# The `voice` table keeps the breathing pace and volume the user last said ("slower", "quieter"),
# with the settings file's value at that moment: the next session starts with what was said,
# unless the file has been changed since (then the file's newer value stands).

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path

from voicecoach.core import words
from voicecoach.core.events import ExerciseRecord, SessionEnded
from voicecoach.core.library import PlannedExercise
from voicecoach.core.progression import PAIN, Adjustment, Attempt, Numbers, replay
from voicecoach.core.routine import Exercise
from voicecoach.history.file import HistoryError, aware, default_path, iso, local_now, open_database
from voicecoach.history.records import ExerciseResult, SessionSummary, Unfinished, result_from_row

__all__ = [
    "RESUME_WITHIN",
    "SKIP_REASON",
    "ExerciseResult",
    "History",
    "HistoryError",
    "SessionSummary",
    "Unfinished",
    "default_path",
]
log = logging.getLogger(__name__)

RESUME_WITHIN = timedelta(hours=12)
"""An unfinished session older than this is not offered for resuming."""
SKIP_REASON = PAIN
"""The coach's only skip is "skip, if it hurts" (its safety advice: "If an exercise hurts, stop. Say skip")."""


class History:
    """The exercise history. Open with History.open(); every method is one transaction."""

    def __init__(self, connection: sqlite3.Connection, path: Path, recovered_from: Path | None = None):
        self._db = connection
        self.path = path
        self.recovered_from = recovered_from
        """Where an unreadable history was moved aside, if it was, when this one was opened."""

    # ---- opening ------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path | str | None = None, *, now: datetime | None = None) -> History:
        """Open (creating and migrating) the history; an unreadable file is moved aside (historyfile.py)."""
        path = Path(path) if path is not None else default_path()
        connection, aside = open_database(path, now)
        return cls(connection, path, recovered_from=aside)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.Error as error:
            raise HistoryError(f"Cannot write the history at {self.path}: {error}.") from None

    def _query(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.Error as error:
            raise HistoryError(f"Cannot read the history at {self.path}: {error}.") from None

    # ---- writing ------------------------------------------------------------------------------

    def start_session(self, routine: str, now: datetime | None = None) -> int:
        """A new session; any older unfinished one is closed as stopped (it is no longer resumable)."""
        with self._transaction() as db:
            db.execute("UPDATE sessions SET ended_at = started_at, stopped = 1 WHERE ended_at IS NULL")
            cursor = db.execute("INSERT INTO sessions (routine, started_at) VALUES (?, ?)", (routine, iso(now)))
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def record_exercise(
        self,
        session_id: int,
        record: ExerciseRecord,
        numbers_used: Numbers | PlannedExercise | None = None,
        *,
        reason: str | None = None,
        now: datetime | None = None,
    ) -> int:
        """Save one exercise's record (from ExerciseEnded) as soon as it ends. A skip's reason is
        "pain" unless given: the coach's skip means "it hurts"."""
        if isinstance(numbers_used, PlannedExercise):
            numbers_used = Numbers.of(numbers_used)
        if reason is None and record.outcome == "skipped":
            reason = SKIP_REASON
        with self._transaction() as db:
            return self._insert(db, session_id, record, numbers_used, reason, aware(now))

    def _insert(
        self,
        db: sqlite3.Connection,
        session_id: int,
        record: ExerciseRecord,
        numbers: Numbers | None,
        reason: str | None,
        now: datetime,
    ) -> int:
        if db.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
            raise HistoryError(f"There is no session {session_id} in the history.")
        used = (
            (numbers.reps, numbers.hold_seconds, numbers.hold_breaths, numbers.duration_seconds)
            if numbers
            else (None,) * 4
        )
        cursor = db.execute(
            """INSERT INTO exercise_results (session_id, exercise, outcome, reason, reps_done, reps_planned,
                   reps, hold_seconds, hold_breaths, duration_seconds, started_at_seconds, ended_at_seconds,
                   recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                session_id,
                record.exercise,
                record.outcome,
                reason,
                record.reps_done,
                record.reps_planned,
                *used,
                record.started_at,
                record.ended_at,
                iso(now),
            ),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def end_session(self, session_id: int, ended: SessionEnded, now: datetime | None = None) -> None:
        """Mark the session ended; any of ended.records not already saved are saved now."""
        now = aware(now)
        with self._transaction() as db:
            saved = {
                (row["exercise"], row["started_at_seconds"], row["ended_at_seconds"])
                for row in db.execute("SELECT * FROM exercise_results WHERE session_id = ?", (session_id,))
            }
            for record in ended.records:
                if (record.exercise, record.started_at, record.ended_at) not in saved:
                    reason = SKIP_REASON if record.outcome == "skipped" else None
                    self._insert(db, session_id, record, None, reason, now)
            updated = db.execute(
                "UPDATE sessions SET ended_at = ?, stopped = ?, minutes = ? WHERE id = ?",
                (iso(now), int(ended.stopped), ended.minutes, session_id),
            )
            if updated.rowcount == 0:
                raise HistoryError(f"There is no session {session_id} in the history.")

    def abandon(self, session_id: int) -> None:
        """The user chose not to resume an unfinished session: close it as stopped."""
        with self._transaction() as db:
            db.execute(
                "UPDATE sessions SET ended_at = started_at, stopped = 1 WHERE id = ? AND ended_at IS NULL",
                (session_id,),
            )

    def restore(self, exercise_id: str, now: datetime | None = None) -> None:
        """Bring back an exercise dropped because it hurt: its past results are forgotten by progression,
        and it starts again at the low end, asked about first."""
        with self._transaction() as db:
            last = db.execute("SELECT COALESCE(MAX(id), 0) FROM exercise_results").fetchone()[0]
            db.execute(
                """INSERT INTO progression (exercise, restored_after, restored_at) VALUES (?, ?, ?)
                   ON CONFLICT (exercise) DO UPDATE SET restored_after = excluded.restored_after,
                   restored_at = excluded.restored_at""",
                (exercise_id, last, iso(now)),
            )

    # ---- reading ------------------------------------------------------------------------------

    def remember_voice(self, name: str, value: float, file_value: float, now: datetime | None = None) -> None:
        """The user changed `name` ("breath_seconds" or "volume") to `value` by voice, while the settings
        file said `file_value`: it applies from the next session on (see `remembered_voice`)."""
        with self._transaction() as db:
            db.execute(
                """INSERT INTO voice (name, value, file_value, said_at) VALUES (?, ?, ?, ?)
                   ON CONFLICT (name) DO UPDATE SET value = excluded.value, file_value = excluded.file_value,
                   said_at = excluded.said_at""",
                (name, value, file_value, iso(now)),
            )

    def remembered_voice(self, file_values: Mapping[str, float]) -> dict[str, float]:
        """The voice settings to start a session with: for each name in `file_values` (the settings
        file's values now), what the user said last, unless the file has changed since it was said
        (then the file's newer value stands)."""
        said = {row["name"]: row for row in self._query("SELECT * FROM voice")}
        return {
            name: said[name]["value"] if name in said and said[name]["file_value"] == value else value
            for name, value in file_values.items()
        }

    def unfinished_session(self, now: datetime | None = None, within: timedelta = RESUME_WITHIN) -> Unfinished | None:
        """The latest session that never ended (killed, power cut), if it started within `within`."""
        rows = self._query("SELECT * FROM sessions WHERE ended_at IS NULL ORDER BY id DESC LIMIT 1")
        if not rows:
            return None
        session = self._summary(rows[0])
        if aware(now) - session.started_at > within:
            return None
        return Unfinished(session)

    def recent(self, n: int = 10) -> list[SessionSummary]:
        """The last `n` sessions, newest first."""
        return [self._summary(row) for row in self._query("SELECT * FROM sessions ORDER BY id DESC LIMIT ?", (n,))]

    def sessions_since(self, day: date) -> list[SessionSummary]:
        """Sessions started on or after `day` (local dates), oldest first."""
        rows = self._query("SELECT * FROM sessions WHERE started_at >= ? ORDER BY id", (day.isoformat(),))
        return [s for s in map(self._summary, rows) if s.started_at.date() >= day]

    def _summary(self, row: sqlite3.Row) -> SessionSummary:
        results = self._query("SELECT * FROM exercise_results WHERE session_id = ? ORDER BY id", (row["id"],))
        return SessionSummary(
            id=row["id"],
            routine=row["routine"],
            started_at=datetime.fromisoformat(row["started_at"]),
            ended_at=datetime.fromisoformat(row["ended_at"]) if row["ended_at"] else None,
            stopped=bool(row["stopped"]),
            minutes=row["minutes"],
            results=tuple(map(result_from_row, results)),
        )

    def active_days(self) -> set[date]:
        """Local dates on which at least one exercise was done (completed or ended early)."""
        rows = self._query(
            """SELECT DISTINCT s.started_at FROM sessions s JOIN exercise_results r ON r.session_id = s.id
               WHERE r.outcome IN ('completed', 'ended_early')"""
        )
        return {datetime.fromisoformat(row[0]).date() for row in rows}

    def streak_days(self, today: date | None = None) -> int:
        """Days in a row with exercise, ending today (or yesterday: today's session may be still to come)."""
        days = self.active_days()
        day = today or local_now().date()
        if day not in days:
            day -= timedelta(days=1)
        streak = 0
        while day in days:
            streak += 1
            day -= timedelta(days=1)
        return streak

    def attempts(self) -> tuple[dict[str, list[Attempt]], set[str]]:
        """Per exercise, one Attempt per session (the worst, if it came up twice), oldest first, since
        it was last restored; and the ids of the exercises that were restored."""
        restored = {row["exercise"]: row["restored_after"] for row in self._query("SELECT * FROM progression")}
        per_session: dict[str, dict[int, Attempt]] = {}
        for row in self._query("SELECT * FROM exercise_results ORDER BY id"):
            if row["id"] <= restored.get(row["exercise"], 0):
                continue
            result = result_from_row(row)
            attempt = Attempt(result.outcome, result.reason, result.numbers)
            sessions = per_session.setdefault(result.exercise, {})
            earlier = sessions.get(result.session_id)
            if earlier is None or _severity(attempt) > _severity(earlier):
                sessions[result.session_id] = attempt
        return {ex: list(s.values()) for ex, s in per_session.items()}, set(restored)

    def adjustments(self, exercises: Mapping[str, Exercise], **settings: int) -> dict[str, Adjustment]:
        """Next session's numbers for every exercise with a history (see voicecoach.core.progression)."""
        attempts, restored = self.attempts()
        return {
            exercise_id: replay(
                exercise_id,
                exercises[exercise_id],
                attempts.get(exercise_id, []),
                restored=exercise_id in restored,
                **settings,
            )
            for exercise_id in sorted(set(attempts) | restored)
            if exercise_id in exercises
        }

    def summary_sentence(self, today: date | None = None, names: Mapping[str, str] | None = None) -> str:
        """One spoken sentence for "how am I doing"."""
        today = today or local_now().date()
        week = [s for s in self.sessions_since(today - timedelta(days=6)) if s.done]
        if not week:
            sentence = "You haven't done a session in the last seven days"
        else:
            sentence = f"You've done {words.plural(len(week), 'session')} in the last seven days"
        streak = self.streak_days(today)
        if streak > 1:
            sentence += f", a {words.number(streak)}-day streak"
        hurt = self._hurt_last_time()
        if hurt:
            said = [(names or {}).get(e, e.replace("_", " ")).lower() for e in hurt]
            sentence += f"; {words.joined(said)} hurt last time"
        return sentence + "."

    def last_hurt(self) -> dict[str, date]:
        """exercise id -> the (local) date of its latest skip because it hurt."""
        rows = self._query(
            """SELECT exercise, recorded_at FROM exercise_results WHERE id IN (SELECT MAX(id) FROM exercise_results
               WHERE outcome = 'skipped' AND reason = ? GROUP BY exercise)""",
            (PAIN,),
        )
        return {row["exercise"]: datetime.fromisoformat(row["recorded_at"]).date() for row in rows}

    def _hurt_last_time(self) -> list[str]:
        """Exercises whose latest result is a skip for pain."""
        attempts, _ = self.attempts()
        return [e for e, tries in attempts.items() if tries and tries[-1].pain]


_SEVERITY = {"completed": 0, "ended_early": 1, "stopped": 2, "skipped": 3}


def _severity(attempt: Attempt) -> int:
    return _SEVERITY[attempt.outcome] + (1 if attempt.pain else 0)
