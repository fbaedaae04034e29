"""Echo scenes for the echo canceller: espeak-ng narration leaking into a mic while flite says a word.

Shared by tests/test_echo.py and scripts/measure_echo.py. The echo path is a delay plus a short
decaying room tail; the echo is scaled to `echo_below_user_db` under the user's word (both measured
over their voiced frames), and the mic has a faint noise floor. The reference can be the
narration (aligned), zeros (we think we are silent) or other speech (we play something else).
"""

from __future__ import annotations

import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr

RATE = 16_000
NARRATION = (
    "Lie on your back with your knees bent and your feet flat on the floor. "
    "Breathe in slowly, and as you breathe out, press your lower back gently into the floor. "
    "Hold it there for five breaths, keeping your shoulders relaxed. "
    "Now let go, and rest for a moment before the next one."
)
OTHER_SPEECH = (
    "Bring both knees up towards your chest and hold them with your hands. "
    "Rock gently from side to side, and let your hips sink towards the floor."
)


def _read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as wav:
        rate = wav.getframerate()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.float64)
    return soxr.resample(samples, rate, RATE) if rate != RATE else samples


def espeak(text: str) -> np.ndarray:
    """The coach's voice: espeak-ng at 16 kHz, as float samples on the int16 scale."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "say.wav"
        subprocess.run(["espeak-ng", "-w", str(path), text], check=True, capture_output=True)
        return _read_wav(path)


def flite(word: str) -> np.ndarray:
    """The user's voice: flite (8 kHz, resampled to 16 kHz), float samples on the int16 scale."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "say.wav"
        subprocess.run(["flite", "-t", word, "-o", str(path)], check=True, capture_output=True)
        return trim(_read_wav(path))


def trim(samples: np.ndarray, below_peak_db: float = 40.0) -> np.ndarray:
    """Cut leading and trailing 10 ms frames quieter than `below_peak_db` under the loudest."""
    level = frame_levels_db(samples)
    loud = np.nonzero(level > level.max() - below_peak_db)[0]
    return samples[loud[0] * 160 : (loud[-1] + 1) * 160]


def frame_levels_db(samples: np.ndarray) -> np.ndarray:
    frames = samples[: len(samples) // 160 * 160].reshape(-1, 160)
    return 10 * np.log10(np.mean(frames**2, axis=1) + 1e-9)


def voiced_rms(samples: np.ndarray, below_peak_db: float = 30.0) -> float:
    """RMS over the 10 ms frames within `below_peak_db` of the loudest: a level for speech."""
    frames = samples[: len(samples) // 160 * 160].reshape(-1, 160)
    level = frame_levels_db(samples)
    return float(np.sqrt(np.mean(frames[level > level.max() - below_peak_db] ** 2)))


def db(ratio: float) -> float:
    return float(20 * np.log10(ratio))


@dataclass(frozen=True)
class Word:
    word: str
    start: int  # sample index in the scene
    end: int


@dataclass
class Scene:
    mic: np.ndarray  # what the microphone heard (echo + user + noise), int16 scale
    reference: np.ndarray  # what we tell the canceller we played
    user: np.ndarray  # the user's voice alone, as the mic heard it
    narration: tuple[int, int]  # where the narration plays, in samples
    words: list[Word]

    def mic_bytes(self) -> bytes:
        return to_pcm(self.mic)

    def reference_bytes(self) -> bytes:
        return to_pcm(self.reference)

    def narration_only(self, margin: int = 1600, skip: int = 0) -> np.ndarray:
        """A mask of the samples where narration plays and no word is near (after `skip` samples)."""
        mask = np.zeros(len(self.mic), dtype=bool)
        mask[self.narration[0] + skip : self.narration[1]] = True
        for word in self.words:
            mask[max(0, word.start - margin) : word.end + margin] = False
        return mask


def to_pcm(samples: np.ndarray) -> bytes:
    return np.clip(np.round(samples), -32768, 32767).astype("<i2").tobytes()


def from_pcm(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64)


def room_path(delay_ms: float, tail_ms: float = 60.0, seed: int = 0) -> np.ndarray:
    """Impulse response speaker → mic: a direct path after `delay_ms` and a decaying tail."""
    delay = round(delay_ms * RATE / 1000)
    tail = round(4 * tail_ms * RATE / 1000)
    rng = np.random.default_rng(seed)
    response = np.zeros(delay + tail)
    response[delay] = 1.0
    response[delay + 1 :] += rng.normal(0, 0.25, tail - 1) * np.exp(-np.arange(1, tail) / (tail_ms * RATE / 1000))
    return response


def build_scene(
    narration: np.ndarray,
    words: list[tuple[str, np.ndarray, float]],
    *,
    delay_ms: float = 40.0,
    echo_below_user_db: float = 10.0,
    reference: str = "aligned",
    other: np.ndarray | None = None,
    lead_seconds: float = 0.5,
    user_rms: float = 3000.0,
    noise_rms: float = 15.0,
    seed: int = 0,
) -> Scene:
    """Narration starts after `lead_seconds`; each (word, samples, seconds) is said at that time.

    `reference`: "aligned" (what was played), "zeros" or "other" (`other` speech in its place).
    """
    start = round(lead_seconds * RATE)
    length = start + len(narration) + RATE
    played = np.zeros(length)
    played[start : start + len(narration)] = narration
    echo = np.convolve(played, room_path(delay_ms, seed=seed))[:length]

    user = np.zeros(length)
    placed: list[Word] = []
    for word, samples, seconds in words:
        at = round(seconds * RATE)
        user[at : at + len(samples)] += samples * (user_rms / voiced_rms(samples))
        placed.append(Word(word, at, at + len(samples)))
    echo *= user_rms / voiced_rms(echo) * 10 ** (-echo_below_user_db / 20)

    rng = np.random.default_rng(seed)
    mic = echo + user + rng.normal(0, noise_rms, length)
    if reference == "aligned":
        ref = played
    elif reference == "zeros":
        ref = np.zeros(length)
    elif reference == "other":
        if other is None:
            raise ValueError("reference='other' needs `other` speech")
        ref = np.zeros(length)
        ref[start : start + min(len(other), length - start)] = other[: length - start]
    else:
        raise ValueError(f"unknown reference {reference!r}")
    return Scene(mic=mic, reference=ref, user=user, narration=(start, start + len(narration)), words=placed)
