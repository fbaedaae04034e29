"""The history file: a simulated week, resuming after a crash or a kill -9, and unreadable files."""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from voicecoach.core.events import ExerciseRecord, SessionEnded
from voicecoach.core.progression import apply, questions
from voicecoach.history import file as historyfile
from voicecoach.history.store import History, HistoryError, default_path
from voicecoach.routinefile.loader import load

REPO = Path(__file__).resolve().parent.parent
LIBRARY = load(REPO / "exercises.yaml")
EXERCISES = LIBRARY.content.exercises
NAMES = {exercise_id: exercise.name for exercise_id, exercise in EXERCISES.items()}
TZ = timezone(timedelta(hours=1))
MONDAY = datetime(2025, 3, 3, 8, 0, tzinfo=TZ)


@pytest.fixture
def history(tmp_path: Path):
    with History.open(tmp_path / "history.sqlite3") as opened:
        yield opened


def record(exercise: str, outcome: str = "completed", reps: int = 5, at: float = 0.0) -> ExerciseRecord:
    done = reps if outcome == "completed" else 0
    return ExerciseRecord(exercise, outcome, done, reps, started_at=at, ended_at=at + 30.0)


def do_session(history: History, when: datetime, outcomes: dict[str, str], routine: str = "daily") -> int:
    """Plan the routine from the history, as the coach will, and record `outcomes` (default completed)."""
    plan = apply(LIBRARY.plan(routine), history.adjustments(EXERCISES))
    session = history.start_session(routine, when)
    records = []
    for index, planned in enumerate(plan):
        rec = record(planned.id, outcomes.get(planned.id, "completed"), planned.reps, at=30.0 * index)
        history.record_exercise(session, rec, planned, now=when)
        records.append(rec)
    ended = SessionEnded(routine, (), (), minutes=12.0, stopped=False, records=tuple(records))
    history.end_session(session, ended, now=when + timedelta(minutes=12))
    return session


# ---- the file --------------------------------------------------------------------------------


def test_the_default_file_is_in_the_users_data_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_path() == tmp_path / "data" / "voicecoach" / "history.sqlite3"
    with History.open() as opened:
        assert opened.path.is_file() and opened.path == default_path()
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_path() == tmp_path / "home" / ".local" / "share" / "voicecoach" / "history.sqlite3"


def test_the_file_is_wal_fully_synchronous_and_versioned(history: History) -> None:
    db = history._db
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(historyfile.MIGRATIONS) == 2


# ---- a simulated week ------------------------------------------------------------------------


def test_a_week_of_sessions_follows_the_seeds_advice(history: History) -> None:
    # Mon-Wed: everything completed; knee rolls (8 to 10 in total) grows after the third.
    for day in range(3):
        do_session(history, MONDAY + timedelta(days=day), {})
    plan = {p.id: p for p in apply(LIBRARY.plan("daily"), history.adjustments(EXERCISES))}
    assert plan["knee_rolls"].reps == 10 and plan["back_extension"].reps == 9
    assert plan["pelvic_tilt"].reps == 5  # already at the top of "5"

    # Thu: back extensions hurt -> one step gentler, and the coach asks first on Friday.
    do_session(history, MONDAY + timedelta(days=3), {"back_extension": "skipped"})
    adjustments = history.adjustments(EXERCISES)
    friday_plan = apply(LIBRARY.plan("daily"), adjustments)
    assert {p.id: p.reps for p in friday_plan}["back_extension"] == 8
    assert questions(friday_plan, adjustments) == {
        "back_extension": "Last time back extensions hurt. Try them gently, or skip?"
    }
    assert history.summary_sentence(date(2025, 3, 6), NAMES) == (
        "You've done four sessions in the last seven days, a four-day streak; back extensions hurt last time."
    )

    # Fri: it hurts again -> left out of Saturday's plan.
    do_session(history, MONDAY + timedelta(days=4), {"back_extension": "skipped"})
    saturday = [p.id for p in apply(LIBRARY.plan("daily"), history.adjustments(EXERCISES))]
    assert "back_extension" not in saturday and "knee_rolls" in saturday
    assert history.adjustments(EXERCISES)["back_extension"].dropped

    # Sat: the user asks for it back: low end, asked first.
    history.restore("back_extension", now=MONDAY + timedelta(days=5))
    back = history.adjustments(EXERCISES)["back_extension"]
    assert not back.dropped and back.ask_first and (back.reps, back.hold_seconds) == (8, 5)
    do_session(history, MONDAY + timedelta(days=5), {})
    assert not history.adjustments(EXERCISES)["back_extension"].ask_first

    assert history.streak_days(date(2025, 3, 8)) == 6
    assert history.summary_sentence(date(2025, 3, 8), NAMES) == (
        "You've done six sessions in the last seven days, a six-day streak."
    )
    recent = history.recent(2)
    assert [s.started_at.date() for s in recent] == [date(2025, 3, 8), date(2025, 3, 7)]
    assert recent[1].hurt == ("back_extension",) and recent[1].skipped == ("back_extension",)
    assert recent[1].results[0].numbers is not None


