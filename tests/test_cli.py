"""The `voicecoach` command as a new user meets it: check, list, simulate and run --text."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from voicecoach.apps.cli import main
from voicecoach.routinefile.loader import load
from voicecoach.session.text import run_text

REPO = Path(__file__).resolve().parent.parent


def test_check_accepts_the_shipped_file(capsys):
    assert main(["check", str(REPO / "exercises.yaml")]) == 0
    assert "valid, 18 exercises and 4 routines (daily, short, gentle, core)" in capsys.readouterr().out


def test_check_rejects_a_broken_copy_with_one_line_and_a_non_zero_exit(tmp_path, capsys):
    bad = tmp_path / "exercises.yaml"
    bad.write_text(
        (REPO / "exercises.yaml")
        .read_text()
        .replace("    reps: [8, 10]\n    reps_counted", "    reps: lots\n    reps_counted")
    )
    assert main(["check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: exercises.yaml:") and "exercises.knee_rolls.reps should be a whole number" in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_list_shows_routines_exercises_and_durations(capsys):
    assert main(["list", "--exercises", str(REPO / "exercises.yaml")]) == 0
    out = capsys.readouterr().out
    assert "daily: Daily routine, about 17:" in out
    assert "Bottom to heels stretch (cool-down)" in out
    assert "8 reps in all, hold 1 breath, alternating" in out


def test_simulate_prints_a_readable_timeline(capsys):
    assert main(["simulate", "--routine", "short", "--say", "42:pause", "--say", "1:30:resume"]) == 0
    out = capsys.readouterr().out
    assert '0:42.0  user   "pause" (pause, 1.00)' in out
    assert "0:42.0  coach  Paused." in out
    assert "1:30.0  coach  Carrying on." in out
    assert "end    3 done, 6." in out.splitlines()[-2]


def test_simulate_json_gives_one_object_per_line_with_the_documented_fields(capsys):
    assert main(["simulate", "--routine", "short", "--say", "200:skip", "--json"]) == 0
    entries = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    kinds = {e["kind"] for e in entries}
    assert {"say", "heard", "state", "cue", "end"} <= kinds
    assert all(isinstance(e["t"], (int, float)) for e in entries)
    heard = [e for e in entries if e["kind"] == "heard"]
    assert heard == [{"t": 200.0, "kind": "heard", "phrase": "skip", "intent": "skip", "confidence": 1.0}]
    state = next(e for e in entries if e["kind"] == "state" and e["rep"])
    assert set(state) == {"t", "kind", "state", "exercise", "rep", "side"}
    end = entries[-2]
    assert end["kind"] == "end" and end["skipped"] == ["knee_rolls"] and "done" in end


def test_simulate_rejects_a_phrase_that_is_not_a_command(capsys):
    assert main(["simulate", "--say", "10:jump"]) == 1
    assert "'jump' is not a command" in capsys.readouterr().err


def test_an_unknown_routine_is_named(capsys):
    assert main(["simulate", "--routine", "weekly"]) == 1
    assert (
        capsys.readouterr().err
        == "error: exercises.yaml has no routine called 'weekly'; it has: daily, short, gentle, core.\n"
    )


def test_run_text_takes_typed_commands_in_real_time():
    out = io.StringIO()
    run_text(load(REPO / "exercises.yaml"), "short", lines=["help\n", "jump\n", "stop\n"], out=out)
    text = out.getvalue()
    assert "coach  You can say: pause, skip, if it hurts" in text
    assert "('jump' is not a command; type help)" in text
    assert "coach  Stopping here. You did no exercises, in less than a minute." in text


def test_run_text_with_a_history_starts_at_the_pace_and_volume_said_last_time(tmp_path):
    from voicecoach.core.narration import Pace, Volume
    from voicecoach.history.store import History

    library, path = load(REPO / "exercises.yaml"), tmp_path / "history.sqlite3"
    with History.open(path) as history:
        run_text(
            library,
            "short",
            lines=["slower\n", "volume down\n", "stop\n"],
            out=io.StringIO(),
            history=history,
            pace=Pace(6.0),
            volume=Volume(1.0),
        )
    out = io.StringIO()
    with History.open(path) as history:
        run_text(
            library,
            "short",
            lines=["faster\n", "louder\n", "stop\n"],
            out=out,
            history=history,
            pace=Pace(6.0),
            volume=Volume(1.0),
        )
    text = out.getvalue()
    assert "pace   one breath in 6 s" in text and "volume 1" in text  # one step back from 7 s and 0.63


def test_the_console_entry_point_runs_as_a_module():
    result = subprocess.run(
        [sys.executable, "-m", "voicecoach", "simulate", "--routine", "gentle", "--json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    last = json.loads(result.stdout.splitlines()[-2])
    assert last["kind"] == "end" and last["routine"] == "gentle" and not last["stopped"]


def test_the_settings_file_paces_the_breathing_and_a_bad_value_only_warns(tmp_path, capsys):
    config = tmp_path / "config.yaml"
    config.write_text("breath_seconds: 10\nvolume: loud\n")
    assert main(["simulate", "--routine", "gentle", "--json", "--config", str(config)]) == 0
    captured = capsys.readouterr()
    assert "warning: " in captured.err and "volume" in captured.err
    says = [json.loads(line) for line in captured.out.splitlines()]
    says = [(e["t"], e["text"]) for e in says if e["kind"] == "say"]
    breath_in = next(t for t, text in says if text == "Breathe in…")
    breath_out = next(t for t, text in says if text.startswith("and out.") and t > breath_in)
    assert breath_out - breath_in == 4.0  # 40 % of the ten-second breath the file asks for


def test_options_on_the_command_line_win_over_the_settings_file(tmp_path, capsys):
    config = tmp_path / "config.yaml"
    config.write_text("routine: gentle\n")
    assert main(["simulate", "--json", "--config", str(config)]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-2])["routine"] == "gentle"
    assert main(["simulate", "--json", "--config", str(config), "--routine", "short"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-2])["routine"] == "short"


def test_run_remembers_the_session_in_the_history_as_serve_does(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setattr(sys, "stdin", io.StringIO("skip\nit hurts\nstop\n"))  # the introduction, then pain
    assert main(["run", "--text", "--routine", "short"]) == 0

    from voicecoach.history.store import History

    history = History.open()
    try:
        [session] = history.recent()
    finally:
        history.close()
    assert session.routine == "short" and session.stopped
    assert [(r.exercise, r.outcome) for r in session.results] == [("pelvic_tilt", "skipped")]


def test_run_no_history_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setattr(sys, "stdin", io.StringIO("stop\n"))
    assert main(["run", "--text", "--routine", "short", "--no-history"]) == 0
    assert not (tmp_path / "data").exists()
