"""The microphone: a PortAudio input stream resampled to 16 kHz mono 16-bit PCM."""

from __future__ import annotations

import collections
import logging
import queue
import time
from typing import Any, Literal

import numpy as np
import sounddevice as sd
import soxr

from voicecoach.audio.devices import DeviceSpec, find_device, pick_settings
from voicecoach.errors import AudioError
from voicecoach.hear import SAMPLE_RATE

log = logging.getLogger(__name__)

Status = Literal["listening", "ended", "lost"]
_GONE = None  # queued by the stream's finished callback: no more blocks will come
DEAD_SHARE = 0.2  # of the last dead_silence_seconds in digital silence: not a live microphone


class Microphone:
    """Reads the chosen input device; implements AudioInput. Use as a context manager or close()."""

    def __init__(
        self,
        device: DeviceSpec = None,
        *,
        device_rate: int | None = None,
        block_seconds: float = 0.02,
        stall_seconds: float = 3.0,
        dead_silence_seconds: float | None = 3.0,
        max_queued_seconds: float = 10.0,
    ) -> None:
        self.device = find_device(device, "input")
        self.stall_seconds = stall_seconds
        # A live microphone always hears some noise, so it never sends a block of exact zeros for
        # long. When a good share of the last dead_silence_seconds was exact zeros, it is muted or
        # gone: PulseAudio moves the stream of an unplugged source to another one, often the monitor
        # of our own speaker, which is digital silence between the coach's words.
        self.dead_silence_seconds = dead_silence_seconds
        self.block_seconds = block_seconds
        self._silent_blocks: collections.deque[bool] = collections.deque(
            maxlen=max(1, round((dead_silence_seconds or 0) / block_seconds))
        )
        self._silent_count = 0  # of _silent_blocks (a running count: status is read from other threads)
        self.device_rate, self.channels = pick_settings(
            self.device,
            "input",
            [device_rate] if device_rate else [SAMPLE_RATE, self.device.default_sample_rate, 48_000, 44_100],
        )
        blocksize = max(1, round(self.device_rate * block_seconds))
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max(1, round(max_queued_seconds / block_seconds)))
        self._resampler = (
            None
            if self.device_rate == SAMPLE_RATE
            else soxr.ResampleStream(self.device_rate, SAMPLE_RATE, 1, dtype="int16", quality="HQ")
        )
        self._closing = False
        self._error: AudioError | None = None
        self._ended = False
        self.dropped_blocks = 0  # blocks lost because nobody read them in time
        self.overflows = 0  # blocks PortAudio flagged as overflowed
        try:
            self._stream = sd.InputStream(
                device=self.device.index,
                samplerate=self.device_rate,
                channels=self.channels,
                dtype="int16",
                blocksize=blocksize,
                latency="low",
                callback=self._callback,
                finished_callback=self._finished,
            )
            self._stream.start()
        except sd.PortAudioError as error:
            raise AudioError(f"Could not open the microphone {self.device.name!r}: {error}.") from error
        self._last_block_at = time.monotonic()
        log.info(
            "microphone %r open at %d Hz, %d channel(s), resampled to %d Hz",
            self.device.name, self.device_rate, self.channels, SAMPLE_RATE,
        )  # fmt: skip

    # The PortAudio thread: copy and enqueue, nothing else.
    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        try:
            self._queue.put_nowait((indata.copy(), status))
        except queue.Full:
            self.dropped_blocks += 1

    def _finished(self) -> None:
        try:
            self._queue.put_nowait(_GONE)
        except queue.Full:
            self._ended = True

    def read(self, timeout: float | None = None) -> bytes:
        """The next chunk of 16 kHz mono PCM (b"" on timeout or after close); AudioError once the
        device has gone away or gone silent for `stall_seconds`."""
        if self._error is not None:
            raise self._error
        if self._closing:
            return b""
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            self._check_alive()
            return b""
        if item is _GONE:
            self._ended = True
            if self._closing:
                return b""
            raise self._lose("its stream ended (was it unplugged?)")
        block, status = item
        self._last_block_at = time.monotonic()
        silent = not block.any()
        blocks = self._silent_blocks
        self._silent_count += silent - (blocks[0] if len(blocks) == blocks.maxlen else 0)
        blocks.append(silent)
        if silent:
            self._check_alive()
        if status:
            self.overflows += bool(status.input_overflow)
            log.debug("microphone status: %s", status)
        mono = block[:, 0] if self.channels == 1 else block.mean(axis=1).round().astype(np.int16)
        if self._resampler is not None:
            mono = self._resampler.resample_chunk(mono)
        return mono.astype("<i2", copy=False).tobytes()

    @property
    def status(self) -> Status:
        """ "listening", "ended" (closed) or "lost" (the device went away); polling never raises."""
        if self._error is not None:
            return "lost"
        if self._closing or self._ended:
            return "ended"
        return "lost" if self._why_lost() else "listening"

    @property
    def ended(self) -> bool:
        return self._closing or self._ended or self._error is not None

    @property
    def error(self) -> AudioError | None:
        return self._error

    def _check_alive(self) -> None:
        if self._closing or self._ended:
            return
        why = self._why_lost()
        if why:
            raise self._lose(why)

    def _why_lost(self) -> str:
        """Why the device looks gone, or "" while it is delivering sound."""
        now = time.monotonic()
        if not self._stream.active:
            return "its stream stopped (was it unplugged?)"
        if now - self._last_block_at > self.stall_seconds:
            return f"it sent nothing for {now - self._last_block_at:.0f} seconds"
        blocks, silent = self._silent_blocks, self._silent_count
        if self.dead_silence_seconds and len(blocks) == blocks.maxlen and silent >= DEAD_SHARE * len(blocks):
            share = silent / len(blocks)
            return (
                f"{share:.0%} of its last {self.dead_silence_seconds:.0f} seconds were digital silence "
                "(muted or unplugged?)"
            )
        return ""

    def check_hearing(self, seconds: float = 1.5) -> None:
        """Read for `seconds` and raise AudioError unless every block had sound in it: a source that
        opens but is digital silence (a silent monitor, a muted device) is no microphone. (Without
        dead_silence_seconds, for a microphone with a noise gate, sound must only flow.) What is
        read is dropped."""
        deadline = time.monotonic() + seconds
        self._silent_blocks.clear()
        self._silent_count = 0
        read = 0
        while time.monotonic() < deadline:
            read += len(self.read(timeout=0.2))
        if read < 0.5 * seconds * SAMPLE_RATE * 2 or (self.dead_silence_seconds and self._silent_count):
            raise AudioError(
                f"The microphone {self.device.name!r} opened but hears nothing: "
                f"{self._silent_count} of {len(self._silent_blocks)} blocks were digital silence."
            )

    def _lose(self, why: str) -> AudioError:
        self._error = AudioError(f"Lost the microphone {self.device.name!r}: {why}; check it, or run with --text.")
        log.warning("%s", self._error)
        return self._error

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        try:
            self._stream.abort()
            self._stream.close()
        except sd.PortAudioError as error:
            log.debug("closing the microphone: %s", error)

    def __enter__(self) -> Microphone:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
