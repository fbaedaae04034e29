"""Acoustic echo cancellation: take the coach's own narration out of the microphone signal.

Theory of operation: the speaker's output leaks into the microphone, so the segmenter would hear
speech all the time. We know what we play (the reference), so an adaptive filter learns the path
from speaker to microphone and subtracts its estimate. Two cancellers do this:

- speexdsp's (`SpeexEchoCanceller`, Debian's libspeexdsp1 through ctypes): a linear multidelay
  frequency-domain filter and nothing after it, so what is left is a faint residue of the coach's
  voice and the user's voice as it was. This is what the recogniser hears (`auto`), once the filter
  has learnt the room: it starts from nothing and needs some seconds of the coach talking, so
  `SettlingEchoCanceller` gives AEC3's output until then (in a realstop tune run, unconverged
  speexdsp's left enough of the coach 3 s into the session for a false "skip");
- WebRTC AEC3 (`LiveKitEchoCanceller`, the `livekit` package): a linear filter and then a
  suppressor that turns down whatever still sounds like echo. It leaves less of the coach but, when
  the user speaks while the coach talks, turns the user's word down and reshapes it too. With the
  coach 6 dB under the user, the spotter heard 46 % of held-out real commands through AEC3 and
  80 % through speexdsp's (84 % with no coach at all; `python -m voicecoach.bench.aec`), though
  AEC3 takes more of the coach out (ERLE 35 dB against 24). It stays a choice (`--echo livekit`).

Both work on 10 ms frames: each call buffers what it is given, runs every complete frame and
returns as many bytes as it was given. The output therefore lags the input by a fixed
`delay_samples`: our one frame (10 ms), plus, for AEC3, what it holds back itself (8 ms, and 6 ms
more with noise suppression; measured on livekit 1.2 and checked by the tests). The Null canceller
has no lag. The acoustic delay inside the room (tens of ms) is found by the filter itself, up to
`EchoOptions.filter_ms` for speexdsp's.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from dataclasses import dataclass
from typing import Any, Protocol

from voicecoach.errors import AudioError
from voicecoach.hear import SAMPLE_RATE, SAMPLE_WIDTH_BYTES

log = logging.getLogger(__name__)

FRAME_SAMPLES = SAMPLE_RATE // 100
FRAME_BYTES = FRAME_SAMPLES * SAMPLE_WIDTH_BYTES
KINDS = ("auto", "settling", "speex", "livekit", "none")
SPEEX_SET_SAMPLING_RATE = 24  # speex_echo.h: SPEEX_ECHO_SET_SAMPLING_RATE
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
    filter_ms: int = 256  # speexdsp: the longest speaker-to-microphone path it learns (delay and room)


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


class _Framed:
    """A canceller that works on whole 10 ms frames: `process` buffers what it is given, runs every
    complete frame through `_cancel` and returns as many bytes as it was given, one frame late (it
    starts with a frame of silence)."""

    def _start_framing(self) -> None:
        self._mic = bytearray()
        self._reference = bytearray()
        self._out = bytearray(FRAME_BYTES)

    def process(self, mic: bytes, reference: bytes) -> bytes:
        _check_lengths(mic, reference)
        self._mic += mic
        self._reference += reference
        ready = len(self._mic) // FRAME_BYTES * FRAME_BYTES
        for start in range(0, ready, FRAME_BYTES):
            end = start + FRAME_BYTES
            self._out += self._cancel(bytes(self._mic[start:end]), bytes(self._reference[start:end]))
        del self._mic[:ready], self._reference[:ready]
        result = bytes(self._out[: len(mic)])
        del self._out[: len(mic)]
        return result

    def _cancel(self, mic: bytes, reference: bytes) -> bytes:
        raise NotImplementedError


class LiveKitEchoCanceller(_Framed):
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
        # The frame of silence first is the fixed delay that lets every call return exactly as many
        # bytes as it was given.
        self._start_framing()

    def _cancel(self, mic: bytes, reference: bytes) -> bytes:
        rtc = self._rtc
        played = rtc.AudioFrame(bytearray(reference), SAMPLE_RATE, 1, FRAME_SAMPLES)
        self._apm.process_reverse_stream(played)
        heard = rtc.AudioFrame(bytearray(mic), SAMPLE_RATE, 1, FRAME_SAMPLES)
        self._apm.process_stream(heard)  # in place
        return heard.data.tobytes()


class SpeexEchoCanceller(_Framed):
    """speexdsp's linear echo canceller (libspeexdsp, through ctypes); one per microphone stream."""

    def __init__(self, options: EchoOptions | None = None) -> None:
        self.options = options or EchoOptions()
        self.delay_samples = FRAME_SAMPLES
        self._lib = _speexdsp()
        taps = SAMPLE_RATE * self.options.filter_ms // 1000
        self._state = ctypes.c_void_p(self._lib.speex_echo_state_init(FRAME_SAMPLES, taps))
        if not self._state:
            raise AudioError("speexdsp could not start its echo canceller")
        rate = ctypes.c_int(SAMPLE_RATE)
        self._lib.speex_echo_ctl(self._state, SPEEX_SET_SAMPLING_RATE, ctypes.byref(rate))
        self._start_framing()
        self._frame = ctypes.create_string_buffer(FRAME_BYTES)

    def _cancel(self, mic: bytes, reference: bytes) -> bytes:
        self._lib.speex_echo_cancellation(self._state, mic, reference, self._frame)
        return self._frame.raw

    def __del__(self) -> None:
        state = getattr(self, "_state", None)
        if state:
            self._lib.speex_echo_state_destroy(state)
            self._state = ctypes.c_void_p()


