"""Reading the speech corpus: command clips by word, distractors, continuous speech and noises."""

from __future__ import annotations

import logging
import random
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voicecoach.core.commands import PHRASES, Intent
from voicecoach.errors import VoicecoachError
from voicecoach.hear import SAMPLE_RATE

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CORPUS = REPO_ROOT.parent / "shared" / "corpus"
DISTRACTORS = ("up", "down", "left", "right", "on", "off", "forward", "backward")


@dataclass(frozen=True)
class Clip:
    """One recording of a word or phrase; `intent` is what it should be heard as (None: nothing)."""

    path: str
    label: str
    intent: Intent | None


def read_wav(path: Path | str) -> np.ndarray:
    """A 16 kHz mono 16-bit WAV as int16 samples (other rates are resampled)."""
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2:
            raise VoicecoachError(f"{path} is not 16-bit PCM.")
        rate, channels = wav.getframerate(), wav.getnchannels()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1).astype(np.int16)
    if rate != SAMPLE_RATE:
        import soxr

        samples = soxr.resample(samples.astype(np.float32), rate, SAMPLE_RATE).clip(-32768, 32767).astype(np.int16)
    return samples


def write_wav(path: Path, samples: np.ndarray, rate: int = SAMPLE_RATE) -> Path:
    """Mono 16-bit PCM; samples beyond 16 bits saturate rather than wrap. Returns `path`."""
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(np.clip(samples, -32768, 32767).astype("<i2").tobytes())
    return path


@dataclass(frozen=True)
class Corpus:
    """The corpus folders, as described in the corpus README."""

    root: Path

    def check(self) -> None:
        if not (self.root / "commands").is_dir():
            raise VoicecoachError(f"{self.root} has no commands/ folder; pass the corpus with --corpus DIR.")

    def words(self) -> dict[str, list[Path]]:
        """commands/<word>/*.wav for every word folder."""
        folder = self.root / "commands"
        return {d.name: sorted(d.glob("*.wav")) for d in sorted(folder.iterdir()) if d.is_dir()}

    def command_clips(self) -> dict[str, list[Clip]]:
        """Recordings of words that are whole command phrases, by word."""
        return {
            word: [Clip(str(p), word, PHRASES[word]) for p in paths]
            for word, paths in self.words().items()
            if word in PHRASES and paths
        }

    def distractor_clips(self) -> dict[str, list[Clip]]:
        """Recordings of words that are not commands: other command-folder words and sc_nontarget_words."""
        found = {
            word: [Clip(str(p), word, None) for p in paths]
            for word, paths in self.words().items()
            if word not in PHRASES and paths
        }
        other = self.root / "other" / "sc_nontarget_words"
        if other.is_dir():
            nontarget = [Clip(str(p), p.parent.name, None) for p in sorted(other.rglob("*.wav"))]
            if nontarget:
                found["(nontarget)"] = nontarget
        return found

    def speech_files(self) -> list[Path]:
        return sorted((self.root / "speech").rglob("*.wav")) if (self.root / "speech").is_dir() else []

    def noise_files(self) -> dict[str, Path]:
        """background_noise/**/*.wav by name, leaving out (with a warning naming it) any file with no
        samples to mix in or that is no 16-bit WAV file at all."""
        folder = self.root / "background_noise"
        found = {p.stem: p for p in sorted(folder.rglob("*.wav"))} if folder.is_dir() else {}
        return {name: path for name, path in found.items() if _usable_noise(path)}


def _usable_noise(path: Path) -> bool:
    """Whether `path` has noise to mix in; if not, says so (and the benchmark goes on without it)."""
    try:
        with wave.open(str(path), "rb") as wav:
            if wav.getsampwidth() != 2:
                problem = "is not 16-bit PCM"
            else:
                problem = "" if wav.readframes(1) else "has no samples"
    except (OSError, EOFError, wave.Error) as error:
        problem = f"cannot be read as a WAV file ({error})"
    if problem:
        log.warning("noise file %s %s; measuring without it", path, problem)
    return not problem


def sample(items: list, count: int | None, rng: random.Random) -> list:
    """Up to `count` of `items` chosen by `rng` (all of them, in order, when `count` is None or larger)."""
    if count is None or count >= len(items):
        return list(items)
    return sorted(rng.sample(items, count), key=items.index)


def spread(groups: dict[str, list], count: int | None, rng: random.Random) -> list:
    """Up to `count` items in all, taken evenly from each group (each group shuffled by `rng`)."""
    if count is None:
        return [item for items in groups.values() for item in items]
    shuffled = {name: rng.sample(items, len(items)) for name, items in groups.items()}
    chosen: list = []
    while len(chosen) < count and any(shuffled.values()):
        for items in shuffled.values():
            if items and len(chosen) < count:
                chosen.append(items.pop())
    return chosen
