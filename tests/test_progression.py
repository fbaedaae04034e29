"""Progression against the seeds' advice: start slowly, grow gradually, never push through pain."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from voicecoach.core.progression import (
    GOOD_SESSIONS_TO_GROW,
    Attempt,
    Numbers,
    apply,
    questions,
    replay,
)
from voicecoach.routinefile.loader import load

REPO = Path(__file__).resolve().parent.parent
LIBRARY = load(REPO / "exercises.yaml")
EXERCISES = LIBRARY.content.exercises
BACK_EXTENSION = EXERCISES["back_extension"]  # reps 8 to 10, hold 5 to 10 seconds
COMPLETED = Attempt("completed")
PAIN = Attempt("skipped", "pain")


def numbers_after(attempts: list[Attempt], exercise_id: str = "back_extension") -> tuple[int, int | None]:
    adjustment = replay(exercise_id, EXERCISES[exercise_id], attempts)
    return adjustment.reps, adjustment.hold_seconds


def test_a_new_exercise_starts_at_the_low_end_of_the_seed_range() -> None:
    adjustment = replay("back_extension", BACK_EXTENSION, [])
    assert (adjustment.reps, adjustment.hold_seconds) == (8, 5)
    assert not adjustment.ask_first and not adjustment.dropped and adjustment.question is None


def test_grows_one_repetition_only_after_three_completed_sessions_in_a_row() -> None:
    assert GOOD_SESSIONS_TO_GROW == 3
    assert numbers_after([COMPLETED] * 2) == (8, 5)
    assert numbers_after([COMPLETED] * 3) == (9, 5)
    assert "one step up" in replay("back_extension", BACK_EXTENSION, [COMPLETED] * 3).why
    assert numbers_after([COMPLETED] * 5) == (9, 5)
    assert numbers_after([COMPLETED] * 6) == (10, 5)


@pytest.mark.parametrize("interruption", ["ended_early", "stopped"])
def test_a_session_not_completed_restarts_the_count(interruption: str) -> None:
    attempts = [COMPLETED, COMPLETED, Attempt(interruption), COMPLETED, COMPLETED]
    assert numbers_after(attempts) == (8, 5)
    assert numbers_after([*attempts, COMPLETED]) == (9, 5)


def test_repetitions_grow_first_then_the_hold_and_never_past_the_high_end() -> None:
    seen = [numbers_after([COMPLETED] * n) for n in range(0, 60, 3)]
    assert seen[:4] == [(8, 5), (9, 5), (10, 5), (10, 6)]
    assert all(8 <= reps <= 10 and 5 <= hold <= 10 for reps, hold in seen)
    assert seen[-1] == (10, 10)
    assert "top of the seed's range" in replay("back_extension", BACK_EXTENSION, [COMPLETED] * 60).why


def test_an_exercise_counted_over_both_sides_grows_by_one_each_side() -> None:
    # knee_rolls: 8 to 10 in total, alternating sides.
    assert numbers_after([COMPLETED] * 3, "knee_rolls")[0] == 10
    assert numbers_after([COMPLETED] * 30, "knee_rolls")[0] == 10


def test_the_numbers_grow_from_those_actually_used() -> None:
    used = Attempt("completed", numbers=Numbers(9, 7))
    assert numbers_after([used] * 3) == (10, 7)
    # Numbers outside the seed range (the file changed) are brought back inside it.
    assert numbers_after([Attempt("completed", numbers=Numbers(50, 1))]) == (10, 5)


def test_pain_makes_it_one_step_gentler_and_asks_first() -> None:
    grown = [COMPLETED] * 9  # 10 reps, hold 6
    assert numbers_after(grown) == (10, 6)
    adjustment = replay("back_extension", BACK_EXTENSION, [*grown, PAIN])
    assert (adjustment.reps, adjustment.hold_seconds) == (10, 5)  # the last step up, undone
    assert adjustment.ask_first and not adjustment.dropped
    assert adjustment.question == "Last time back extensions hurt. Try them gently, or skip?"
    assert "Hurt last time" in adjustment.why


def test_pain_never_goes_below_the_low_end() -> None:
    adjustment = replay("pelvic_tilt", EXERCISES["pelvic_tilt"], [PAIN])
    assert (adjustment.reps, adjustment.hold_seconds) == (5, 5)
    assert adjustment.question == "Last time pelvic tilt hurt. Try it gently, or skip?"


def test_after_trying_gently_without_pain_the_coach_stops_asking() -> None:
    adjustment = replay("back_extension", BACK_EXTENSION, [PAIN, COMPLETED])
    assert not adjustment.ask_first and adjustment.question is None
    # The count towards growth starts again after the pain.
    assert numbers_after([COMPLETED, COMPLETED, PAIN, COMPLETED, COMPLETED]) == (8, 5)


def test_a_session_stopped_before_the_question_is_answered_keeps_asking() -> None:
    assert replay("back_extension", BACK_EXTENSION, [PAIN, Attempt("stopped")]).ask_first


def test_two_pain_skips_in_a_row_drop_it_but_not_with_a_good_session_between() -> None:
    dropped = replay("back_extension", BACK_EXTENSION, [COMPLETED, PAIN, PAIN])
    assert dropped.dropped and not dropped.ask_first
    assert "left out until you ask for it back" in dropped.why
    assert not replay("back_extension", BACK_EXTENSION, [PAIN, COMPLETED, PAIN]).dropped
    assert not replay("back_extension", BACK_EXTENSION, [PAIN, Attempt("ended_early"), PAIN]).dropped


def test_a_skip_for_another_reason_is_not_pain() -> None:
    adjustment = replay("back_extension", BACK_EXTENSION, [Attempt("skipped", "not now")] * 2)
    assert not adjustment.ask_first and not adjustment.dropped


def test_restored_starts_again_at_the_low_end_and_asks_first() -> None:
    adjustment = replay("back_extension", BACK_EXTENSION, [], restored=True)
    assert (adjustment.reps, adjustment.hold_seconds) == (8, 5)
    assert adjustment.ask_first and not adjustment.dropped
    assert adjustment.question == "You asked for back extensions back. Try them gently, or skip?"
    assert replay("back_extension", BACK_EXTENSION, [PAIN, PAIN], restored=True).dropped


def test_the_settings_are_named_parameters() -> None:
    assert numbers_after([COMPLETED]) == (8, 5)
    assert replay("back_extension", BACK_EXTENSION, [COMPLETED], good_sessions_to_grow=1).reps == 9
    assert replay("back_extension", BACK_EXTENSION, [PAIN], pain_skips_to_drop=1).dropped


def test_an_unknown_outcome_is_refused() -> None:
    with pytest.raises(ValueError, match="outcome"):
        Attempt("finished")


def test_apply_changes_the_numbers_leaves_out_dropped_and_keeps_the_rest() -> None:
    plan = LIBRARY.plan("daily")
    ids = [p.id for p in plan]
    adjustments = {
        "back_extension": replay("back_extension", BACK_EXTENSION, [COMPLETED] * 9),
        "pelvic_tilt": replay("pelvic_tilt", EXERCISES["pelvic_tilt"], [PAIN, PAIN]),
        "knee_rolls": replay("knee_rolls", EXERCISES["knee_rolls"], [PAIN]),
        "not_in_this_routine": replay("side_bending", EXERCISES["side_bending"], []),
    }
    adjusted = apply(plan, adjustments)
    assert [p.id for p in adjusted] == [i for i in ids if i != "pelvic_tilt"]
    by_id = {p.id: p for p in adjusted}
    assert (by_id["back_extension"].reps, by_id["back_extension"].hold_seconds) == (10, 6)
    assert by_id["deep_abdominal"] == plan[ids.index("deep_abdominal")]  # no history: untouched
    assert by_id["bottom_to_heels"].cool_down
    assert questions(adjusted, adjustments) == {"knee_rolls": "Last time knee rolls hurt. Try them gently, or skip?"}
    assert [p.id for p in plan] == ids  # the plan itself is not changed


def test_progression_does_no_io() -> None:
    tree = ast.parse((REPO / "voicecoach" / "core" / "progression.py").read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")])
    }
    assert imported <= {"__future__", "logging", "collections", "dataclasses", "voicecoach"}


@pytest.mark.parametrize("exercise_id", sorted(EXERCISES))
def test_every_exercise_stays_within_its_seed_ranges(exercise_id: str) -> None:
    exercise = EXERCISES[exercise_id]
    histories = [[COMPLETED] * n for n in range(0, 80, 7)]
    histories += [[COMPLETED] * n + [PAIN] for n in range(0, 80, 7)] + [[PAIN, COMPLETED] * 20]
    for attempts in histories:
        numbers = replay(exercise_id, exercise, attempts).numbers
        for field in ("reps", "hold_seconds", "hold_breaths", "duration_seconds"):
            seed_range = getattr(exercise, field)
            value = getattr(numbers, field)
            assert (value is None) if seed_range is None else (value in seed_range), (field, value, seed_range)
    top = replay(exercise_id, exercise, [COMPLETED] * 200).numbers
    assert top.reps == exercise.reps.high
