"""`voicecoach simulate --history`: simulated days remembered as the appliance remembers them, so a
week of sessions with pain skips can be checked against the seeds' advice from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from voicecoach.apps.cli import main

REPO = Path(__file__).resolve().parent.parent
EXERCISES = str(REPO / "exercises.yaml")


def day(history: Path, when: str, capsys, *said: str) -> list[dict]:
    """One simulated daily session on `when`; its timeline."""
    says = [arg for s in said for arg in ("--say", s)]
    assert (
        main(
            [
                "simulate",
                "--exercises",
                EXERCISES,
                "--routine",
                "daily",
                "--json",
                "--history",
                str(history),
                "--at",
                when,
                *says,
            ]
        )
        == 0
    )
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def spoken(timeline: list[dict]) -> list[str]:
    return [e["text"] for e in timeline if e["kind"] == "say"]


def records(timeline: list[dict], exercise: str) -> list[str]:
    return [e["outcome"] for e in timeline if e["kind"] == "exercise" and e["exercise"] == exercise]


def test_two_pain_skips_make_it_asked_then_left_out_and_history_shows_the_days(tmp_path, capsys):
    history = tmp_path / "history.sqlite3"
    first = day(history, "2026-03-02T08:00", capsys, "3:10:skip")  # pelvic tilt begins at 3:07
    assert records(first, "pelvic_tilt") == ["skipped"]

    second = day(history, "2026-03-03T08:00", capsys, "3:20:skip")
    assert "Last time pelvic tilt hurt. Try it gently, or skip? Say yes, or skip." in spoken(second)
    assert records(second, "pelvic_tilt") == ["skipped"]
    assert any("leave" in text and "out from now on" in text for text in spoken(second)), spoken(second)[-3:]

    third = day(history, "2026-03-04T08:00", capsys)
    assert records(third, "pelvic_tilt") == []
    assert not any("Pelvic tilt" in text for text in spoken(third))
    assert records(third, "knee_rolls") == ["completed"]

    assert main(["history", "--history", str(history), "--exercises", EXERCISES]) == 0
    shown = capsys.readouterr().out
    for date in ("2026-03-02", "2026-03-03", "2026-03-04"):
        assert date in shown
    assert "pelvic_tilt" in shown.split("Left out because they hurt")[1]


def test_sessions_done_without_pain_grow_the_numbers(tmp_path, capsys):
    history = tmp_path / "history.sqlite3"
    counted = []
    for n in range(1, 8):
        timeline = day(history, f"2026-03-0{n}T08:00", capsys)
        counted.append(
            max(e.get("rep") or 0 for e in timeline if e["kind"] == "state" and e.get("exercise") == "back_extension")
        )
    assert counted[0] == 8, "the first session starts at the low end of 8 to 10"
    assert counted == sorted(counted) and counted[-1] > counted[0], counted
    assert max(counted) <= 10, "never past the article's range"


def test_at_without_history_is_refused_in_one_sentence(capsys):
    assert main(["simulate", "--routine", "short", "--at", "2026-03-02"]) == 1
    assert "--at" in capsys.readouterr().err


@pytest.mark.parametrize("when", ["yesterday", "2026-13-01"])
def test_a_date_that_is_not_one_is_named(when, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["simulate", "--routine", "short", "--history", str(tmp_path / "h"), "--at", when])
    assert "is not a date" in capsys.readouterr().err


# ---- pace and volume said by voice are where the next session begins --------------------------


def short_session(history: Path, when: str, capsys, *said: str, config: Path) -> list[dict]:
    """One simulated short session on `when`, with the settings file `config`; its timeline."""
    says = [arg for s in said for arg in ("--say", s)]
    assert (
        main(
            [
                "simulate",
                "--exercises",
                EXERCISES,
                "--routine",
                "short",
                "--json",
                "--config",
                str(config),
                "--history",
                str(history),
                "--at",
                when,
                *says,
            ]
        )
        == 0
    )
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def breathing_in_seconds(timeline: list[dict]) -> float:
    """How long the first paced in-breath lasts (knee rolls): 40 % of one breath."""
    said = [(e["t"], e["text"]) for e in timeline if e["kind"] == "say"]
    at = next(i for i, (_, text) in enumerate(said) if text == "Take a deep breath in…")
    assert said[at + 1][1] == "and out."
    return round(said[at + 1][0] - said[at][0], 3)


def volumes(timeline: list[dict]) -> list[float]:
    return [e["volume"] for e in timeline if e["kind"] == "volume"]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text("breath_seconds: 6\nvolume: 1.0\n")
    return path


def test_pace_and_volume_said_in_a_session_are_where_the_next_one_begins(tmp_path, capsys, config):
    history = tmp_path / "history.sqlite3"
    first = short_session(history, "2026-03-02T08:00", capsys, "30:slower", "31:slow down", "32:quieter", config=config)
    assert breathing_in_seconds(first) == pytest.approx(0.4 * 8) and volumes(first) == [0.63]

    second = short_session(history, "2026-03-03T08:00", capsys, "30:louder", config=config)
    assert breathing_in_seconds(second) == pytest.approx(0.4 * 8)  # nothing said about the pace: as last time
    assert volumes(second) == [1.0]  # one step up from 0.63, where this session began

    third = short_session(history, "2026-03-04T08:00", capsys, "30:faster", "31:quieter", config=config)
    assert breathing_in_seconds(third) == pytest.approx(0.4 * 7) and volumes(third) == [0.63]
    fourth = short_session(history, "2026-03-05T08:00", capsys, "30:louder", config=config)
    assert breathing_in_seconds(fourth) == pytest.approx(0.4 * 7) and volumes(fourth) == [1.0]  # the last said wins


def test_a_settings_file_changed_after_something_was_said_wins(tmp_path, capsys, config):
    history = tmp_path / "history.sqlite3"
    short_session(history, "2026-03-02T08:00", capsys, "30:slower", "31:quieter", config=config)
    config.write_text("breath_seconds: 5\nvolume: 0.25\n")  # edited after the session
    edited = short_session(history, "2026-03-03T08:00", capsys, "30:louder", config=config)
    assert breathing_in_seconds(edited) == pytest.approx(0.4 * 5) and volumes(edited) == [0.4]


def test_without_a_history_nothing_is_remembered(tmp_path, capsys, config):
    for _ in range(2):
        assert (
            main(
                [
                    "simulate",
                    "--exercises",
                    EXERCISES,
                    "--routine",
                    "short",
                    "--json",
                    "--config",
                    str(config),
                    "--say",
                    "30:slower",
                    "--say",
                    "31:quieter",
                ]
            )
            == 0
        )
        timeline = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert breathing_in_seconds(timeline) == pytest.approx(0.4 * 7) and volumes(timeline) == [0.63]
