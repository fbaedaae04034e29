"""Synthetic speech for the benchmark: command phrases in flite and espeak-ng voices, and the coach's narration."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voicecoach.bench.corpus import REPO_ROOT, Clip, read_wav, write_wav
from voicecoach.bench.stream import scaled, speech_dbfs
from voicecoach.core.commands import PHRASES
from voicecoach.errors import VoicecoachError
from voicecoach.hear import SAMPLE_RATE
from voicecoach.speak import Synthesiser

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Voice:
    """A synthetic voice: flite's -voice name, or an espeak-ng voice with rate (wpm) and pitch (0-99)."""

    engine: str
    name: str
    rate_wpm: int = 0
    pitch: int = 0

    @property
    def label(self) -> str:
        return self.name if self.engine == "flite" else f"{self.name}@{self.rate_wpm}/{self.pitch}"

    def command(self, text: str, out: Path) -> list[str]:
        if self.engine == "flite":
            return ["flite", "-voice", self.name, "-t", text, "-o", str(out)]
        return ["espeak-ng", "-v", self.name, "-s", str(self.rate_wpm), "-p", str(self.pitch), "-w", str(out), text]


VOICES = (
    Voice("flite", "kal16"),
    Voice("flite", "slt"),
    Voice("flite", "rms"),
    Voice("flite", "awb"),
    Voice("espeak-ng", "en-us", 150, 50),
    Voice("espeak-ng", "en-gb-x-rp", 175, 40),
    Voice("espeak-ng", "en-us+f3", 160, 70),
    Voice("espeak-ng", "en+m3", 130, 35),
    Voice("espeak-ng", "en-029", 190, 55),
    Voice("espeak-ng", "en-gb-scotland+f2", 140, 60),
)


@dataclass(frozen=True)
class Spoken:
    """One sentence of narration as placed in the echo track, in seconds."""

    text: str
    start: float
    end: float


def synthetic_phrases(real_words: set[str]) -> list[str]:
    """Every command phrase that has no real recordings."""
    return [phrase for phrase in PHRASES if phrase not in real_words]


def synthesise(phrases: list[str], voices_per_phrase: int, level_dbfs: float, folder: Path) -> list[Clip]:
    """Each phrase in `voices_per_phrase` voices (rotating through VOICES), at the user's speech level.
    Clip labels are "phrase|voice"."""
    missing = sorted({v.engine for v in VOICES} - {e for e in ("flite", "espeak-ng") if shutil.which(e)})
    if missing:
        raise VoicecoachError(
            f"The synthetic commands need {' and '.join(missing)}; install it (apt install {missing[0]})."
        )
    folder.mkdir(parents=True, exist_ok=True)
    clips = []
    for n, phrase in enumerate(phrases):
        for k in range(voices_per_phrase):
            voice = VOICES[(n + k) % len(VOICES)]
            out = folder / f"{phrase.replace(' ', '_').replace(chr(39), '')}-{voice.label.replace('/', '_')}.wav"
            subprocess.run(voice.command(phrase, out), check=True, capture_output=True)
            samples = read_wav(out)
            level = scaled(samples, level_dbfs - speech_dbfs(samples))
            write_wav(out, level)
            clips.append(Clip(str(out), f"{phrase}|{voice.label}", PHRASES[phrase]))
    return clips


def render_narration(
    folder: Path, routine: str = "daily", limit_seconds: float | None = None, synthesiser: Synthesiser | None = None
) -> tuple[Path, Path]:
    """The routine's narration, rendered by the project's synthesiser and placed on the simulated
    timeline (a sentence starts when due or when the one before ends): a 16 kHz WAV and its sentences.
    With `limit_seconds`, only the sentences due before then; `synthesiser`: another voice than espeak-ng's."""
    import soxr

    from voicecoach.routinefile.loader import DEFAULT_FILE, load
    from voicecoach.session.simulate import simulate
    from voicecoach.speak.tts import PyttsxSynthesiser

    exercises = REPO_ROOT / DEFAULT_FILE
    timeline = simulate(load(exercises if exercises.is_file() else DEFAULT_FILE), routine)
    synthesiser = synthesiser or PyttsxSynthesiser()
    placed: list[tuple[Spoken, np.ndarray]] = []
    busy_until = 0.0
    for at, text in timeline.said():
        if limit_seconds is not None and at > limit_seconds:
            break
        audio = synthesiser.render(text)
        samples = soxr.resample(audio.samples.astype(np.float32), audio.sample_rate, SAMPLE_RATE)
        start = max(at, busy_until)
        busy_until = start + len(samples) / SAMPLE_RATE
        placed.append((Spoken(audio.text or text, start, busy_until), samples))
    track = np.zeros(round((busy_until + 2.0) * SAMPLE_RATE))
    for spoken, samples in placed:
        first = round(spoken.start * SAMPLE_RATE)
        track[first : first + len(samples)] += samples[: len(track) - first]
    folder.mkdir(parents=True, exist_ok=True)
    wav, sentences = folder / "narration.wav", folder / "narration.json"
    write_wav(wav, np.round(track))
    sentences.write_text(json.dumps([s.__dict__ for s, _ in placed]))
    log.info("narration: %d sentences over %.0f s", len(placed), busy_until)
    return wav, sentences


def read_narration(sentences: Path) -> list[Spoken]:
    return [Spoken(**s) for s in json.loads(sentences.read_text())]
