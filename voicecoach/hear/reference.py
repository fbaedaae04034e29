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
        drop = min(index - self._keep, len(self._samples))
        if drop > 0:
            self._samples = self._samples[drop:]
            self._origin += drop
