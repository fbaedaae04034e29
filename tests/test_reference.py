"""The echo canceller's reference track: what was played, where, and nothing after a stop."""

from __future__ import annotations

import numpy as np

from voicecoach.hear import SAMPLE_RATE
from voicecoach.hear.reference import EchoPresence, ReferenceTrack


def pcm(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<i2")


def test_a_clip_is_read_back_where_it_played_and_silence_elsewhere():
    track = ReferenceTrack()
    track.add(np.full(SAMPLE_RATE, 1000, dtype=np.int16), SAMPLE_RATE, start_seconds=2.0)
    assert not pcm(track.read(1.0, SAMPLE_RATE)).any()
    assert (pcm(track.read(2.0, SAMPLE_RATE)) == 1000).all()
    half = pcm(track.read(2.5, SAMPLE_RATE))
    assert (half[: SAMPLE_RATE // 2] == 1000).all() and not half[SAMPLE_RATE // 2 :].any()


def test_other_rates_are_resampled_and_overlaps_add_up():
    track = ReferenceTrack()
    track.add(np.full(22_050, 1000, dtype=np.int16), 22_050, start_seconds=0.0)
    track.add(np.full(SAMPLE_RATE, 500, dtype=np.int16), SAMPLE_RATE, start_seconds=0.0)
    middle = pcm(track.read(0.25, SAMPLE_RATE // 2))
    assert np.allclose(middle, 1500, atol=15)


def test_a_stop_cuts_everything_after_it():
    track = ReferenceTrack()
    track.add(np.full(2 * SAMPLE_RATE, 1000, dtype=np.int16), SAMPLE_RATE, start_seconds=0.0)
    track.cut(1.0)
    got = pcm(track.read(0.0, 2 * SAMPLE_RATE))
    assert (got[:SAMPLE_RATE] == 1000).all() and not got[SAMPLE_RATE:].any()


def test_old_audio_is_forgotten():
    track = ReferenceTrack(keep_seconds=1.0)
    for second in range(10):
        track.add(np.full(SAMPLE_RATE, 1000, dtype=np.int16), SAMPLE_RATE, start_seconds=float(second))
        track.read(float(second), SAMPLE_RATE)
    assert len(track._samples) <= 3 * SAMPLE_RATE
    assert (pcm(track.read(9.0, SAMPLE_RATE)) == 1000).all()


def speechlike(seconds: float, seed: int) -> np.ndarray:
    """Noise bursts with pauses, like sentences: an envelope worth correlating."""
    rng = np.random.default_rng(seed)
    out = np.zeros(round(seconds * SAMPLE_RATE), dtype=np.float32)
    at = 0
    while at < len(out):
        burst = rng.integers(SAMPLE_RATE // 5, SAMPLE_RATE)
        out[at : at + burst] = rng.normal(0, 3000, min(burst, len(out) - at))
        at += burst + rng.integers(SAMPLE_RATE // 10, SAMPLE_RATE // 2)
    return out


def feed_presence(mic: np.ndarray, reference: np.ndarray) -> EchoPresence:
    presence = EchoPresence()
    for start in range(0, len(mic), 800):
        presence.update(
            mic[start : start + 800].astype("<i2").tobytes(), reference[start : start + 800].astype("<i2").tobytes()
        )
    return presence


def test_echo_is_found_when_the_coachs_voice_reaches_the_microphone():
    reference = speechlike(8.0, seed=1)
    room = np.concatenate([np.zeros(640, np.float32), reference[:-640]]) * 0.3  # 40 ms late, 10 dB down
    mic = room + np.random.default_rng(2).normal(0, 30, len(room))
    presence = feed_presence(mic, reference)
    assert presence.present and presence.correlation > 0.8


def test_no_echo_is_found_with_headphones_or_a_virtual_sound_card():
    reference = speechlike(8.0, seed=1)
    user = speechlike(8.0, seed=3) * 0.5  # someone talking, but not the coach
    presence = feed_presence(user, reference)
    assert not presence.present and presence.correlation < 0.3
