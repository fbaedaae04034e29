"""Rooms for training audio: reverberation on the user's voice, and the coach's voice leaking in
through the speaker and then taken out again by the same echo canceller the session runs.

Theory of operation: on a mat the user is a metre or two from the microphone, so their voice
reaches it with a room's tail; a synthetic impulse response (the direct sound, then exponentially
decaying noise for an RT60 of a few tenths of a second) stands in for rooms we have no recordings
of. While the coach talks, the session feeds the recogniser what WebRTC AEC3 leaves of the
microphone, not the raw leak: what is left is a faint residue, and the near end suppressed at
times, which the head must learn as it will hear it. The canceller is primed with a second of
leak alone, as a running session's has long converged.
"""

from __future__ import annotations

import numpy as np

from voicecoach.hear.echo import EchoCanceller, LiveKitEchoCanceller

from .voices import SAMPLE_RATE, pcm16

PRIME_SECONDS = 1.0
# Of the coach alone before each copy, so the canceller has converged as a session's has long done:
# AEC3 is there at once, speexdsp's linear filter needs about six seconds of narration.
CONVERGE_SECONDS = {"livekit": PRIME_SECONDS, "speex": 8.0}


def _convolve(signal: np.ndarray, response: np.ndarray) -> np.ndarray:
    """`signal` filtered by `response`, with its whole tail (FFT convolution)."""
    n = len(signal) + len(response) - 1
    size = 1 << (n - 1).bit_length()
    return np.fft.irfft(np.fft.rfft(signal, size) * np.fft.rfft(response, size), size)[:n]


def impulse_response(rng: np.random.Generator, rt60: tuple[float, float] = (0.15, 0.6)) -> np.ndarray:
    """A room: the direct sound, then a decaying noise tail 3 to 15 dB below it in energy."""
    seconds = float(rng.uniform(*rt60))
    n = int(seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    tail = rng.normal(0, 1, n) * 10 ** (-3 * t / seconds)  # 60 dB down at the RT60
    tail[: int(0.004 * SAMPLE_RATE)] = 0.0  # the first reflections come a few ms after the direct sound
    ratio_db = float(rng.uniform(3, 15))
    tail *= np.sqrt(10 ** (-ratio_db / 10) / ((tail**2).sum() + 1e-12))
    tail[0] = 1.0
    return tail


def reverberant(samples: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`samples` as heard across a room, at the same energy, with the room's tail after them."""
    wet = _convolve(samples.astype(np.float64), impulse_response(rng))
    return wet * np.sqrt((samples.astype(np.float64) ** 2).sum() / ((wet**2).sum() + 1e-12))


def speaker_path(played: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """What the microphone hears of what the speaker played: 10 to 60 ms late, through a short room."""
    delay = int(rng.uniform(0.01, 0.06) * SAMPLE_RATE)
    response = impulse_response(rng, (0.1, 0.3))
    heard = np.zeros(len(played))
    heard[delay:] = _convolve(played.astype(np.float64), response)[: len(played) - delay]
    return heard


def cancelled(mic: np.ndarray, played: np.ndarray, prime: int, canceller: EchoCanceller | None = None) -> np.ndarray:
    """`mic` after `canceller` (AEC3, the one the shipped spotter's examples went through, unless
    given) with `played` as its reference; the first `prime` samples only converge it. Returns
    `len(mic) - prime` samples, aligned with `mic[prime:]` (the canceller's lag removed)."""
    canceller = canceller or LiveKitEchoCanceller()
    lag = canceller.delay_samples
    padded_mic = np.concatenate([mic, np.zeros(lag)])
    padded_ref = np.concatenate([played, np.zeros(lag)])
    pcm = canceller.process(pcm16(padded_mic), pcm16(padded_ref))
    out = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    return out[prime + lag : len(mic) + lag]
