"""File-backed microphone and recording speaker: the same interfaces as the real ones, no devices."""

from __future__ import annotations

import logging
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr

from voicecoach.audio import OnDone
from voicecoach.errors import AudioError
from voicecoach.hear import SAMPLE_RATE
from voicecoach.speak import Audio

log = logging.getLogger(__name__)

Clock = Callable[[], float]


class WavMicrophone:
    """Reads a WAV file as if it were the microphone: 16 kHz mono chunks, then ended; implements
    AudioInput. With `realtime`, each read waits as long as its chunk lasts."""

    def __init__(self, path: Path, *, chunk_seconds: float = 0.02, realtime: bool = False) -> None:
        self.path = Path(path)
        self.chunk_seconds = chunk_seconds
        self.realtime = realtime
        self.pcm = _read_16k_mono(self.path)
        self._offset = 0
        self._closed = False

    @property
    def position_seconds(self) -> float:
        """How much of the file has been read."""
        return self._offset / 2 / SAMPLE_RATE

    def read(self, timeout: float | None = None) -> bytes:
        if self.ended:
            return b""
        size = 2 * max(1, round(self.chunk_seconds * SAMPLE_RATE))
        chunk = self.pcm[self._offset : self._offset + size]
        self._offset += len(chunk)
        if self.realtime:
            time.sleep(len(chunk) / 2 / SAMPLE_RATE)
        return chunk

    @property
    def ended(self) -> bool:
        return self._closed or self._offset >= len(self.pcm)

    def close(self) -> None:
        self._closed = True

    def __enter__(self) -> WavMicrophone:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class Played:
    """One clip a RecordingSpeaker played: its text, when it started and ended (clock seconds),
    and whether stop() cut it short."""

    text: str
    start_seconds: float
    end_seconds: float
    cut: bool


class RecordingSpeaker:
    """Plays nothing; records what it would play and when, on an injected clock; implements
    AudioOutput. A clip lasts its duration on the clock: call update() (or read now_playing) as
    time moves to get on_done calls, like a real speaker reporting "finished speaking"."""

    def __init__(self, clock: Clock = time.monotonic, sample_rate: int = 22_050) -> None:
        self.clock = clock
        self.sample_rate = sample_rate
        self.played: list[Played] = []
        self._audio: list[Audio] = []
        self._pending: list[tuple[Played, OnDone | None]] = []  # scheduled, not yet reported

    def play(self, audio: Audio, on_done: OnDone | None = None) -> None:
        now = self.clock()
        start = max([now] + [entry.end_seconds for entry, _ in self._pending])
        entry = Played(audio.text, start, start + audio.duration_seconds, cut=False)
        self._pending.append((entry, on_done))
        self._audio.append(audio)
        self.played.append(entry)
        log.debug("at %.3f s: %r (%.2f s)", start, audio.text, audio.duration_seconds)

    def update(self) -> None:
        """Report every clip that has ended by now."""
        now = self.clock()
        while self._pending and self._pending[0][0].end_seconds <= now:
            _, on_done = self._pending.pop(0)
            if on_done is not None:
                on_done(True)

    def stop(self) -> None:
        """Cut the current clip at the current time and drop the queued ones."""
        self.update()
        now = self.clock()
        pending, self._pending = self._pending, []
        for entry, on_done in pending:
            index = self.played.index(entry)
            if entry.start_seconds < now:
                self.played[index] = Played(entry.text, entry.start_seconds, now, cut=True)
            else:  # never heard at all
                del self.played[index]
                del self._audio[index]
            if on_done is not None:
                on_done(False)

    @property
    def now_playing(self) -> str | None:
        self.update()
        now = self.clock()
        for entry, _ in self._pending:
            if entry.start_seconds <= now < entry.end_seconds:
                return entry.text
        return None

    @property
    def transcript(self) -> list[str]:
        """The texts played so far, in order (tones as "")."""
        return [entry.text for entry in self.played]

    def to_audio(self) -> Audio:
        """Everything played, placed at its time on the clock (silence between), as one clip."""
        if not self.played:
            return Audio(np.zeros(0, dtype=np.int16), self.sample_rate)
        origin = self.played[0].start_seconds
        length = round((max(e.end_seconds for e in self.played) - origin) * self.sample_rate)
        mix = np.zeros(length + 1, dtype=np.int32)
        for entry, audio in zip(self.played, self._audio, strict=True):
            samples = audio.samples
            if audio.sample_rate != self.sample_rate and len(samples):
                samples = soxr.resample(samples, audio.sample_rate, self.sample_rate)
            begin = round((entry.start_seconds - origin) * self.sample_rate)
            heard = samples[: round((entry.end_seconds - entry.start_seconds) * self.sample_rate)]
            heard = heard[: len(mix) - begin]
            mix[begin : begin + len(heard)] += heard
        return Audio(np.clip(mix, -32768, 32767).astype(np.int16), self.sample_rate)

    def write_wav(self, path: Path) -> None:
        """Save to_audio() as a mono 16-bit WAV file."""
        from voicecoach.speak.tts import write_wav

        write_wav(Path(path), self.to_audio())

    def close(self) -> None:
        self.stop()


def _read_16k_mono(path: Path) -> bytes:
    try:
        with wave.open(str(path), "rb") as wav:
            if wav.getsampwidth() != 2:
                raise AudioError(f"{path} is not a 16-bit WAV file.")
            rate, channels = wav.getframerate(), wav.getnchannels()
            samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    except (OSError, EOFError, wave.Error) as error:
        raise AudioError(f"Could not read {path} as a WAV file: {error}.") from error
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1).round().astype(np.int16)
    if rate != SAMPLE_RATE:
        samples = soxr.resample(samples, rate, SAMPLE_RATE, quality="HQ")
    return samples.astype("<i2").tobytes()
