"""Where speech models live: finding a Vosk model (the setting, $VOICECOACH_VOSK_MODEL, the usual
folders) and installing the English one with `voicecoach download-model` (through voicecoach.fetch).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from voicecoach.errors import ModelError
from voicecoach.fetch import Progress, archive_stem, fetch_verified, install, unpack, url_file_name

log = logging.getLogger(__name__)

ENV_VOSK_MODEL = "VOICECOACH_VOSK_MODEL"


@dataclass(frozen=True)
class ModelArchive:
    """A downloadable model: where it is, what it must hash to, the directory it installs as."""

    name: str
    url: str
    sha256: str
    size_bytes: int


# The Vosk project (alphacephei.com) publishes no checksums. This SHA-256 and size are the values
# recorded independently by several public projects that pin this archive (an Arch Linux PKGBUILD
# for vosk-api, numen's install script, and others found by searching public code); they all agree.
# They could not be verified against the live file from here (no internet access).
SMALL_EN_US = ModelArchive(
    name="vosk-model-small-en-us-0.15",
    url="https://alphacephei.com/vosk/models/vosk-model-small-en-us-0.15.zip",
    sha256="30f26242c4eb449f948e42cb302dd7a686cb29a3423a8367f99ff41780942498",
    size_bytes=41_205_931,
)


# ---- where models live -------------------------------------------------------------------------


def is_vosk_model(path: Path) -> bool:
    """Whether `path` is a directory laid out as a Vosk model (acoustic model and features config)."""
    return (path / "am" / "final.mdl").is_file() and (path / "conf" / "mfcc.conf").is_file()


def user_models_dir() -> Path:
    """The per-user model directory: $XDG_DATA_HOME/voicecoach/models (~/.local/share/...)."""
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "voicecoach" / "models"


def _checkout_models_dir() -> Path | None:
    """models/ of the source checkout this package runs from, if it runs from one."""
    root = Path(__file__).resolve().parents[2]
    if (root / "pyproject.toml").is_file() and (root / "models").is_dir():
        return root / "models"
    return None


def search_dirs() -> list[Path]:
    """Directories searched for a model, in order: ./models, the checkout's models/, the user's."""
    found: list[Path] = []
    for candidate in (Path.cwd() / "models", _checkout_models_dir(), user_models_dir()):
        if candidate is not None and candidate.resolve() not in {p.resolve() for p in found}:
            found.append(candidate)
    return found


def default_models_dir() -> Path:
    """Where `voicecoach download-model` installs: the checkout's models/, else the user's."""
    return _checkout_models_dir() or user_models_dir()


def find_vosk_model(explicit: Path | None = None) -> Path | None:
    """The Vosk model to use: `explicit`, else $VOICECOACH_VOSK_MODEL, else one found in
    `search_dirs()` (the default English model first), else None.

    An explicit or environment path is returned even if it is not a model, so the recogniser
    can say exactly what is wrong with it instead of silently falling back.
    """
    if explicit is not None:
        return explicit.expanduser()
    from_env = os.environ.get(ENV_VOSK_MODEL, "").strip()
    if from_env:
        return Path(from_env).expanduser()
    for directory in search_dirs():
        if not directory.is_dir():
            continue
        children = sorted(
            (p for p in directory.iterdir() if not p.name.startswith(".")),
            key=lambda p: (p.name != SMALL_EN_US.name, p.name),
        )
        for child in children:
            if is_vosk_model(child):
                log.debug("found Vosk model %s", child)
                return child
    return None


def download_model(
    dest_dir: Path | None = None,
    *,
    url: str = SMALL_EN_US.url,
    sha256: str = SMALL_EN_US.sha256,
    name: str | None = None,
    progress: Progress | None = None,
    force: bool = False,
) -> Path:
    """Fetch the model archive at `url`, verify its SHA-256 and install it as `dest_dir/name`
    (by default `default_models_dir()` and the archive's file name without its extension);
    return that path.

    An installed model is kept (nothing is fetched) unless `force`, which replaces it atomically.
    Raises ModelError, with nothing left behind, on any failure.
    """

    def fill(staging: Path) -> Path:
        downloaded = staging / (url_file_name(url) or "model-archive")
        fetch_verified(url, sha256, downloaded, progress)
        root = unpack(downloaded, staging / "unpacked")
        if not is_vosk_model(root):
            raise ModelError(f"The archive from {url} does not contain a Vosk model.")
        return root

    return install(
        default_models_dir() if dest_dir is None else dest_dir, name or archive_stem(url), fill,
        is_installed=is_vosk_model, kind="a Vosk model", command="voicecoach download-model", force=force,
    )  # fmt: skip
