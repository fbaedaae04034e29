"""`voicecoach history`: what it prints, --restore and --plot."""

from __future__ import annotations

import argparse
import io
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from voicecoach.apps.historycli import add_arguments, history_command, weekly
from voicecoach.core.events import ExerciseRecord, SessionEnded
from voicecoach.history.store import History

REPO = Path(__file__).resolve().parent.parent


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--exercises", default=str(REPO / "exercises.yaml"))
    add_arguments(parser)
    return parser.parse_args(list(argv))


def run(*argv: str) -> str:
    out = io.StringIO()
    assert history_command(parse(*argv), out) == 0
    return out.getvalue()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    """Two sessions, today and yesterday; pelvic tilts hurt in both."""
    path = tmp_path / "history.sqlite3"
    today = datetime.now().astimezone().replace(hour=8, minute=0, second=0, microsecond=0)
    with History.open(path) as history:
        for when in (today - timedelta(days=1), today):
            session = history.start_session("short", when)
            records = (
                ExerciseRecord("knee_rolls", "completed", 8, 8, 10, 60),
                ExerciseRecord("pelvic_tilt", "skipped", 0, 5, 60, 70),
            )
            for record in records:
                history.record_exercise(session, record, now=when)
            history.end_session(session, SessionEnded("short", (), (), 9.0, False, records), now=when)
    return path


def test_no_history_yet_is_said_and_no_file_is_made(tmp_path: Path) -> None:
    text = run("--history", str(tmp_path / "none.sqlite3"))
    assert text.startswith("No history yet") and not (tmp_path / "none.sqlite3").exists()


def test_prints_the_summary_sessions_numbers_and_dropped_exercises(path: Path) -> None:
    text = run("--history", str(path))
    assert (
        text.splitlines()[0]
        == "You've done two sessions in the last seven days, a two-day streak; pelvic tilt hurt last time."
    )
    assert text.count("short") == 2 and "skipped Pelvic tilt (hurt)" in text
    assert "Knee rolls" in text and "8 reps, hold 1 breath" in text
    assert "Left out because they hurt" in text and "pelvic_tilt  (Pelvic tilt): Hurt twice in a row" in text


def test_restore_brings_a_dropped_exercise_back_asked_first(path: Path) -> None:
    text = run("--history", str(path), "--restore", "pelvic_tilt")
    assert "Pelvic tilt is back" in text and "Left out" not in text
    assert "ASK FIRST" in text


def test_restore_of_an_unknown_exercise_is_one_sentence(path: Path) -> None:
    from voicecoach.errors import VoicecoachError

    with pytest.raises(VoicecoachError, match="no exercise called 'toe_touches'"):
        history_command(parse("--history", str(path), "--restore", "toe_touches"), io.StringIO())


def test_weekly_counts_sessions_and_skips_per_week(path: Path) -> None:
    with History.open(path) as history:
        sessions = history.recent(10)
    today = date.today()
    weeks = weekly(sessions, today, 3)
    assert [w.monday.weekday() for w in weeks] == [0, 0, 0] and weeks[-1].monday <= today
    assert sum(w.sessions for w in weeks) == 2 and sum(w.skipped.get("pelvic_tilt", 0) for w in weeks) == 2
    assert sum(w.hurt for w in weeks) == 2


def test_plot_writes_a_png(path: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "plots" / "history.png"
    text = run("--history", str(path), "--plot", str(out), "--weeks", "4")
    assert f"Plotted 4 weeks to {out}" in text
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 5000
