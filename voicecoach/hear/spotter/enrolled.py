"""The user's enrolled spotter model: where it lives, whether it still fits, storing and removing it.

One file per user, in the data directory beside the history ($XDG_DATA_HOME/voicecoach, normally
~/.local/share/voicecoach): `voice/spotter.npz`. It is used only while it was adapted from the
model now shipped, for the phrase table now in force; otherwise the shipped model is used and the
log says to enrol again. `voice/offered` remembers that enrolment was offered, so it is offered once.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from voicecoach.errors import ModelError
from voicecoach.hear.spotter.adapt import base_fingerprint, heard_with_base
from voicecoach.hear.spotter.model import SpotterModel, load_model

log = logging.getLogger(__name__)


def voice_dir() -> Path:
    """$XDG_DATA_HOME/voicecoach/voice, else ~/.local/share/voicecoach/voice."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "voicecoach" / "voice"


def enrolled_path() -> Path:
    return voice_dir() / "spotter.npz"


def offered_path() -> Path:
    return voice_dir() / "offered"


def why_unfit(model: SpotterModel, base: SpotterModel) -> str | None:
    """Why an enrolled model cannot be used with this base (None: it can)."""
    enrolled = model.card.get("enrolled")
    if not isinstance(enrolled, dict):
        return "it is not an enrolled model"
    if model.phrase_hash != base.phrase_hash or model.classes != base.classes:
        return "the commands have changed since"
    if enrolled.get("base") != base_fingerprint(base):
        return "the shipped model has been retrained since"
    return None


def load_for_user(path: Path | None = None, base: SpotterModel | None = None) -> SpotterModel:
    """The user's enrolled model when there is one that fits the shipped model, else the shipped one."""
    base = base or load_model()
    path = path or enrolled_path()
    if not path.is_file():
        return base
    try:
        model = load_model(path)
    except (ModelError, ValueError, KeyError, OSError) as error:
        log.warning("not using the enrolled voice in %s (%s); enrol again with `voicecoach enrol`", path, error)
        return base
    why = why_unfit(model, base)
    if why:
        log.warning("not using the enrolled voice in %s: %s; enrol again with `voicecoach enrol`", path, why)
        return base
    log.info("hearing with the voice enrolled in %s", path)
    return heard_with_base(model, base)


def is_enrolled(path: Path | None = None, base: SpotterModel | None = None) -> bool:
    """Whether an enrolled model that fits the shipped one is stored."""
    path = path or enrolled_path()
    if not path.is_file():
        return False
    try:
        return why_unfit(load_model(path), base or load_model()) is None
    except (ModelError, ValueError, KeyError, OSError):
        return False


def save_enrolled(model: SpotterModel, path: Path | None = None) -> Path:
    """Store the user's model (atomically: a crash leaves the old one or the new one)."""
    path = path or enrolled_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    model.save(partial)
    partial.replace(path)
    return path


def remove_enrolled(path: Path | None = None) -> bool:
    """Remove the user's model; whether there was one."""
    path = path or enrolled_path()
    if path.is_file():
        path.unlink()
        return True
    return False
