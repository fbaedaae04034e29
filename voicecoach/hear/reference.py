"""The echo canceller's reference: everything the coach played, at 16 kHz, on the session clock.

The speaker side adds each clip where it starts playing and cuts it when the speaker is stopped; the
microphone side reads the stretch that was playing while a chunk was recorded. Old audio is
dropped as the session moves on, so a long session keeps only a few seconds in memory.
"""

from __future__ import annotations

import threading

import numpy as np
import soxr

from voicecoach.hear import SAMPLE_RATE

KEEP_SECONDS = 30.0


class ReferenceTrack:
    """A sliding 16 kHz mono buffer of what was played; times are seconds on the session clock."""

    def __init__(self, keep_seconds: float = KEEP_SECONDS):
        self._keep = round(keep_seconds * SAMPLE_RATE)
        self._origin = 0  # sample index of _samples[0]
        self._samples = np.zeros(0, dtype=np.float32)
        self._lock = threading.Lock()  # the speaker writes, the listener reads

    def add(self, samples: np.ndarray, sample_rate: int, start_seconds: float, gain: float = 1.0) -> None:
        """The clip `samples` starts playing at `start_seconds`."""
        if len(samples) == 0:
            return
        clip = samples.astype(np.float32)
        if sample_rate != SAMPLE_RATE:
            clip = soxr.resample(clip, sample_rate, SAMPLE_RATE)
        with self._lock:
            begin = round(start_seconds * SAMPLE_RATE) - self._origin
            if begin < 0:
                clip, begin = clip[-begin:], 0
            self._grow(begin + len(clip))
            self._samples[begin : begin + len(clip)] += clip * gain

    def cut(self, at_seconds: float) -> None:
        """The speaker was stopped at `at_seconds`: nothing after it was played."""
        with self._lock:
            self._samples[max(0, round(at_seconds * SAMPLE_RATE) - self._origin) :] = 0.0

    def read(self, start_seconds: float, samples: int) -> bytes:
        """`samples` of 16-bit PCM from `start_seconds` (silence where nothing was played)."""
        with self._lock:
            begin = round(start_seconds * SAMPLE_RATE) - self._origin
            out = np.zeros(samples, dtype=np.float32)
            lo, hi = max(begin, 0), min(begin + samples, len(self._samples))
            if hi > lo:
                out[lo - begin : hi - begin] = self._samples[lo:hi]
            self._forget_before(begin)
        return np.clip(out, -32768, 32767).astype("<i2").tobytes()

    def _grow(self, length: int) -> None:
        if length > len(self._samples):
            self._samples = np.concatenate([self._samples, np.zeros(length - len(self._samples), np.float32)])

    def _forget_before(self, index: int) -> None:
        """Keep `keep_seconds` before `index`; the origin moves on even past what is held, so the
        first words after hours of silence are placed at the start of an empty buffer, not after
        hours of zeros."""
        drop = index - self._keep
        if drop > 0:
            self._samples = self._samples[drop:]
            self._origin += drop


class EchoPresence:
    """Is the coach's own voice reaching the microphone at all? Then the echo canceller's output is
    worth using; with no echo path (headphones, a virtual sound card) its suppressor only damages the
    user's voice, so the raw microphone is better.

    It correlates the 10 ms log-energy envelopes of the reference and the microphone over the last
    few seconds in which the coach spoke, at lags of 0 to 400 ms; echo is present while the best
    correlation stays above a threshold (with hysteresis)."""

    FRAME = SAMPLE_RATE // 100
    MAX_LAG_FRAMES = 40
    WINDOW_FRAMES = 400

    def __init__(self, on_above: float = 0.5, off_below: float = 0.3, active_dbfs: float = -50.0):
        self.on_above, self.off_below, self.active_dbfs = on_above, off_below, active_dbfs
        self.present = False
        self.correlation = 0.0
        self._mic: list[float] = []
        self._ref: list[float] = []
        self._carry = (b"", b"")

    def update(self, mic: bytes, reference: bytes) -> bool:
        """Take the next aligned chunks; returns whether echo is present now."""
        mic, reference = self._carry[0] + mic, self._carry[1] + reference
        whole = len(mic) // (2 * self.FRAME) * 2 * self.FRAME
        self._carry = (mic[whole:], reference[whole:])
        for start in range(0, whole, 2 * self.FRAME):
            self._mic.append(_level_db(mic[start : start + 2 * self.FRAME]))
            self._ref.append(_level_db(reference[start : start + 2 * self.FRAME]))
        keep = self.WINDOW_FRAMES + self.MAX_LAG_FRAMES
        self._mic, self._ref = self._mic[-keep:], self._ref[-keep:]
        self._decide()
        return self.present

    def _decide(self) -> None:
        ref = np.array(self._ref)
        if (ref > self.active_dbfs).sum() < 100:  # under a second of the coach speaking: keep the verdict
            return
        mic = np.array(self._mic)
        best = 0.0
        for lag in range(0, min(self.MAX_LAG_FRAMES, len(mic) - 50) + 1, 2):
            a, b = ref[: len(ref) - lag], mic[lag:]
            if a.std() > 0.01 and b.std() > 0.01:  # a flat envelope (digital silence) says nothing
                best = max(best, float(np.corrcoef(a, b)[0, 1]))
        self.correlation = best
        if best > self.on_above:
            self.present = True
        elif best < self.off_below:
            self.present = False


def _level_db(pcm: bytes) -> float:
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
    return 10 * np.log10(np.mean(samples**2) / 32768.0**2 + 1e-10)
