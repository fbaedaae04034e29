"""The routine file is loaded strictly: each broken copy of the shipped file gets one exact sentence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from voicecoach.core.routine import json_schema
from voicecoach.errors import RoutineError
from voicecoach.routinefile.loader import load

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


# A broken copy of the shipped file (`old` replaced by `new`) and its one sentence, after the file
# name and the line: the line `new` starts on, plus `lines_down`.
BROKEN = [
    pytest.param(
        "    hold_seconds: 5\n    reps: 5\n    sources: [002",
        "    hold_secs: 5\n    reps: 5\n    sources: [002",
        0,
        "exercises.pelvic_tilt.hold_secs is not a known field; did you mean hold_seconds?",
        id="an unknown key is named with its line and a guess",
    ),
    pytest.param(
        "    sides: alternating\n    cautions:\n      - Keep both shoulders on the floor.\n    sources: [003",
        "    sides: no\n    cautions:\n      - Keep both shoulders on the floor.\n    sources: [003",
        0,
        "exercises.knee_rolls.sides should be 'none', 'each_side' or 'alternating', not 'no'.",
        id="a bare no stays text and is reported not read as false",
    ),
    pytest.param(
        "    reps: [8, 10]\n    reps_counted",
        "    reps: [10, 8]\n    reps_counted",
        0,
        "exercises.knee_rolls.reps should have its low end first, at or below its high end, not [10, 8].",
        id="a range upside down",
    ),
    pytest.param(
        "    hold_seconds: 10\n",
        "    hold_seconds: 0\n",
        0,
        "exercises.knee_rolls_rotational.hold_seconds should be greater than 0, not 0.",
        id="a hold of zero seconds",
    ),
    pytest.param(
        "    rest_seconds: 3\n",
        '    rest_seconds: "three"\n',
        0,
        "exercises.knees_to_chest.rest_seconds should be a number, not 'three'.",
        id="text where a number belongs",
    ),
    pytest.param(
        "      - hip_rolling\n      - knees_to_chest\n",
        "      - hip_roling\n      - knees_to_chest\n",
        0,
        "routines.daily.steps[3].exercise names no exercise: 'hip_roling'; did you mean hip_rolling?",
        id="an unknown exercise in a routine",
    ),
    pytest.param(
        "    steps:\n      - pelvic_tilt\n      - knee_rolls\n    cool_down",
        "    steps: []\n    cool_down",
        0,
        "routines.short.steps should not be empty.",
        id="an empty routine",
    ),
    pytest.param(
        "      - back_extension\n",
        "      - exercise: back_extension\n        reps: 12\n",
        1,
        "routines.daily.steps[5].reps should be within back_extension's range of 8 to 10, not 12.",
        id="a routine number outside the seed range",
    ),
    pytest.param(
        "    name: Core squeeze\n",
        "    name: Gentle sit-ups\n",
        0,
        "exercises.core_contraction.name is sit-ups, which the seeds say to avoid: "
        "they use the hip muscles and increase the pressure on the spinal disks.",
        id="an exercise the seeds say to avoid",
    ),
    pytest.param(
        "    hold_seconds: 5\n    reps: 10\n",
        "    hold_seconds: 5\n    hold_breaths: 3\n    reps: 10\n",
        1,
        "exercises.core_contraction.hold_breaths cannot be given together with hold_seconds.",
        id="two kinds of hold",
    ),
    pytest.param(
        "    hold_seconds: 5\n    reps: 10\n",
        "    hold_seconds: 5\n    reps: 10\n    reps: 12\n",
        2,
        "exercises.core_contraction.reps is given twice.",
        id="a key given twice",
    ),
]


@pytest.mark.parametrize("old, new, lines_down, message", BROKEN)
def test_each_broken_copy_gets_one_exact_sentence_with_its_line(tmp_path, old, new, lines_down, message):
    path, line = broken(tmp_path, old, new)
    assert error_of(path) == f"exercises.yaml:{line + lines_down}: {message}"


def test_a_missing_field_points_at_its_parent(tmp_path):
    path, _ = broken(tmp_path, "    purpose: Gives the back a gentle stretch.\n", "")
    text = path.read_text().splitlines()
    line = text.index("  backward_bending:") + 1
    assert error_of(path) == f"exercises.yaml:{line}: exercises.backward_bending.purpose is missing."


def test_malformed_yaml(tmp_path):
    path, line = broken(
        tmp_path,
        "    reps: [6, 8]\n    sides: alternating\n    pace_seconds: 5\n",
        "    reps: [6, 8\n    sides: alternating\n    pace_seconds: 5\n",
    )
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