def _speexdsp() -> ctypes.CDLL:
    """Debian's libspeexdsp1, its echo functions typed."""
    name = ctypes.util.find_library("speexdsp") or "libspeexdsp.so.1"
    try:
        lib = ctypes.CDLL(name)
    except OSError as error:
        raise AudioError(f"speexdsp is not installed ({error}); scripts/setup.sh installs libspeexdsp1") from error
    lib.speex_echo_state_init.restype = ctypes.c_void_p
    lib.speex_echo_state_init.argtypes = [ctypes.c_int, ctypes.c_int]
    lib.speex_echo_ctl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
    lib.speex_echo_ctl.restype = ctypes.c_int
    lib.speex_echo_cancellation.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p]
    lib.speex_echo_cancellation.restype = None
    lib.speex_echo_state_destroy.argtypes = [ctypes.c_void_p]
    lib.speex_echo_state_destroy.restype = None
    return lib


class SettlingEchoCanceller:
    """speexdsp's canceller, with AEC3's output while speexdsp's filter is still learning the room.

    speexdsp's filter starts from nothing and needs some seconds of the coach talking to take most
    of it out (`SETTLE_SECONDS`); until then what it leaves can sound like a command. AEC3 is there at
    once. Both run until then; the output is AEC3's until the reference has carried sound for
    `settle_seconds`, speexdsp's (alone) from then on, decided sample by sample so it does not depend on how
    the stream was cut into chunks. speexdsp's output is held back to AEC3's lag, so `delay_samples`
    is one constant."""

    SETTLE_SECONDS = 8.0
    SOUND = 64  # a reference sample louder than this (about -54 dBFS) is the coach playing

    def __init__(self, options: EchoOptions | None = None, settle_seconds: float = SETTLE_SECONDS) -> None:
        import numpy as np

        self._np = np
        self._speex = SpeexEchoCanceller(options)
        self._aec3 = LiveKitEchoCanceller(options)
        self.delay_samples = self._aec3.delay_samples
        self._hold = bytearray(SAMPLE_WIDTH_BYTES * (self._aec3.delay_samples - self._speex.delay_samples))
        self._settle = round(settle_seconds * SAMPLE_RATE)
        self._sounded = 0  # reference samples with sound so far
        self._seen = 0  # reference samples so far
        self._odd = b""  # a reference byte whose sample is not complete yet
        self._out = 0  # output bytes so far
        self._switch: int | None = None  # the first output sample that is speexdsp's

    @property
    def settled(self) -> bool:
        return self._switch is not None

    def process(self, mic: bytes, reference: bytes) -> bytes:
        self._hold += self._speex.process(mic, reference)
        speex = bytes(self._hold[: len(mic)])
        del self._hold[: len(mic)]
        first, self._out = self._out, self._out + len(mic)
        if self._switch is not None and first >= 2 * self._switch:
            return speex  # AEC3 is no longer heard, so it is no longer run
        aec3 = self._aec3.process(mic, reference)
        if self._switch is None:
            self._count(reference)
        if self._switch is None or self._out <= 2 * self._switch:
            return aec3
        cut = max(0, 2 * self._switch - first)
        return aec3[:cut] + speex[cut:]

    def _count(self, reference: bytes) -> None:
        """Count the reference's samples with sound; once there are enough, place the switch: output
        sample j comes from input sample j - delay_samples."""
        np = self._np
        data = self._odd + reference
        whole = len(data) // 2 * 2
        self._odd = data[whole:]
        sound = np.abs(np.frombuffer(data[:whole], dtype="<i2").astype(np.int32)) > self.SOUND
        counts = self._sounded + np.cumsum(sound)
        if len(counts) and counts[-1] >= self._settle:
            last = self._seen + int(np.argmax(counts >= self._settle))  # the settle-th sample with sound
            self._switch = last + 1 + self.delay_samples
        self._sounded = int(counts[-1]) if len(counts) else self._sounded
        self._seen += len(sound)


CANCELLERS: dict[str, tuple[type, str, str]] = {  # kind: (class, what it is, how to install it)
    "speex": (SpeexEchoCanceller, "speexdsp's linear canceller", "scripts/setup.sh installs libspeexdsp1"),
    "livekit": (LiveKitEchoCanceller, "WebRTC AEC3 (livekit)", "install it with pip install 'voicecoach[audio]'"),
    "settling": (
        SettlingEchoCanceller,
        "speexdsp's linear canceller (AEC3 while it learns the room)",
        "it needs both libspeexdsp1 (scripts/setup.sh) and livekit (pip install 'voicecoach[audio]')",
    ),
}


def make_echo_canceller(kind: str = "auto", options: EchoOptions | None = None) -> EchoCanceller:
    """`settling`, `speex` or `livekit` (an error if it cannot load), `none`, or `auto`: settling,
    else speex, else livekit, else none with a warning."""
    if kind not in KINDS:
        raise ValueError(f"unknown echo canceller {kind!r}; choose one of {', '.join(KINDS)}")
    if kind == "none":
        return NullEchoCanceller()
    failures = []
    for name in ("settling", "speex", "livekit") if kind == "auto" else (kind,):
        made, what, install = CANCELLERS[name]
        try:
            canceller: EchoCanceller = made(options)
        except Exception as error:  # ImportError, or the native library failing to load or start
            if kind != "auto":
                raise AudioError(f"The echo canceller cannot be used ({error}); {install}.") from error
            failures.append(f"{name}: {error}")
            continue
        log.info("cancelling echo with %s", what)
        return canceller
    log.warning("no echo cancellation (%s): the coach's own voice may hide commands", "; ".join(failures))
    return NullEchoCanceller()


def _check_lengths(mic: bytes, reference: bytes) -> None:
    if len(mic) != len(reference):
        raise ValueError(f"mic and reference differ in length ({len(mic)} and {len(reference)} bytes)")