def test_end_session_saves_records_not_yet_saved_once(history: History) -> None:
    session = history.start_session("short", MONDAY)
    first, second = record("knee_rolls", at=10), record("pelvic_tilt", "skipped", at=50)
    history.record_exercise(session, first, now=MONDAY)
    history.end_session(session, SessionEnded("short", (), (), 3.0, True, (first, second)), now=MONDAY)
    (saved,) = history.recent(1)
    assert [(r.exercise, r.outcome, r.reason) for r in saved.results] == [
        ("knee_rolls", "completed", None),
        ("pelvic_tilt", "skipped", "pain"),
    ]
    assert saved.stopped and saved.minutes == 3.0 and saved.ended_at is not None


def test_a_skip_for_a_given_reason_keeps_it(history: History) -> None:
    session = history.start_session("short", MONDAY)
    history.record_exercise(session, record("knee_rolls", "skipped"), reason="phone", now=MONDAY)
    assert history.recent(1)[0].results[0].reason == "phone"
    assert history.recent(1)[0].hurt == ()


def test_last_hurt_is_the_day_of_each_exercises_latest_skip_for_pain(history: History) -> None:
    do_session(history, MONDAY, {"knee_rolls": "skipped", "pelvic_tilt": "skipped"})
    do_session(history, MONDAY + timedelta(days=2), {"knee_rolls": "skipped", "pelvic_tilt": "completed"})
    session = history.start_session("short", now=MONDAY + timedelta(days=3))
    history.record_exercise(session, record("pelvic_tilt", "skipped"), reason="phone", now=MONDAY + timedelta(days=3))
    assert history.last_hurt() == {"knee_rolls": (MONDAY + timedelta(days=2)).date(), "pelvic_tilt": MONDAY.date()}


def test_recording_into_a_session_that_does_not_exist_is_a_history_error(history: History) -> None:
    with pytest.raises(HistoryError, match="no session 42"):
        history.record_exercise(42, record("knee_rolls"))


def test_streak_counts_days_in_a_row_ending_today_or_yesterday(history: History) -> None:
    for day in (0, 1, 2, 4, 5):
        do_session(history, MONDAY + timedelta(days=day), {})
    assert history.streak_days(date(2025, 3, 8)) == 2  # Fri, Sat (Thu missed)
    assert history.streak_days(date(2025, 3, 9)) == 2  # Sunday's session may still come
    assert history.streak_days(date(2025, 3, 10)) == 0
    assert history.streak_days(date(2025, 3, 5)) == 3


