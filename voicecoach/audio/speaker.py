"""The speaker: one PortAudio output stream we own, fed clip by clip, cut at once by stop()."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
import sounddevice as sd
import soxr

from voicecoach.audio import OnDone
from voicecoach.audio.devices import DeviceSpec, find_device, pick_settings
from voicecoach.errors import AudioError
from voicecoach.speak import Audio

log = logging.getLogger(__name__)

_MAX_FINISH_WAIT_SECONDS = 0.5


@dataclass(frozen=True, eq=False)
class _Clip:
    samples: np.ndarray  # int16 mono at the device rate
    text: str
    on_done: OnDone | None


class Speaker:
    """Plays Audio on the chosen output device; implements AudioOutput.

    The PortAudio callback copies the current clip into the device buffer, moves to the next
    clip when one ends, and hands finished clips to a notifier thread, which calls `on_done` once
    the clip's last sample has reached the device. stop() empties everything under a lock, so the
    next callback (one block, 10 ms by default) plays silence.
    """

    def __init__(
        self,
        device: DeviceSpec = None,
        *,
        device_rate: int | None = None,
        block_seconds: float = 0.01,
        stall_seconds: float = 3.0,
    ) -> None:
        self.device = find_device(device, "output")
        self.stall_seconds = stall_seconds
        self.device_rate, self.channels = pick_settings(
            self.device,
            "output",
            [device_rate] if device_rate else [self.device.default_sample_rate, 48_000, 44_100, 22_050],
        )
        self._lock = threading.Lock()
        self._clips: deque[_Clip] = deque()
        self._current: _Clip | None = None
        self._position = 0
        self._lost = False
        self._closing = False
        self._frames_played = 0
        self._last_callback_at = time.monotonic()
        self._done: queue.SimpleQueue[tuple[_Clip, bool, float] | None] = queue.SimpleQueue()
        try:
            self._stream = sd.OutputStream(
                device=self.device.index,
                samplerate=self.device_rate,
                channels=self.channels,
                dtype="int16",
                blocksize=max(1, round(self.device_rate * block_seconds)),
                latency="low",
                callback=self._callback,
                finished_callback=self._finished,
            )
            self._stream.start()
        except sd.PortAudioError as error:
            raise AudioError(f"Could not open the speaker {self.device.name!r}: {error}.") from error
        self._notifier = threading.Thread(target=self._notify_loop, name="speaker-done", daemon=True)
        self._notifier.start()
        log.info(
            "speaker %r open at %d Hz, %d channel(s), output latency %.0f ms",
            self.device.name, self.device_rate, self.channels, self.latency_seconds * 1000,
        )  # fmt: skip

    @property
    def latency_seconds(self) -> float:
        """PortAudio's estimate of the time from our buffer to the loudspeaker."""
        return float(self._stream.latency)

    def play(self, audio: Audio, on_done: OnDone | None = None) -> None:
        """Queue a clip after whatever is playing; on_done(True) once it has been heard to the
        end, on_done(False) if stop() cut or dropped it."""
        if self._closing or self.lost:
            raise AudioError(f"The speaker {self.device.name!r} is no longer available.")
        samples = np.asarray(audio.samples, dtype=np.int16)
        if audio.sample_rate != self.device_rate and len(samples):
            samples = soxr.resample(samples, audio.sample_rate, self.device_rate, quality="HQ")
        clip = _Clip(samples=np.ascontiguousarray(samples, dtype=np.int16), text=audio.text, on_done=on_done)
        with self._lock:
            self._clips.append(clip)

    def stop(self) -> None:
        """Silence now (from the next audio block on) and drop everything queued."""
        with self._lock:
            dropped = ([self._current] if self._current else []) + list(self._clips)
            self._current = None
            self._clips.clear()
        for clip in dropped:
            self._done.put((clip, False, 0.0))
        if dropped:
            log.debug("stopped speaking; dropped %d clip(s)", len(dropped))

    @property
    def now_playing(self) -> str | None:
        """The text of the clip being played ("" for a tone), or None when silent."""
        current = self._current
        return None if current is None else current.text

    @property
    def busy(self) -> bool:
        """True while anything is playing or queued."""
        return self._current is not None or bool(self._clips)

    @property
    def lost(self) -> bool:
        """True once the device has gone away or stopped taking sound; play() then raises AudioError."""
        return bool(self.lost_why)

    @property
    def lost_why(self) -> str:
        """Why the speaker looks gone ("" while it plays): its stream ended, or the device stopped
        asking for sound for `stall_seconds` (a suspended or vanished sink)."""
        if self._closing:
            return ""
        if self._lost or not self._stream.active:
            return f"the stream of the speaker {self.device.name!r} ended (was it unplugged?)"
        silent_for = time.monotonic() - self._last_callback_at
        if silent_for > self.stall_seconds:
            return f"the speaker {self.device.name!r} took no sound for {silent_for:.0f} seconds"
        return ""

    def check_playing(self, seconds: float = 1.0) -> None:
        """Wait `seconds` and raise AudioError unless the device took about that much sound: a stream
        can open on a sink that never plays."""
        before = self._frames_played
        time.sleep(seconds)
        taken = (self._frames_played - before) / self.device_rate
        if taken < 0.5 * seconds or self.lost:
            raise AudioError(
                f"The speaker {self.device.name!r} opened but took {taken:.1f} s of sound in {seconds:.1f} s."
            )

    # The PortAudio thread: copy samples, hand finished clips over, nothing else.
    def _callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        self._frames_played += frames
        self._last_callback_at = time.monotonic()
        filled = 0
        with self._lock:
            while filled < frames:
                if self._current is None:
                    if not self._clips:
                        break
                    self._current, self._position = self._clips.popleft(), 0
                clip = self._current
                count = min(frames - filled, len(clip.samples) - self._position)
                outdata[filled : filled + count, 0] = clip.samples[self._position : self._position + count]
                filled += count
                self._position += count
                if self._position >= len(clip.samples):
                    heard_at = time_info.outputBufferDacTime + filled / self.device_rate
                    self._done.put((clip, True, heard_at))
                    self._current = None
        outdata[filled:, 0] = 0
        if self.channels > 1:
            outdata[:, 1:] = outdata[:, :1]

    def _finished(self) -> None:
        if not self._closing:
            self._lost = True
            self.stop()
        self._done.put(None)

    def _notify_loop(self) -> None:
        while (item := self._done.get()) is not None:
            clip, completed, heard_at = item
            if completed and heard_at > 0 and not self._lost:
                try:
                    wait = heard_at - self._stream.time
                except sd.PortAudioError:
                    wait = 0.0
                if 0 < wait < _MAX_FINISH_WAIT_SECONDS:
                    threading.Event().wait(wait)
            if clip.on_done is not None:
                try:
                    clip.on_done(completed)
                except Exception:  # a broken callback must not silence the speaker
                    log.exception("on_done callback for %r failed", clip.text)

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        self.stop()
        try:
            self._stream.abort()
            self._stream.close()
        except sd.PortAudioError as error:
            log.debug("closing the speaker: %s", error)
        self._done.put(None)
        self._notifier.join(timeout=1.0)

    def __enter__(self) -> Speaker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
