"""Building continuous test streams: clips placed between gaps of faint noise, optionally under a noise."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from voicecoach.hear import SAMPLE_RATE

log = logging.getLogger(__name__)

FRAME = SAMPLE_RATE // 100  # 10 ms energy frames
FLOOR_DBFS = -60.0  # the faint room noise in the gaps (no digital silence anywhere)
SPEECH_BELOW_PEAK_DB = 35.0  # frames within this much of the loudest frame count as speech
MARGIN_SECONDS = 0.3  # kept around the speech of each clip
GAP_SECONDS = 0.8  # faint noise between clips


@dataclass(frozen=True)
class Span:
    """Where the speech is, in samples."""

    start: int
    end: int


@dataclass(frozen=True)
class Placed:
    """A clip in a stream, in seconds from the stream's first sample; `index` is its place in the list."""

    index: int
    start_seconds: float
    end_seconds: float
    speech_end_seconds: float


def dbfs(samples: np.ndarray) -> float:
    rms = float(np.sqrt(np.mean(np.square(samples.astype(np.float64))))) if len(samples) else 0.0
    return 20 * np.log10(max(rms, 1e-9) / 32768)


def speech_span(samples: np.ndarray) -> Span:
    """First to last 10 ms frame within SPEECH_BELOW_PEAK_DB of the loudest frame (energy endpointing)."""
    frames = len(samples) // FRAME
    if frames == 0:
        return Span(0, len(samples))
    power = np.square(samples[: frames * FRAME].astype(np.float64)).reshape(frames, FRAME).mean(axis=1)
    level = 10 * np.log10(power + 1e-3)
    loud = np.flatnonzero(level >= level.max() - SPEECH_BELOW_PEAK_DB)
    return Span(int(loud[0]) * FRAME, (int(loud[-1]) + 1) * FRAME)


def speech_dbfs(samples: np.ndarray) -> float:
    """The level of the speech part of a clip."""
    span = speech_span(samples)
    return dbfs(samples[span.start : span.end])


def active_dbfs(samples: np.ndarray) -> float:
    """The level of a long recording while it is speaking: frames within SPEECH_BELOW_PEAK_DB of
    its loud frames (the 99th percentile), so pauses do not lower it."""
    frames = len(samples) // FRAME
    power = np.square(samples[: frames * FRAME].astype(np.float64)).reshape(frames, FRAME).mean(axis=1)
    level = 10 * np.log10(power + 1e-3)
    active = power[level >= np.percentile(level, 99) - SPEECH_BELOW_PEAK_DB]
    return 10 * float(np.log10(active.mean() + 1e-3)) - 20 * float(np.log10(32768))


def trimmed(samples: np.ndarray) -> tuple[np.ndarray, Span]:
    """The clip cut to its speech plus MARGIN_SECONDS each side, and the speech span inside the cut."""
    span = speech_span(samples)
    margin = round(MARGIN_SECONDS * SAMPLE_RATE)
    begin, end = max(0, span.start - margin), min(len(samples), span.end + margin)
    return samples[begin:end], Span(span.start - begin, span.end - begin)


def floor_noise(length: int, rng: np.random.Generator) -> np.ndarray:
    return rng.normal(0.0, 32768 * 10 ** (FLOOR_DBFS / 20), length)


def scaled(samples: np.ndarray, gain_db: float) -> np.ndarray:
    return samples.astype(np.float64) * 10 ** (gain_db / 20)


def looped(noise: np.ndarray, start: int, length: int) -> np.ndarray:
    """`length` samples of `noise` from `start`, wrapping round."""
    index = (start + np.arange(length)) % len(noise)
    return noise[index].astype(np.float64)


def build(
    clips: list[np.ndarray],
    rng: np.random.Generator,
    noise: np.ndarray | None = None,
    snr_db: float | None = None,
    gap_seconds: float = GAP_SECONDS,
) -> tuple[np.ndarray, list[Placed]]:
    """One int16 stream: gap, clip, gap, clip, ..., gap. With `noise`, each clip's stretch (from the
    middle of the gap before to the middle of the gap after) carries the noise at `snr_db` below the
    clip's speech, measured over the speech part."""
    gap = round(gap_seconds * SAMPLE_RATE)
    pieces, spans = zip(*(trimmed(c) for c in clips)) if clips else ((), ())
    total = gap * (len(clips) + 1) + sum(len(p) for p in pieces)
    out = floor_noise(total, rng)
    placed: list[Placed] = []
    at = gap
    for index, (piece, span) in enumerate(zip(pieces, spans)):
        out[at : at + len(piece)] += piece
        if noise is not None and snr_db is not None:
            begin, end = at - gap // 2, min(total, at + len(piece) + gap - gap // 2)
            bed = looped(noise, int(rng.integers(len(noise))), end - begin)
            speech = piece[span.start : span.end]
            under = bed[at - begin + span.start : at - begin + span.end]
            gain_db = dbfs(speech) - snr_db - dbfs(under)
            out[begin:end] += scaled(bed, gain_db)
        placed.append(Placed(index, at / SAMPLE_RATE, (at + len(piece)) / SAMPLE_RATE, (at + span.end) / SAMPLE_RATE))
        at += len(piece) + gap
    return np.clip(np.round(out), -32768, 32767).astype(np.int16), placed