def test_a_session_where_everything_was_skipped_is_not_counted(history: History) -> None:
    do_session(history, MONDAY, {p.id: "skipped" for p in LIBRARY.plan("short")}, routine="short")
    assert history.streak_days(MONDAY.date()) == 0
    assert history.summary_sentence(MONDAY.date()).startswith("You haven't done a session in the last seven days")


# ---- crashes and resuming --------------------------------------------------------------------


def test_a_session_never_ended_is_offered_for_resuming_after_reopening(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    plan = LIBRARY.plan("daily")
    with History.open(path) as first:
        session = first.start_session("daily", MONDAY)
        for index in range(2):
            first.record_exercise(session, record(plan[index].id, at=index * 40.0), plan[index], now=MONDAY)
    with History.open(path) as reopened:
        unfinished = reopened.unfinished_session(now=MONDAY + timedelta(minutes=20))
        assert unfinished is not None and unfinished.session.id == session
        assert unfinished.last_exercise == plan[1].id
        assert unfinished.resume_index(plan) == 2
        assert [p.id for p in unfinished.remaining(plan)] == [p.id for p in plan[2:]]
        # The next day it is too late to resume.
        assert reopened.unfinished_session(now=MONDAY + timedelta(days=1)) is None
        reopened.abandon(session)
        assert reopened.unfinished_session(now=MONDAY) is None


def test_resuming_passes_over_exercises_dropped_since(history: History) -> None:
    plan = LIBRARY.plan("daily")
    session = history.start_session("daily", MONDAY)
    for planned in plan[:2]:
        history.record_exercise(session, record(planned.id), planned, now=MONDAY)
    unfinished = history.unfinished_session(now=MONDAY)
    assert unfinished is not None
    without_second = [p for p in plan if p.id != plan[1].id]
    assert unfinished.resume_index(without_second) == 1


def test_starting_a_new_session_closes_an_unfinished_one(history: History) -> None:
    old = history.start_session("daily", MONDAY)
    new = history.start_session("daily", MONDAY + timedelta(hours=1))
    unfinished = history.unfinished_session(now=MONDAY + timedelta(hours=1))
    assert unfinished is not None and unfinished.session.id == new
    assert history.recent(2)[1].id == old and history.recent(2)[1].stopped


CHILD = textwrap.dedent(
    """
    import sys
    from datetime import datetime
    from voicecoach.core.events import ExerciseRecord
    from voicecoach.history.store import History
    history = History.open(sys.argv[1])
    session = history.start_session("daily", datetime(2025, 3, 3, 8, 0).astimezone())
    n = 0
    while True:
        history.record_exercise(session, ExerciseRecord("knee_rolls", "completed", 8, 8, n, n + 1))
        n += 1
        if n == 3:
            print("ready", flush=True)
    """
)


def test_a_process_killed_mid_write_leaves_a_readable_resumable_history(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, env=env)
    try:
        assert child.stdout is not None and child.stdout.readline() == b"ready\n"
        import time

        time.sleep(0.2)  # let it write in a loop for a while: the kill lands mid-transaction or between
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL
    with History.open(path) as reopened:
        assert reopened.recovered_from is None
        assert reopened._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        unfinished = reopened.unfinished_session(now=datetime(2025, 3, 3, 8, 5).astimezone())
        assert unfinished is not None and unfinished.last_exercise == "knee_rolls"
        times = [r.started_at_seconds for r in unfinished.session.results]
        assert len(times) >= 3 and times == [float(n) for n in range(len(times))]  # no gaps, no half rows


# ---- unreadable files ------------------------------------------------------------------------


def _filled(path: Path) -> int:
    with History.open(path) as filled:
        for day in range(5):
            do_session(filled, MONDAY + timedelta(days=day), {})
    return path.stat().st_size


@pytest.mark.parametrize("keep", [0.5, 0.1, 50])
def test_a_truncated_file_is_moved_aside_and_a_fresh_history_started(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, keep: float
) -> None:
    path = tmp_path / "history.sqlite3"
    size = _filled(path)
    assert not Path(f"{path}-wal").exists()  # closing checkpointed everything into the file
    with path.open("r+b") as file:
        file.truncate(int(size * keep) if keep < 1 else int(keep))
    truncated = path.read_bytes()
    when = datetime(2025, 3, 9, 7, 30, tzinfo=TZ)
    with caplog.at_level(logging.WARNING, logger="voicecoach.history.file"):
        with History.open(path, now=when) as fresh:
            assert fresh.recovered_from == tmp_path / "history.sqlite3.corrupt-20250309T073000"
            assert fresh.recovered_from.read_bytes() == truncated
            assert fresh.recent(10) == [] and fresh.unfinished_session() is None
            fresh.start_session("daily", when)
    assert "could not be read" in caplog.text and "corrupt-20250309T073000" in caplog.text
    with History.open(path) as again:  # no loop: the fresh file opens cleanly next time
        assert again.recovered_from is None and len(again.recent(10)) == 1


def test_a_damaged_page_that_opening_alone_would_miss_is_found_by_the_quick_check(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    _filled(path)
    data = bytearray(path.read_bytes())
    page_size = 4096
    data[3 * page_size : 3 * page_size + 16] = b"\xff" * 16  # the b-tree header of page 4
    path.write_bytes(bytes(data))
    with sqlite3.connect(path) as db:  # the damage is not in the sessions table: it still reads
        assert db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0] == 5
        assert db.execute("PRAGMA quick_check").fetchone()[0] != "ok"
    with History.open(path, now=MONDAY) as fresh:
        assert fresh.recovered_from is not None and fresh.recent(10) == []


def test_a_file_that_is_not_a_database_is_moved_aside_with_its_wal(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    path.write_bytes(b"this is not a database, it is a shopping list\n" * 100)
    Path(f"{path}-wal").write_bytes(b"junk")
    with History.open(path, now=MONDAY) as fresh:
        assert fresh.recovered_from is not None and fresh.recovered_from.is_file()
        assert fresh.recent(1) == []
    # The stale WAL went with the bad file (or SQLite dropped it): none of it is near the new one.
    assert b"junk" not in Path(f"{path}-wal").read_bytes() if Path(f"{path}-wal").exists() else True


def test_two_recoveries_in_the_same_second_keep_both_bad_files(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    for text in (b"first", b"second"):
        path.write_bytes(text * 1000)
        History.open(path, now=MONDAY).close()
    kept = sorted(
        p.read_bytes()[:6] for p in tmp_path.glob("history.sqlite3.corrupt-*") if not p.name.endswith(("-wal", "-shm"))
    )
    assert kept == [b"firstf", b"second"]


def test_a_history_from_a_newer_voicecoach_is_a_history_error_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    before = path.read_bytes()
    with pytest.raises(HistoryError, match="newer voicecoach"):
        History.open(path)
    assert path.read_bytes() == before and list(tmp_path.glob("*.corrupt-*")) == []


def test_a_folder_that_cannot_be_made_is_a_history_error(tmp_path: Path) -> None:
    (tmp_path / "a_file").write_text("")
    with pytest.raises(HistoryError, match="Cannot create the history folder"):
        History.open(tmp_path / "a_file" / "history.sqlite3")


# ---- migrations ------------------------------------------------------------------------------


def test_an_older_file_is_migrated_in_one_transaction(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "history.sqlite3"
    _filled(path)
    extended = [*historyfile.MIGRATIONS, ("ALTER TABLE sessions ADD COLUMN mood TEXT",)]
    monkeypatch.setattr(historyfile, "MIGRATIONS", extended)
    with History.open(path) as migrated:
        assert migrated._db.execute("PRAGMA user_version").fetchone()[0] == len(extended)
        assert len(migrated.recent(10)) == 5
        migrated._db.execute("SELECT mood FROM sessions").fetchall()


def test_a_failing_migration_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "history.sqlite3"
    _filled(path)
    broken = [*historyfile.MIGRATIONS, ("ALTER TABLE sessions ADD COLUMN mood TEXT", "ALTER TABLE nowhere ADD x")]
    monkeypatch.setattr(historyfile, "MIGRATIONS", broken)
    with pytest.raises(HistoryError):
        History.open(path)
    monkeypatch.setattr(historyfile, "MIGRATIONS", broken[:-1])
    with History.open(path) as unchanged:
        assert unchanged._db.execute("PRAGMA user_version").fetchone()[0] == len(broken) - 1
        columns = [row[1] for row in unchanged._db.execute("PRAGMA table_info(sessions)")]
        assert "mood" not in columns and len(unchanged.recent(10)) == 5


# ---- with the real coach -----------------------------------------------------------------------


def _coach_session(said: dict[float, str]) -> tuple[SessionEnded, list[dict]]:
    from voicecoach.core.coach import Coach
    from voicecoach.core.commands import intent_for
    from voicecoach.core.events import Command
    from voicecoach.core.narration import Pace
    from voicecoach.session.loop import EstimatedSpeaker, Timeline, VirtualClock, run

    clock, timeline = VirtualClock(), Timeline()
    for seconds, phrase in said.items():
        intent = intent_for(phrase)
        assert intent is not None
        clock.schedule(seconds, Command(intent, phrase, seconds))
    ended = run(Coach(LIBRARY, "short", Pace()), clock, EstimatedSpeaker(clock), timeline)
    assert ended is not None
    return ended, timeline.entries


def test_the_coachs_own_records_make_a_pain_skip_and_a_gentler_plan(history: History) -> None:
    _, entries = _coach_session({})
    second = next(e for e in entries if e["kind"] == "state" and e.get("exercise") == LIBRARY.plan("short")[1].id)
    for day in range(2):
        ended, _ = _coach_session({second["t"] + 5.0: "skip"})
        when = MONDAY + timedelta(days=day)
        session = history.start_session("short", when)
        history.end_session(session, ended, now=when)
    (last,) = history.recent(1)
    assert last.hurt == (second["exercise"],) and len(last.results) == len(LIBRARY.plan("short"))
    plan = [p.id for p in apply(LIBRARY.plan("short"), history.adjustments(EXERCISES))]
    assert second["exercise"] not in plan and plan == [
        p.id for p in LIBRARY.plan("short") if p.id != second["exercise"]
    ]


def test_a_history_from_before_the_voice_table_gains_it_and_keeps_its_sessions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "history.sqlite3"
    with monkeypatch.context() as old:
        old.setattr(historyfile, "MIGRATIONS", historyfile.MIGRATIONS[:1])  # as voicecoach wrote it before
        _filled(path)
    with History.open(path) as migrated:
        assert len(migrated.recent(10)) == 5
        assert migrated.remembered_voice({"volume": 1.0}) == {"volume": 1.0}
        migrated.remember_voice("volume", 0.4, 1.0)
        assert migrated.remembered_voice({"volume": 1.0}) == {"volume": 0.4}


# ---- the pace and volume said last ------------------------------------------------------------


def test_the_voice_said_last_is_remembered_unless_the_settings_file_changed_since(history: History) -> None:
    file = {"breath_seconds": 6.0, "volume": 1.0}
    assert history.remembered_voice(file) == file  # nothing said yet: the file's
    history.remember_voice("breath_seconds", 7.0, 6.0, now=MONDAY)
    history.remember_voice("breath_seconds", 8.0, 6.0, now=MONDAY + timedelta(minutes=1))
    history.remember_voice("volume", 0.63, 1.0, now=MONDAY)
    assert history.remembered_voice(file) == {"breath_seconds": 8.0, "volume": 0.63}  # the last said wins
    assert history.remembered_voice({"breath_seconds": 5.0, "volume": 1.0}) == {"breath_seconds": 5.0, "volume": 0.63}
