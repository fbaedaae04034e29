"""Clips as the head learns from them: where the speech is, its level, speed changes, window labels.

Shared by `voicecoach train-spotter` and by enrolment on the device, so both label a phrase the same
way: a window ending while nothing meant has been heard is "none", one ending 30 to 500 ms after the
phrase is the phrase's class, and one that holds part of the phrase is IGNORE (neither right nor wrong).
"""

from __future__ import annotations

import numpy as np

from voicecoach.hear.spotter.features import FIRST_HEARD_SAMPLES, SAMPLE_RATE, STEP_SAMPLES
from voicecoach.hear.spotter.head import WINDOW

IGNORE = -1
NONE_CLASS = 0


def speech_span(samples: np.ndarray) -> tuple[int, int]:
    """First and last sample of the loud part (frames within 35 dB of the loudest 10 ms)."""
    frames = len(samples) // 160
    if frames == 0:
        return 0, len(samples)
    energy = (samples[: frames * 160].astype(np.float64).reshape(frames, 160) ** 2).mean(axis=1) + 1e-3
    level = 10 * np.log10(energy)
    loud = np.nonzero(level > level.max() - 35)[0]
    return int(loud[0] * 160), int((loud[-1] + 1) * 160)


def active_rms(samples: np.ndarray) -> float:
    """The RMS level of the loud part."""
    start, end = speech_span(samples)
    part = samples[start:end].astype(np.float64)
    return float(np.sqrt((part**2).mean())) + 1e-6


def stretched(samples: np.ndarray, factor: float) -> np.ndarray:
    """Faster (factor > 1) and higher, or slower and lower, by plain resampling."""
    n = max(2, round(len(samples) / factor))
    return np.interp(np.linspace(0, len(samples) - 1, n), np.arange(len(samples)), samples)


def window_labels(count: int, start: int, end: int, cls: int) -> np.ndarray:
    """The label of the window ending at each of `count` embeddings, for a phrase at start..end."""
    labels = np.full(count, IGNORE, dtype=np.int8)
    heard = FIRST_HEARD_SAMPLES + STEP_SAMPLES * np.arange(count)  # samples heard when each embedding is ready
    labels[heard < start + 0.1 * SAMPLE_RATE] = NONE_CLASS
    if cls == NONE_CLASS:
        labels[:] = NONE_CLASS
    else:
        labels[(heard >= end + 0.03 * SAMPLE_RATE) & (heard <= end + 0.5 * SAMPLE_RATE)] = cls
    labels[: WINDOW - 1] = IGNORE  # no full window yet
    return labels
