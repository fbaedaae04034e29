"""The routine file is loaded strictly: each broken copy of the shipped file gets one exact sentence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from voicecoach.errors import RoutineError
from voicecoach.loader import load
from voicecoach.routine import json_schema

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "exercises.yaml"


def broken(tmp_path: Path, old: str, new: str, count: int = 1) -> tuple[Path, int]:
    """A copy of the shipped file with `old` replaced by `new`; returns it and the line `new` starts on."""
    text = SHIPPED.read_text()
    assert text.count(old) >= count, f"{old!r} is not in exercises.yaml"
    at = text.index(old)
    text = text.replace(old, new, count)
    path = tmp_path / "exercises.yaml"
    path.write_text(text)
    return path, text[:at].count("\n") + 1


def error_of(path: Path) -> str:
    with pytest.raises(RoutineError) as caught:
        load(path)
    return str(caught.value)


def test_the_shipped_file_loads():
    library = load(SHIPPED)
    assert {"daily", "short", "gentle"} <= set(library.routine_ids)


def test_an_unknown_key_is_named_with_its_line_and_a_guess(tmp_path):
    path, line = broken(tmp_path, "    hold_seconds: 5\n    reps: 5\n    sources: [002", "    hold_secs: 5\n    reps: 5\n    sources: [002")
    assert error_of(path) == f"exercises.yaml:{line}: exercises.pelvic_tilt.hold_secs is not a known field; did you mean hold_seconds?"


def test_a_bare_no_stays_text_and_is_reported_not_read_as_false(tmp_path):
    path, line = broken(tmp_path, "    sides: alternating\n    cautions:\n      - Keep both shoulders on the floor.\n    sources: [003", "    sides: no\n    cautions:\n      - Keep both shoulders on the floor.\n    sources: [003")
    assert error_of(path) == (
        f"exercises.yaml:{line}: exercises.knee_rolls.sides should be 'none', 'each_side' or 'alternating', not 'no'."
    )


def test_a_range_upside_down(tmp_path):
    path, line = broken(tmp_path, "    reps: [8, 10]\n    reps_counted", "    reps: [10, 8]\n    reps_counted")
    assert error_of(path) == f"exercises.yaml:{line}: exercises.knee_rolls.reps should have its low end first, at or below its high end, not [10, 8]."


def test_a_hold_of_zero_seconds(tmp_path):
    path, line = broken(tmp_path, "    hold_seconds: 10\n", "    hold_seconds: 0\n")
    assert error_of(path) == f"exercises.yaml:{line}: exercises.knee_rolls_rotational.hold_seconds should be greater than 0, not 0."


def test_text_where_a_number_belongs(tmp_path):
    path, line = broken(tmp_path, "    rest_seconds: 3\n", '    rest_seconds: "three"\n')
    assert error_of(path) == f"exercises.yaml:{line}: exercises.knees_to_chest.rest_seconds should be a number, not 'three'."


def test_a_missing_field_points_at_its_parent(tmp_path):
    path, _ = broken(tmp_path, "    purpose: Gives the back a gentle stretch.\n", "")
    text = path.read_text().splitlines()
    line = text.index("  backward_bending:") + 1
    assert error_of(path) == f"exercises.yaml:{line}: exercises.backward_bending.purpose is missing."


def test_an_unknown_exercise_in_a_routine(tmp_path):
    path, line = broken(tmp_path, "      - hip_rolling\n      - knees_to_chest\n", "      - hip_roling\n      - knees_to_chest\n")
    assert error_of(path) == (
        f"exercises.yaml:{line}: routines.daily.steps[3].exercise names no exercise: 'hip_roling'; did you mean hip_rolling?"
    )


def test_an_empty_routine(tmp_path):
    path, line = broken(tmp_path, "    steps:\n      - pelvic_tilt\n      - knee_rolls\n    cool_down", "    steps: []\n    cool_down")
    assert error_of(path) == f"exercises.yaml:{line}: routines.short.steps should not be empty."


def test_a_routine_number_outside_the_seed_range(tmp_path):
    path, line = broken(tmp_path, "      - back_extension\n", "      - exercise: back_extension\n        reps: 12\n")
    assert error_of(path) == (
        f"exercises.yaml:{line + 1}: routines.daily.steps[5].reps should be within back_extension's range of 8 to 10, not 12."
    )


def test_an_exercise_the_seeds_say_to_avoid(tmp_path):
    path, line = broken(tmp_path, "    name: Core squeeze\n", "    name: Gentle sit-ups\n")
    assert error_of(path) == (
        f"exercises.yaml:{line}: exercises.core_contraction.name is sit-ups, which the seeds say to avoid: "
        "they use the hip muscles and increase the pressure on the spinal disks."
    )


def test_two_kinds_of_hold(tmp_path):
    path, line = broken(tmp_path, "    hold_seconds: 5\n    reps: 10\n", "    hold_seconds: 5\n    hold_breaths: 3\n    reps: 10\n")
    assert error_of(path) == f"exercises.yaml:{line + 1}: exercises.core_contraction.hold_breaths cannot be given together with hold_seconds."


def test_a_key_given_twice(tmp_path):
    path, line = broken(tmp_path, "    hold_seconds: 5\n    reps: 10\n", "    hold_seconds: 5\n    reps: 10\n    reps: 12\n")
    assert error_of(path) == f"exercises.yaml:{line + 2}: exercises.core_contraction.reps is given twice."


def test_malformed_yaml(tmp_path):
    path, line = broken(tmp_path, "    reps: [6, 8]\n    sides: alternating\n    pace_seconds: 5\n", "    reps: [6, 8\n    sides: alternating\n    pace_seconds: 5\n")
    message = error_of(path)
    assert message.startswith("exercises.yaml:") and "is not valid YAML" in message


def test_a_missing_file_says_so(tmp_path):
    assert error_of(tmp_path / "nowhere.yaml") == f"{tmp_path / 'nowhere.yaml'}: the file does not exist."


def test_the_published_json_schema_is_current_and_validates_the_file():
    jsonschema = pytest.importorskip("jsonschema")
    published = json.loads((REPO / "exercises.schema.json").read_text())
    assert published == json_schema(), "run: voicecoach schema > exercises.schema.json"
    jsonschema.validate(yaml.safe_load(SHIPPED.read_text()), published)
    data = yaml.safe_load(SHIPPED.read_text())
    data["exercises"]["pelvic_tilt"]["hold_secs"] = 5
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, published)
