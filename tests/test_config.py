"""The settings file: defaults when absent, strict `config check`, and a lenient appliance that never crashes."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pytest
import yaml

from voicecoach.apps.config import (
    apply_args,
    check_config,
    config_command,
    config_path,
    default_path,
    load_config,
)
from voicecoach.errors import ConfigError
from voicecoach.session.settings import FASTEST_BREATH_SECONDS, FIELDS, SLOWEST_BREATH_SECONDS, Config

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "config.example.yaml"

VALID = """\
# my settings
input: USB
output: 0
voice: gmw/en-GB-x-rp
rate_wpm: 140
volume: 0.8
engine: pocketsphinx
sphinx_reject_below_llr: -30
vosk_min_confidence: 0.6
bargein_tail_seconds: 1.0
routine: short
breath_seconds: 8
"""


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private home and config folder; no $VOICECOACH_CONFIG from the machine running the tests."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("VOICECOACH_CONFIG", raising=False)
    return tmp_path


def write(folder: Path, text: str, name: str = "config.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def error_of(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        check_config(path)
    return str(caught.value)


# ---- where the file is ----------------------------------------------------------------------------


def test_the_usual_place_is_under_xdg_config_home(home: Path):
    assert default_path() == home / "xdg" / "voicecoach" / "config.yaml"
    assert config_path() == (home / "xdg" / "voicecoach" / "config.yaml", False)


def test_without_xdg_config_home_it_is_under_dot_config(home: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert default_path() == home / "home" / ".config" / "voicecoach" / "config.yaml"
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/ignored")  # the XDG spec says to ignore it
    assert default_path() == home / "home" / ".config" / "voicecoach" / "config.yaml"


def test_the_environment_and_then_the_option_override_the_usual_place(home: Path, monkeypatch):
    write(home / "xdg" / "voicecoach", "volume: 0.1\n")
    from_env = write(home / "env", "volume: 0.2\n")
    from_option = write(home / "option", "volume: 0.3\n")
    assert load_config()[0].volume == 0.1
    monkeypatch.setenv("VOICECOACH_CONFIG", str(from_env))
    assert config_path() == (from_env, True)
    assert load_config()[0].volume == 0.2
    assert load_config(from_option)[0].volume == 0.3
    assert check_config(str(from_option)).volume == 0.3


# ---- defaults and a valid file ---------------------------------------------------------------------


def test_no_file_means_the_defaults_silently(caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.WARNING):
        assert load_config() == (Config(), None)
        assert check_config() == Config()
    assert not caplog.records


@pytest.mark.parametrize("text", ["", "# nothing set yet\n", "---\n"])
def test_an_empty_file_means_the_defaults(home: Path, text: str):
    write(home / "xdg" / "voicecoach", text)
    assert load_config() == (Config(), None)


def test_a_valid_file_overrides_the_defaults(home: Path):
    write(home / "xdg" / "voicecoach", VALID)
    config, warning = load_config()
    assert warning is None
    assert config == Config(
        input="USB",
        output=0,
        voice="gmw/en-GB-x-rp",
        rate_wpm=140,
        volume=0.8,
        engine="pocketsphinx",
        sphinx_reject_below_llr=-30.0,
        vosk_min_confidence=0.6,
        bargein_tail_seconds=1.0,
        routine="short",
        breath_seconds=8.0,
    )
    assert check_config() == config


def test_relative_paths_are_relative_to_the_file_and_tilde_is_home(home: Path):
    path = write(home / "conf", "model: models/vosk-small\nexercises: ~/mine.yaml\nhistory: /var/lib/vc\n")
    config, warning = load_config(path)
    assert warning is None
    assert config.model == home / "conf" / "models" / "vosk-small"
    assert config.exercises == home / "home" / "mine.yaml"
    assert config.history == Path("/var/lib/vc")


def test_the_settings_objects_of_the_parts():
    config = Config(voice="gmw/en-US", rate_wpm=120, volume=0.5, breath_seconds=7.0, bargein_tail_seconds=0.9)
    voice = config.voice_settings()
    assert (voice.voice, voice.rate_wpm, voice.volume) == ("gmw/en-US", 120, 0.5)
    assert config.pace().breath_seconds == 7.0
    assert config.guard_settings().tail_seconds == 0.9


def test_the_hearing_options():
    pytest.importorskip("pocketsphinx")
    config = Config(sphinx_reject_below_llr=-20.0, vosk_min_confidence=0.7)
    assert config.sphinx_options().reject_below_llr == -20.0
    assert config.vosk_options().min_confidence == 0.7


def test_defaults_agree_with_the_parts_they_configure():
    from voicecoach.core.narration import Pace
    from voicecoach.session.bargein import GuardSettings
    from voicecoach.speak import VoiceSettings

    config = Config()
    assert config.voice_settings() == VoiceSettings()
    assert config.pace() == Pace()
    assert config.guard_settings() == GuardSettings()
    assert (FASTEST_BREATH_SECONDS, SLOWEST_BREATH_SECONDS) == (Pace.FASTEST, Pace.SLOWEST)


def test_defaults_agree_with_the_recognisers():
    pytest.importorskip("pocketsphinx")
    from voicecoach.hear.sphinx import SphinxOptions
    from voicecoach.hear.vosk_engine import VoskOptions

    assert Config().sphinx_options() == SphinxOptions()
    assert Config().vosk_options() == VoskOptions()


# ---- mistakes: `config check` says exactly what and where -----------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("rate_wpm: 50", "rate_wpm should be between 80 and 450 words a minute, not 50."),
        ("rate_wpm: 150.5", "rate_wpm should be a whole number, not 150.5."),
        ("volume: 1.5", "volume should be between 0 and 1, not 1.5."),
        ("volume: yes", "volume should be a number, not 'yes'."),
        ("volume: .nan", "volume should be a finite number, not nan."),
        ("engine: whisper", "engine should be 'auto', 'vosk', 'pocketsphinx', 'spotter' or 'fusion', not 'whisper'."),
        ("input: -1", "input should be a device name or index from `voicecoach devices`, not -1."),
        ("output: true", "output should be a device name or index from `voicecoach devices`, not True."),
        ("voice: ' '", "voice should not be empty, not ' '."),
        ("breath_seconds: 12", "breath_seconds should be between 4 and 10 seconds, not 12."),
        ("bargein_tail_seconds: -1", "bargein_tail_seconds should be between 0 and 5 seconds, not -1."),
        ("vosk_min_confidence: 2", "vosk_min_confidence should be between 0 and 1, not 2."),
        (
            "routine: Daily",
            "routine should be lower-case letters, digits and underscores (like knee_rolls), not 'Daily'.",
        ),
        ("model: 5", "model should be a file or folder path, not 5."),
        ("volum: 0.5", "volum is not a known field; did you mean volume?"),
        ("colour: blue", "colour is not a known field."),
    ],
)
def test_a_wrong_value_is_one_sentence_with_file_line_and_field(home: Path, line: str, expected: str):
    path = write(home / "conf", f"# my settings\nhistory: ~/h\n{line}\nexercises: ~/e.yaml\n")
    assert error_of(path) == f"config.yaml:3: {expected}"


def test_a_key_given_twice_is_an_error(home: Path):
    path = write(home / "conf", VALID + "volume: 0.2\n")
    assert error_of(path) == "config.yaml:13: volume is given twice."


def test_check_reports_the_first_problem_in_the_file(home: Path):
    path = write(home / "conf", "volum: 1\nrate_wpm: 10\n")
    assert error_of(path) == "config.yaml:1: volum is not a known field; did you mean volume?"


def test_a_file_that_is_not_a_mapping(home: Path):
    path = write(home / "conf", "- volume: 0.5\n")
    assert error_of(path) == "config.yaml:1: (the whole file) should be a mapping of settings, like `volume: 0.8`."


def test_a_named_file_that_does_not_exist(home: Path):
    missing = home / "nowhere.yaml"
    assert error_of(missing) == f"{missing}: the file does not exist."
    assert load_config(missing) == (Config(), f"Using the default settings: {missing} does not exist.")


# ---- mistakes: the appliance warns once and carries on --------------------------------------------


def test_a_truncated_file_gives_the_defaults_and_a_warning(home: Path, caplog: pytest.LogCaptureFixture):
    path = write(home / "conf", 'input: "USB\nvolume: 0.5\n')  # cut off inside the quotes
    with caplog.at_level(logging.WARNING, logger="voicecoach.apps.config"):
        config, warning = load_config(path)
    assert config == Config()
    assert warning == (
        "Using the default settings: config.yaml:3: the file is not valid YAML: found unexpected end of stream."
    )
    assert [record.getMessage() for record in caplog.records] == [warning]


def test_a_wrong_value_falls_back_to_its_default_and_keeps_the_rest(home: Path):
    path = write(home / "conf", VALID.replace("rate_wpm: 140", "rate_wpm: 1000"))
    config, warning = load_config(path)
    assert warning == (
        "Using the default for rate_wpm: config.yaml:5: rate_wpm should be between 80 and 450 words a minute, not 1000."
    )
    assert config.rate_wpm == Config().rate_wpm
    assert (config.input, config.volume, config.routine) == ("USB", 0.8, "short")


def test_unknown_keys_are_ignored_by_the_appliance_with_a_warning(home: Path, caplog):
    path = write(home / "conf", "input: USB\nvolum: 0.5\nengine: whisper\ncolour: blue\n")
    with caplog.at_level(logging.WARNING, logger="voicecoach.apps.config"):
        config, warning = load_config(path)
    assert config == Config(input="USB")
    assert warning == (
        "Using the default for volum, engine and colour: config.yaml:2: volum is not a "
        "known field; did you mean volume?"
    )
    logged = [record.getMessage() for record in caplog.records]
    assert logged[-1] == warning
    assert (
        "config.yaml:3: engine should be 'auto', 'vosk', 'pocketsphinx', 'spotter' or 'fusion', not 'whisper'."
        in logged
    )
    assert "config.yaml:4: colour is not a known field." in logged


def test_an_unreadable_file_gives_the_defaults(home: Path):
    folder = home / "conf" / "config.yaml"
    folder.mkdir(parents=True)  # a folder where the file should be
    config, warning = load_config(folder)
    assert config == Config()
    assert warning is not None and warning.startswith("Using the default settings: ")


# ---- the command line overrides the file ----------------------------------------------------------


def test_options_given_on_the_command_line_override_the_file(home: Path):
    config = load_config(write(home / "conf", VALID))[0]
    args = argparse.Namespace(
        input="2", output=None, engine="vosk", model="~/m", routine=None, exercises=None, text=False
    )
    merged = apply_args(config, args)
    assert (merged.input, merged.output, merged.engine) == ("2", 0, "vosk")
    assert merged.model == home / "home" / "m"
    assert merged.routine == "short"
    assert apply_args(config, argparse.Namespace()) is config


# ---- config.example.yaml --------------------------------------------------------------------------


def test_the_example_is_valid_and_changes_nothing():
    assert check_config(EXAMPLE) == Config()
    assert load_config(EXAMPLE) == (Config(), None)


def test_the_example_names_and_explains_every_setting():
    data = yaml.safe_load(EXAMPLE.read_text())
    assert list(data) == list(FIELDS)
    for line in EXAMPLE.read_text().splitlines():
        if line and not line.startswith("#"):
            assert "#" in line, f"{line!r} has no comment"


# ---- voicecoach config check | show | path --------------------------------------------------------


def run_command(capsys, action: str, config: Path | None = None) -> tuple[int, str]:
    code = config_command(argparse.Namespace(action=action, config=config, exercises=None))
    return code, capsys.readouterr().out


def test_config_path_prints_the_file(home: Path, capsys):
    assert run_command(capsys, "path") == (0, f"{home / 'xdg' / 'voicecoach' / 'config.yaml'}\n")


def test_config_check(home: Path, capsys):
    assert run_command(capsys, "check") == (
        0,
        f"There is no config file at {home / 'xdg' / 'voicecoach' / 'config.yaml'}, so the defaults apply.\n",
    )
    path = write(home / "conf", VALID)
    assert run_command(capsys, "check", path) == (0, f"{path}: valid.\n")
    with pytest.raises(ConfigError, match=r"^config.yaml:1: volum is not a known field; did you mean volume\?$"):
        run_command(capsys, "check", write(home / "bad", "volum: 1\n"))


def test_config_check_knows_the_routines(home: Path, capsys):
    path = write(home / "conf", "volume: 0.5\nroutine: dialy\n")
    with pytest.raises(ConfigError) as caught:
        run_command(capsys, "check", path)
    assert str(caught.value) == (
        "config.yaml:2: routine should be a routine in exercises.yaml (daily, short, gentle, core), not 'dialy'."
    )


def test_config_show_prints_the_settings_in_effect(home: Path, capsys):
    path = write(home / "conf", VALID + "volum: 3\n")
    code = config_command(argparse.Namespace(action="show", config=path, exercises=None))
    out, err = capsys.readouterr()
    assert code == 0
    assert err == (
        "warning: Using the default for volum: config.yaml:13: volum is not a known field; did you mean volume?\n"
    )
    assert out.startswith(f"# voicecoach settings in effect, from {path}\n")
    shown = write(home / "shown", out)
    assert check_config(shown) == load_config(path)[0]


def test_a_file_behind_a_locked_folder_gives_the_defaults(home: Path, monkeypatch: pytest.MonkeyPatch):
    def refuse(self: Path) -> bool:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "exists", refuse)
    where = home / "locked" / "config.yaml"
    assert load_config(where) == (Config(), f"Using the default settings: {where} cannot be read (Permission denied).")
