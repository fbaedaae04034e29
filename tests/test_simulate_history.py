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
