"""Acoustic echo cancellation: take the coach's own narration out of the microphone signal.

Theory of operation: the speaker's output leaks into the microphone, so the segmenter would hear
speech all the time. We know what we play (the reference), so WebRTC's echo canceller (AEC3, via
the `livekit` package's AudioProcessingModule) learns the path from speaker to microphone and
subtracts its estimate. It works on 10 ms frames: each call buffers what it is given, runs every
complete frame (reference first, then microphone) and returns as many bytes as it was given. The
output therefore lags the input by a fixed `delay_samples`: our one frame (10 ms) plus what AEC3
itself holds back (8 ms, and 6 ms more with noise suppression; measured on livekit 1.2 and checked
by the tests), 18 ms in all by default. The Null canceller has no lag. The acoustic delay inside
the room (tens of ms) is found by AEC3 itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from voicecoach.errors import AudioError
from voicecoach.hear import SAMPLE_RATE, SAMPLE_WIDTH_BYTES

log = logging.getLogger(__name__)

FRAME_SAMPLES = SAMPLE_RATE // 100
FRAME_BYTES = FRAME_SAMPLES * SAMPLE_WIDTH_BYTES
KINDS = ("auto", "livekit", "none")
AEC3_DELAY_SAMPLES = 128  # the latency of AEC3's block processing at 16 kHz
NOISE_SUPPRESSION_DELAY_SAMPLES = 96


@dataclass(frozen=True)
class EchoOptions:
    """What the audio processor does besides cancelling echo; automatic gain is always off.

    `stream_delay_ms` is a hint to AEC3 of the delay between `reference` and its echo in `mic`
    beyond the acoustic path; the interface promises they are aligned, so it is 0.
    Noise suppression stays off by default so the recogniser hears the user's voice as it is.
    """

    noise_suppression: bool = False
    high_pass_filter: bool = True
    stream_delay_ms: int = 0


class EchoCanceller(Protocol):
    """Removes what the speaker played from what the microphone heard."""

    delay_samples: int  # how late the output is: a constant for the canceller's lifetime

    def process(self, mic: bytes, reference: bytes) -> bytes:
        """`mic` and `reference`: equal-length 16 kHz mono int16 little-endian PCM, time-aligned as
        the microphone heard it (reference = what the speaker played at the same moments, zeros
        when silent). Returns as many bytes as given: the microphone with the echo removed,
        `delay_samples` late."""
        ...


class NullEchoCanceller:
    """Returns the microphone unchanged: for machines without the library, or no speaker."""

    delay_samples = 0

    def process(self, mic: bytes, reference: bytes) -> bytes:
        _check_lengths(mic, reference)
        return bytes(mic)


class LiveKitEchoCanceller:
    """WebRTC AEC3 through livekit's AudioProcessingModule; one instance per microphone stream."""

    def __init__(self, options: EchoOptions | None = None) -> None:
        from livekit import rtc  # heavy: a 20 MB native library

        self.options = options or EchoOptions()
        self.delay_samples = FRAME_SAMPLES + AEC3_DELAY_SAMPLES
        if self.options.noise_suppression:
            self.delay_samples += NOISE_SUPPRESSION_DELAY_SAMPLES
        self._rtc: Any = rtc
        self._apm = rtc.AudioProcessingModule(
            echo_cancellation=True,
            noise_suppression=self.options.noise_suppression,
            high_pass_filter=self.options.high_pass_filter,
            auto_gain_control=False,
        )
        self._apm.set_stream_delay_ms(self.options.stream_delay_ms)
        self._mic = bytearray()
        self._reference = bytearray()
        # Starts with one frame of silence: that is the fixed delay that lets every call return
        # exactly as many bytes as it was given.
        self._out = bytearray(FRAME_BYTES)

    def process(self, mic: bytes, reference: bytes) -> bytes:
        _check_lengths(mic, reference)
        self._mic += mic
        self._reference += reference
        ready = len(self._mic) // FRAME_BYTES * FRAME_BYTES
        for start in range(0, ready, FRAME_BYTES):
            self._out += self._frame(start)
        del self._mic[:ready], self._reference[:ready]
        result = bytes(self._out[: len(mic)])
        del self._out[: len(mic)]
        return result

    def _frame(self, start: int) -> bytes:
        rtc = self._rtc
        end = start + FRAME_BYTES
        reference = rtc.AudioFrame(bytearray(self._reference[start:end]), SAMPLE_RATE, 1, FRAME_SAMPLES)
        self._apm.process_reverse_stream(reference)
        mic = rtc.AudioFrame(bytearray(self._mic[start:end]), SAMPLE_RATE, 1, FRAME_SAMPLES)
        self._apm.process_stream(mic)  # in place
        return mic.data.tobytes()


def make_echo_canceller(kind: str = "auto", options: EchoOptions | None = None) -> EchoCanceller:
    """`livekit` (an error if it cannot load), `none`, or `auto`: livekit, else none with a warning."""
    if kind not in KINDS:
        raise ValueError(f"unknown echo canceller {kind!r}; choose one of {', '.join(KINDS)}")
    if kind == "none":
        return NullEchoCanceller()
    try:
        canceller = LiveKitEchoCanceller(options)
    except Exception as error:  # ImportError, or the native library failing to load or start
        if kind == "livekit":
            raise AudioError(
                f"The echo canceller cannot be used ({error}); install it with pip install 'voicecoach[audio]'."
            ) from error
        log.warning("no echo cancellation (%s): the coach's own voice may hide commands", error)
        return NullEchoCanceller()
    log.info("cancelling echo with WebRTC AEC3 (livekit)")
    return canceller


def _check_lengths(mic: bytes, reference: bytes) -> None:
    if len(mic) != len(reference):
        raise ValueError(f"mic and reference differ in length ({len(mic)} and {len(reference)} bytes)")
