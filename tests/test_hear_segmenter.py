"""The VAD segmenter: in steady noise, only what stands above the noise floor is speech."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("webrtcvad")

from voicecoach.hear import SAMPLE_RATE  # noqa: E402
from voicecoach.hear.segmenter import Segmenter, SegmenterOptions, Utterance  # noqa: E402


def noise(seconds: float, rms: float, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, rms, round(seconds * SAMPLE_RATE))


LEARNING_SECONDS = 0.4  # a quarter of the floor window: before it, the VAD decides alone


def segment(samples: np.ndarray, options: SegmenterOptions, chunk: int = 700) -> list[Utterance]:
    """The utterances found in `samples`, leaving out any that began while the floor was being learnt."""
    pcm = np.clip(np.round(samples), -32768, 32767).astype("<i2").tobytes()
    segmenter = Segmenter(options)
    found: list[Utterance] = []
    for offset in range(0, len(pcm), chunk * 2):
        found += segmenter.push(pcm[offset : offset + chunk * 2])
    return [u for u in found + segmenter.flush() if u.speech_start_sample >= LEARNING_SECONDS * SAMPLE_RATE]


def machine(seconds: float, rms: float = 1000.0) -> np.ndarray:
    """Noise throbbing 3 times a second, like an exercise bike: webrtcvad calls most of it speech."""
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    throbbing = noise(seconds, rms, seed=1) * (1 + 0.4 * np.sin(2 * np.pi * 3 * t))
    return 2 * np.convolve(throbbing, np.ones(4) / 4, mode="same")  # duller, as a motor sounds


def burst_in_noise(lead: float = 3.0, burst: float = 0.6, tail: float = 2.0, above_db: float = 16.0) -> np.ndarray:
    """The machine's noise with a louder burst `above_db` over it at `lead` seconds."""
    bed = machine(lead + burst + tail)
    start, end = round(lead * SAMPLE_RATE), round((lead + burst) * SAMPLE_RATE)
    bed[start:end] += noise(burst, 1000.0 * 10 ** (above_db / 20), seed=2)
    return bed


def test_in_steady_noise_only_what_stands_above_the_floor_is_an_utterance() -> None:
    utterances = segment(burst_in_noise(), SegmenterOptions())
    assert len(utterances) == 1
    speech = utterances[0]
    assert 2.9 <= speech.speech_start_sample / SAMPLE_RATE <= 3.1
    assert 3.5 <= speech.speech_end_sample / SAMPLE_RATE <= 3.7


def test_without_the_gate_the_noise_runs_into_the_word_and_both_are_dropped_as_too_long() -> None:
    assert segment(burst_in_noise(), SegmenterOptions(min_snr_db=0.0)) == []
    assert segment(machine(6.0), SegmenterOptions()) == []


def test_a_burst_barely_above_the_noise_is_not_speech() -> None:
    assert segment(burst_in_noise(above_db=4.0), SegmenterOptions(min_snr_db=10.0)) == []


def test_in_quiet_the_gate_changes_nothing() -> None:
    quiet = noise(4.0, 4.0, seed=3)
    start = round(1.5 * SAMPLE_RATE)
    quiet[start : start + round(0.5 * SAMPLE_RATE)] += noise(0.5, 3000.0, seed=4)
    gated, plain = segment(quiet, SegmenterOptions()), segment(quiet, SegmenterOptions(min_snr_db=0.0))
    assert len(gated) == len(plain) == 1
    assert gated[0].speech_start_sample == plain[0].speech_start_sample
    assert 2.0 <= gated[0].speech_end_sample / SAMPLE_RATE <= plain[0].speech_end_sample / SAMPLE_RATE


def test_sample_times_count_every_sample_fed_even_the_part_frame_a_flush_throws_away() -> None:
    segmenter = Segmenter(SegmenterOptions())
    odd = (
        np.round(noise(1.0, 4.0, seed=5)).astype("<i2").tobytes()[: 2 * (SAMPLE_RATE - 1)]
    )  # 1 sample short of a frame
    for _ in range(5):  # five streams, as `voicecoach bench` feeds one recogniser
        segmenter.push(odd)
        assert segmenter.flush() == []
    fed = 5 * (SAMPLE_RATE - 1)
    quiet = noise(3.0, 4.0, seed=6)
    quiet[SAMPLE_RATE : SAMPLE_RATE + SAMPLE_RATE // 2] += noise(0.5, 3000.0, seed=7)
    found = segmenter.push(np.round(quiet).astype("<i2").tobytes()) + segmenter.flush()
    assert len(found) == 1
    assert abs(found[0].speech_start_sample - (fed + SAMPLE_RATE)) <= 0.04 * SAMPLE_RATE  # 5 part-frames were 0.1 s
