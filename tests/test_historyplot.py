"""`history --plot`: each exercise's repetitions and hold over time, the articles' range shaded, pain
skips marked, the next session's numbers shown; checked on the figure itself, not on its pixels."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from historyweek import EXERCISES, week

from voicecoach.apps.historyplot import DONE, HURT, NEXT, SEED_RANGE, Picture, exercise_figure, progress, svg
from voicecoach.history.store import History
from voicecoach.routinefile.loader import load

plt = pytest.importorskip("matplotlib.pyplot")
mdates = pytest.importorskip("matplotlib.dates")

LIBRARY = load(EXERCISES)
NAMES = {e: x.name for e, x in LIBRARY.content.exercises.items()}


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[datetime]]:
    """A week with pain skips (tests/historyweek.py), and the sessions' start times."""
    path = tmp_path_factory.mktemp("week") / "history.sqlite3"
    return path, week(path)


@pytest.fixture(scope="module")
def picture(history: tuple[Path, list[datetime]]) -> tuple[Picture, list[datetime]]:
    with History.open(history[0]) as opened:
        return Picture.read(opened, LIBRARY.content.exercises, date.today(), 4), history[1]


@pytest.fixture(scope="module")
def axes(picture: tuple[Picture, list[datetime]]) -> Iterator[dict[str, Any]]:
    """The drawn figure's axes by title."""
    figure = picture[0].figure(NAMES)
    yield {a.get_title(loc="left"): a for a in figure.axes}
    plt.close(figure)


def lines(axes: Any, label: str) -> list[Any]:
    return [line for line in axes.get_lines() if line.get_label() == label]


def points(line: Any) -> list[tuple[datetime, float]]:
    return [(mdates.num2date(x), float(y)) for x, y in zip(mdates.date2num(line.get_xdata()), line.get_ydata())]


def seed_span(axes: Any) -> tuple[float, float]:
    """The y extent of the shaded range (a band, or a thick line where the range is one number)."""
    for patch in axes.patches:
        if patch.get_label() == SEED_RANGE:
            ys = patch.get_patch_transform().transform(patch.get_path().vertices)[:, 1]
            return float(min(ys)), float(max(ys))
    (line,) = lines(axes, SEED_RANGE)
    return float(min(line.get_ydata())), float(max(line.get_ydata()))


def test_progress_has_one_point_per_session_in_the_routines_order(picture):
    drawn, started = picture
    assert list(drawn.points)[:3] == ["knee_rolls", "pelvic_tilt", "deep_abdominal"]
    assert [p.when for p in drawn.points["back_extension"]] == started
    assert [p.pain for p in drawn.points["knees_to_chest"]] == [False] * 8 + [True, True]
    assert len(drawn.points["knees_to_chest"]) == 10, "left out after the second pain skip"


def test_every_exercise_has_its_repetitions_and_its_hold(axes, picture):
    for exercise_id in picture[0].points:
        name = NAMES[exercise_id]
        assert f"{name}: repetitions" in axes
    assert "Back extensions: hold (seconds)" in axes
    assert "Deep abdominal strengthening: hold (breaths)" in axes
    assert not any(title.startswith("Hip rolling: hold") for title in axes), "hip rolling has no hold"
    assert {"Sessions per week", "Skipped exercises per week"} <= set(axes)


def test_the_articles_range_is_shaded(axes):
    assert seed_span(axes["Back extensions: repetitions"]) == (8, 10)
    assert seed_span(axes["Knees to chest: hold (seconds)"]) == (15, 20)
    low, high = seed_span(axes["Pelvic tilt: repetitions"])  # 5 repetitions, no range: a band at 5
    assert low == high == 5


def test_growth_is_drawn_and_stays_inside_the_range(axes, picture):
    (reps,) = lines(axes["Back extensions: repetitions"], DONE)
    values = [y for _, y in points(reps)]
    assert values[0] == 8 and values == sorted(values) and values[-1] == 10
    (breaths,) = lines(axes["Deep abdominal strengthening: hold (breaths)"], DONE)
    values = [y for _, y in points(breaths)]
    assert values[0] == 5 and values[-1] > 7 and values == sorted(values) and max(values) <= 10


def test_pain_skips_are_marked_where_and_at_the_numbers_they_happened(axes, picture):
    started = picture[1]
    (hurt,) = lines(axes["Knees to chest: repetitions"], HURT)
    assert [when for when, _ in points(hurt)] == [started[8], started[9]]
    (hurt,) = lines(axes["Back extensions: hold (seconds)"], HURT)
    [(when, seconds)] = points(hurt)
    assert when == started[-1] and seconds == picture[0].points["back_extension"][-1].numbers.hold_seconds
    assert lines(axes["Knee rolls: repetitions"], HURT) == [], "knee rolls never hurt"
    (done,) = lines(axes["Pelvic tilt: repetitions"], DONE)
    assert started[4] not in [when for when, _ in points(done)], "a pain skip is not drawn as done"


def test_the_next_session_is_shown_and_a_left_out_exercise_says_so(axes, picture):
    adjustments = picture[0].adjustments
    (following,) = lines(axes["Back extensions: hold (seconds)"], NEXT)
    assert points(following)[0][1] == adjustments["back_extension"].hold_seconds
    assert points(following)[0][0] > picture[1][-1]
    knees = axes["Knees to chest: repetitions"]
    assert lines(knees, NEXT) == []
    assert any("left out" in text.get_text() for text in knees.texts)


def test_no_sessions_draws_the_weeks_alone(tmp_path):
    with History.open(tmp_path / "h.sqlite3") as history:
        drawn = Picture.read(history, LIBRARY.content.exercises, date.today(), 2)
    figure = drawn.figure(NAMES)
    assert len(figure.axes) == 2 and drawn.points == {}
    plt.close(figure)


def test_the_svg_names_no_address_and_keeps_text_as_text(picture):
    drawn = picture[0]
    text = svg(
        exercise_figure(
            "Back extensions",
            LIBRARY.content.exercises["back_extension"],
            drawn.points["back_extension"],
            drawn.adjustments["back_extension"],
            drawn.next_at,
        )
    )
    assert text.startswith("<svg") and "Back extensions: repetitions" in text
    assert "<metadata>" not in text and "matplotlib.org" not in text


def test_progress_leaves_out_exercises_no_longer_in_the_file(history):
    with History.open(history[0]) as opened:
        sessions = opened.recent(3)
    exercises = {e: x for e, x in LIBRARY.content.exercises.items() if e != "knee_rolls"}
    assert "knee_rolls" not in progress(sessions, exercises) and "pelvic_tilt" in progress(sessions, exercises)
