"""Settings from a per-user YAML file (devices, voice, hearing, pace, paths), read strictly, never fatal.

Where the file is: `--config FILE`, else `$VOICECOACH_CONFIG`, else
`$XDG_CONFIG_HOME/voicecoach/config.yaml` (normally `~/.config/voicecoach/config.yaml`).

Policy, chosen for an appliance with no screen that must never crash-loop on a bad file:

* no file at the usual place → the defaults, silently (a file named by --config or the environment
  that does not exist → the defaults, with a warning);
* an empty file, or one that is only comments → the defaults;
* a file that cannot be read or is not YAML (say, truncated mid-edit) → the defaults, with a warning;
* a wrong value or an unknown key → that key alone falls back to its default, with a warning; the
  rest of the file still applies (a typo in `volume` must not lose the microphone you chose).

The warning is one sentence naming the file, the line and the field; it is logged, and returned
by `load_config` so the appliance can also say it aloud. `voicecoach config check` is strict: the
first problem is an error and the command exits non-zero. Options on the command line override the
file (`apply_args`). Relative paths in the file are relative to the file's own folder; `~` works.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import ValidationError

from voicecoach.errors import ConfigError, VoicecoachError
from voicecoach.routinefile.yamlerrors import all_errors
from voicecoach.routinefile.yamlfile import YamlDocument, read_yaml
from voicecoach.session.settings import FIELDS, Config

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

ENV_VAR = "VOICECOACH_CONFIG"
FILE_NAME = "config.yaml"
_PATH_FIELDS = ("model", "exercises", "history")
# Command-line options (argparse dests) that override the file's setting of the same name.
OVERRIDES = ("input", "output", "engine", "model", "routine", "exercises")


def default_path() -> Path:
    """`$XDG_CONFIG_HOME/voicecoach/config.yaml`, or `~/.config/voicecoach/config.yaml`."""
    base = os.environ.get("XDG_CONFIG_HOME") or ""
    root = Path(base) if os.path.isabs(base) else Path.home() / ".config"  # the spec ignores relative ones
    return root / "voicecoach" / FILE_NAME


def config_path(explicit: str | Path | None = None) -> tuple[Path, bool]:
    """The file to read, and whether it was named (by --config or $VOICECOACH_CONFIG)."""
    named = explicit or os.environ.get(ENV_VAR)
    if named:
        return Path(named).expanduser(), True
    return default_path(), False


def check_config(path: str | Path | None = None) -> Config:
    """Strict: the settings, or a ConfigError for the first problem (a missing default file is fine)."""
    where, named = config_path(path)
    if not where.exists() and not named:
        return Config()
    doc = _read(where)
    try:
        return _resolved(Config.model_validate(_mapping(doc)), where)
    except ValidationError as error:
        problems = all_errors(doc, error, FIELDS)
        raise ConfigError(str(min(problems, key=lambda found: doc.line_of(found[0]))[1])) from None


def load_config(path: str | Path | None = None) -> tuple[Config, str | None]:
    """Lenient, for the appliance: the settings and a one-sentence warning (None when all is well).

    Never raises for a bad file: see the module docstring for what falls back to the defaults.
    """
    where, named = config_path(path)
    try:
        return _load_leniently(where, named)
    except OSError as error:  # e.g. a folder on the way that we may not enter
        return Config(), _warn(f"Using the default settings: {where} cannot be read ({error.strerror}).")


def _load_leniently(where: Path, named: bool) -> tuple[Config, str | None]:
    if not where.exists():
        if not named:
            log.debug("no config file at %s; using the defaults", where)
            return Config(), None
        return Config(), _warn(f"Using the default settings: {where} does not exist.")
    try:
        doc = _read(where)
        data = _mapping(doc)
    except ConfigError as error:
        return Config(), _warn(f"Using the default settings: {error}")
    try:
        return _resolved(Config.model_validate(data), where), None
    except ValidationError as error:
        problems = sorted(all_errors(doc, error, FIELDS), key=lambda found: doc.line_of(found[0]))
    bad = list(dict.fromkeys(str(field_path[0]) for field_path, _ in problems if field_path))
    for _, sentence in problems[1:]:
        log.warning("%s", sentence)
    try:
        config = _resolved(Config.model_validate({k: v for k, v in data.items() if str(k) not in bad}), where)
    except ValidationError:  # cannot happen with independent fields; stay safe regardless
        config = Config()
        bad = ["all settings"]
    listed = " and ".join(bad) if len(bad) < 3 else ", ".join(bad[:-1]) + f" and {bad[-1]}"
    return config, _warn(f"Using the default for {listed}: {problems[0][1]}")


def apply_args(config: Config, args: argparse.Namespace) -> Config:
    """The settings with every command-line option that was given (not None) put over the file's."""
    update: dict[str, Any] = {}
    for name in OVERRIDES:
        value = getattr(args, name, None)
        if value is not None:
            update[name] = Path(value).expanduser() if name in _PATH_FIELDS else value
    return config.model_copy(update=update) if update else config


def _read(where: Path) -> YamlDocument:
    try:
        return read_yaml(where)
    except VoicecoachError as error:
        raise ConfigError(str(error)) from None


def _mapping(doc: YamlDocument) -> dict[str, Any]:
    if doc.data is None:
        return {}
    if not isinstance(doc.data, dict):
        raise ConfigError(str(doc.error((), "should be a mapping of settings, like `volume: 0.8`.")))
    return doc.data


def _resolved(config: Config, where: Path) -> Config:
    """Relative paths in the file are relative to the file's folder."""
    base = where.absolute().parent
    update: dict[str, Any] = {
        name: base / value
        for name in _PATH_FIELDS
        if (value := getattr(config, name)) is not None and not value.is_absolute()
    }
    if config.piper_voice.endswith(".onnx") and not Path(config.piper_voice).is_absolute():
        update["piper_voice"] = str(base / config.piper_voice)  # a voice file, not a name
    return config.model_copy(update=update) if update else config


def _warn(sentence: str) -> str:
    log.warning("%s", sentence)
    return sentence


# ---- `voicecoach config [check|show|path]` -----------------------------------------------------


def config_command(args: argparse.Namespace) -> int:
    """check: validate strictly (exit 1 on a problem); show: the settings in effect; path: the file."""
    action = getattr(args, "action", None) or "show"
    where, named = config_path(getattr(args, "config", None))
    if action == "path":
        print(where)
        return 0
    if action == "check":
        config = check_config(where if named else None)
        if not where.exists():
            print(f"There is no config file at {where}, so the defaults apply.")
        else:
            print(f"{where}: valid.")
        _check_routine(config, args, where)
        return 0
    if action == "show":
        config, warning = load_config(where if named else None)
        if warning:
            print(f"warning: {warning}", file=sys.stderr)
        source = where if where.exists() else f"defaults (no file at {where})"
        print(f"# voicecoach settings in effect, from {source}")
        print(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False, allow_unicode=True), end="")
        return 0
    raise VoicecoachError(f"Unknown config action {action!r}; use check, show or path.")


def _check_routine(config: Config, args: argparse.Namespace, where: Path) -> None:
    """With a `routine:` set, it must name a routine in the routine file."""
    if config.routine is None:
        return
    from voicecoach.routinefile.loader import find_exercises, load

    exercises = find_exercises(getattr(args, "exercises", None) or config.exercises)
    known = load(exercises).routine_ids
    if config.routine not in known:
        problem = f"should be a routine in {exercises.name} ({', '.join(known)}), not {config.routine!r}."
        raise ConfigError(str(_read(where).error(("routine",), problem)))
