"""Every exercise of the five seed articles is in exercises.yaml with the article's own numbers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from voicecoach.core.narration import Pace, compile_session, segment_seconds
from voicecoach.core.routine import Range, Sides
from voicecoach.routinefile.loader import load

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO.parent / "shared" / "seeds"
LIBRARY = load(REPO / "exercises.yaml")

# id: (hold field, hold range, reps range, sides, reps counted, seed file prefix, words of the seed that give the numbers)
SEED_EXERCISES = {
    "bottom_to_heels": (
        "hold_breaths",
        (1, 1),
        (8, 10),
        "none",
        "per_side",
        "003",
        "Hold the stretch for one deep breath",
    ),
    "lower_back_stretch": (
        "hold_seconds",
        (20, 30),
        (6, 8),
        "none",
        "per_side",
        "001",
        "Hold the stretch for 20-30 seconds",
    ),
    "knee_rolls": (
        "hold_breaths",
        (1, 1),
        (8, 10),
        "alternating",
        "in_total",
        "003",
        "Repeat 8 to 10 times, alternating sides",
    ),
    "knee_rolls_each_side": (
        "hold_breaths",
        (1, 1),
        (1, 1),
        "alternating",
        "per_side",
        "000",
        "Hold this stretch while you take one deep breath",
    ),
    "knee_rolls_rotational": (
        "hold_seconds",
        (10, 10),
        (2, 3),
        "alternating",
        "per_side",
        "004",
        "two or three times on each side",
    ),
    "deep_abdominal": (
        "hold_breaths",
        (5, 10),
        (5, 5),
        "none",
        "per_side",
        "003",
        "for 5 to 10 breaths, and relax. Repeat 5 times",
    ),
    "deep_abdominal_seconds": (
        "hold_seconds",
        (5, 10),
        (5, 5),
        "none",
        "per_side",
        "001",
        "Hold this gentle contraction for 5 to 10 seconds",
    ),
    "lower_tummy": (
        None,
        None,
        (6, 8),
        "alternating",
        "per_side",
        "001",
        "Repeat this exercise on each leg six to eight times",
    ),
    "pelvic_tilt": ("hold_seconds", (5, 5), (5, 5), "none", "per_side", "002", "Hold for 5 seconds. Repeat 5 times"),
    "pelvic_tilt_rocking": (
        None,
        None,
        (10, 15),
        "none",
        "per_side",
        "003",
        "Repeat 10 to 15 times, tilting your pelvis back and forth",
    ),
    "hip_rolling": (None, None, (5, 5), "alternating", "per_side", "002", "Repeat 5 times in each direction"),
    "side_bending": ("hold_seconds", (5, 5), (5, 5), "alternating", "per_side", "002", "Repeat 5 times on each side"),
    "backward_bending": (
        "hold_seconds",
        (5, 5),
        (5, 5),
        "none",
        "per_side",
        "002",
        "repeat the exercises about five times",
    ),
    "full_body_stretch": (
        "hold_seconds",
        (5, 10),
        (5, 5),
        "none",
        "per_side",
        "002",
        "Hold 5 – 10 seconds, relax, repeat",
    ),
    "back_extension": (
        "hold_seconds",
        (5, 10),
        (8, 10),
        "none",
        "per_side",
        "003",
        "hold for 5 to 10 seconds. Return to the starting position. Repeat 8 to 10 times",
    ),
    "core_contraction": (
        "hold_seconds",
        (5, 5),
        (10, 10),
        "none",
        "per_side",
        "004",
        "Hold this contraction for five seconds, then relax. Repeat this exercise ten times",
    ),
    "knees_to_chest": (
        "hold_seconds",
        (15, 20),
        (5, 5),
        "none",
        "per_side",
        "004",
        "Hold this 15-20 seconds, then lower one leg at a time. Repeat 5 times",
    ),
    "ball_arm_and_leg": (
        "duration_seconds",
        (30, 60),
        (1, 1),
        "alternating",
        "per_side",
        "004",
        "Continue doing this for up to one minute",
    ),
}


def seed_text(prefix: str) -> str:
    if not SEEDS.is_dir():
        pytest.skip(f"the seed articles are not beside the repository ({SEEDS.name} missing)")
    (path,) = SEEDS.glob(f"{prefix}_*.txt")
    return " ".join(path.read_text().split())


@pytest.mark.parametrize("exercise_id", sorted(SEED_EXERCISES))
def test_every_seed_exercise_is_present_with_its_numbers(exercise_id):
    hold_field, hold, reps, sides, counted, seed, quote = SEED_EXERCISES[exercise_id]
    exercise = LIBRARY.content.exercises[exercise_id]
    for field in ("hold_seconds", "hold_breaths", "duration_seconds"):
        expected = Range(*hold) if field == hold_field else None
        assert getattr(exercise, field) == expected, field
    assert exercise.reps == Range(*reps)
    assert exercise.sides == Sides(sides)
    assert exercise.reps_counted == counted
    assert any(source.startswith(seed) for source in exercise.sources)
    assert " ".join(quote.split()) in seed_text(seed), f"the words behind {exercise_id} are not in seed {seed}"


def test_every_exercise_in_the_file_is_one_of_the_seeds():
    assert set(LIBRARY.content.exercises) == set(SEED_EXERCISES)


def test_every_cited_source_is_a_seed_article():
    cited = {s for e in LIBRARY.content.exercises.values() for s in e.sources}
    cited |= {s for a in LIBRARY.content.safety for s in a.sources}
    for source in cited:
        assert seed_text(source[:3]) and (SEEDS / source).is_file(), source


@pytest.mark.parametrize("avoided", ["toe touch", "sit-up", "sit up", "leg lift"])
def test_exercises_the_seeds_warn_against_never_appear(avoided):
    for exercise_id, exercise in LIBRARY.content.exercises.items():
        text = f"{exercise_id.replace('_', ' ')} {exercise.name} {' '.join(exercise.action)}".lower()
        assert avoided not in text, exercise_id


@pytest.mark.parametrize("routine_id, low_minutes, high_minutes", [("daily", 15, 20), ("short", 5, 7)])
def test_routines_last_as_long_as_the_seeds_suggest(routine_id, low_minutes, high_minutes):
    seconds = sum(segment_seconds(s, Pace()) for s in compile_session(LIBRARY, routine_id))
    assert low_minutes * 60 <= seconds <= high_minutes * 60


@pytest.mark.parametrize("routine_id", ["daily", "short", "gentle"])
def test_each_routine_opens_with_the_safety_advice_and_ends_with_a_cool_down(routine_id):
    intro, *exercises, closing = compile_session(LIBRARY, routine_id)
    spoken = " ".join(b.say or "" for b in intro.beats).lower()
    for needed in ("warm up", "hurts", "breathing natural"):
        assert needed in spoken
    assert exercises[-1].planned.cool_down and not exercises[0].planned.cool_down
    assert all(
        re.search(r"stretch|roll|knees", e.planned.exercise.name.lower()) for e in exercises if e.planned.cool_down
    )


@pytest.mark.parametrize("routine_id", ["daily", "short", "gentle", "core"])
def test_routines_start_at_the_low_end_of_every_range(routine_id):
    for planned in LIBRARY.plan(routine_id):
        exercise = planned.exercise
        assert planned.reps == exercise.reps.low
        for field in ("hold_seconds", "hold_breaths", "duration_seconds"):
            seed_range = getattr(exercise, field)
            assert getattr(planned, field) == (seed_range.low if seed_range else None)
