"""Voice-activity segmentation: cut a PCM stream into short utterances worth decoding.

Theory of operation: webrtcvad labels every `frame_seconds` frame speech or not. An utterance opens
when `onset_frames` of the last `onset_window_frames` frames are speech, and it keeps
`pre_roll_seconds` of audio from before the onset (the decoder needs a little silence, and the VAD
is late on soft onsets). It closes after `hangover_seconds` of non-speech. Utterances that run
past `max_speech_seconds` cannot be a command: they are dropped at once and no audio is kept until
the speaker pauses. Utterances shorter than `min_speech_seconds` of speech, or quieter than
`min_level_dbfs`, are dropped as clicks and murmur. Nothing here knows about words.

In steady noise (a fan, an exercise bike, a running tap) webrtcvad calls every frame speech, so
every utterance would run past `max_speech_seconds` and be dropped. A frame therefore also has to
stand `min_snr_db` above the noise floor: the `floor_percentile` of the frame levels over the last
`floor_window_seconds` (low enough that a short word does not raise it). Until a quarter of that
window has been heard, the VAD decides alone.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from dataclasses import dataclass

import numpy as np
import webrtcvad

from voicecoach.hear import SAMPLE_RATE, SAMPLE_WIDTH_BYTES

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SegmenterOptions:
    """How speech is found in the stream; the defaults suit short commands said to a Pi."""

    vad_aggressiveness: int = 2
    frame_seconds: float = 0.02
    onset_frames: int = 4
    onset_window_frames: int = 6
    pre_roll_seconds: float = 0.25
    hangover_seconds: float = 0.2
    min_speech_seconds: float = 0.15
    max_speech_seconds: float = 2.0
    min_level_dbfs: float = -50.0
    min_snr_db: float = 10.0  # 0 turns the noise-floor gate off
    floor_window_seconds: float = 1.5
    floor_percentile: float = 10.0


@dataclass(frozen=True)
class Utterance:
    """A stretch of audio around some speech; samples count from the first sample fed."""

    pcm: bytes
    start_sample: int
    speech_start_sample: int
    speech_end_sample: int

    @property
    def start_seconds(self) -> float:
        return self.start_sample / SAMPLE_RATE

    @property
    def speech_seconds(self) -> float:
        return (self.speech_end_sample - self.speech_start_sample) / SAMPLE_RATE


class Segmenter:
    """Streaming VAD segmenter: push PCM of any length, get finished utterances back."""

    def __init__(self, options: SegmenterOptions = SegmenterOptions()) -> None:
        self.options = options
        self._vad = webrtcvad.Vad(options.vad_aggressiveness)
        self._frame_samples = round(options.frame_seconds * SAMPLE_RATE)
        self._frame_bytes = self._frame_samples * SAMPLE_WIDTH_BYTES
        self._hangover_frames = max(1, math.ceil(options.hangover_seconds / options.frame_seconds))
        self._max_frames = math.ceil(options.max_speech_seconds / options.frame_seconds)
        pre_roll_frames = math.ceil(options.pre_roll_seconds / options.frame_seconds)
        self._history: deque[tuple[bytes, bool]] = deque(maxlen=pre_roll_frames + options.onset_window_frames)
        self._pending = b""
        self._frames_seen = 0  # frames taken from the stream so far
        self._skipped_samples = 0  # the part-frames that flush() threw away, so sample times stay true
        self._open: list[bytes] | None = None  # frames of the utterance being collected
        self._open_start_frame = 0
        self._speech_start_frame = 0
        self._last_speech_frame = 0
        self._skipping = False  # inside an over-long stretch of speech, waiting for a pause
        self._levels: deque[float] = deque(maxlen=max(1, round(options.floor_window_seconds / options.frame_seconds)))

    def push(self, pcm: bytes) -> list[Utterance]:
        """Take the next chunk of 16 kHz mono 16-bit PCM; return utterances it completed."""
        data = self._pending + pcm
        whole = len(data) - len(data) % self._frame_bytes
        self._pending = data[whole:]
        done: list[Utterance] = []
        for offset in range(0, whole, self._frame_bytes):
            utterance = self._frame(data[offset : offset + self._frame_bytes])
            if utterance is not None:
                done.append(utterance)
        return done

    def flush(self) -> list[Utterance]:
        """The stream has ended: close the utterance being collected, if any."""
        part_frame_samples = len(self._pending) // SAMPLE_WIDTH_BYTES
        self._pending = b""
        self._skipping = False
        self._history.clear()
        utterance = self._close() if self._open is not None else None
        self._skipped_samples += part_frame_samples  # after the close: those samples came after its frames
        return [utterance] if utterance is not None else []

    @property
    def in_speech(self) -> bool:
        """Whether an utterance (or an over-long stretch of speech) is going on."""
        return self._open is not None or self._skipping

    def _frame(self, frame: bytes) -> Utterance | None:
        index = self._frames_seen
        self._frames_seen += 1
        above_floor = self._above_floor(frame)  # every frame, so the floor follows the noise
        is_speech = above_floor and self._vad.is_speech(frame, SAMPLE_RATE)
        if self._skipping:
            self._last_speech_frame = index if is_speech else self._last_speech_frame
            if index - self._last_speech_frame >= self._hangover_frames:
                self._skipping = False
                self._history.clear()
            return None
        if self._open is None:
            self._history.append((frame, is_speech))
            window = list(self._history)[-self.options.onset_window_frames :]
            if sum(speech for _, speech in window) >= self.options.onset_frames:
                self._open = [f for f, _ in self._history]
                self._open_start_frame = index + 1 - len(self._open)
                first_voiced = next(i for i, (_, speech) in enumerate(window) if speech)
                self._speech_start_frame = index + 1 - len(window) + first_voiced
                self._last_speech_frame = index
                self._history.clear()
            return None
        self._open.append(frame)
        if is_speech:
            self._last_speech_frame = index
        if self._last_speech_frame - self._speech_start_frame >= self._max_frames:
            log.debug("dropping speech longer than %.1f s", self.options.max_speech_seconds)
            self._open = None
            self._skipping = True
            return None
        if index - self._last_speech_frame >= self._hangover_frames:
            return self._close()
        return None

    def _above_floor(self, frame: bytes) -> bool:
        """Whether `frame` stands `min_snr_db` above the recent noise floor (then remember its level)."""
        if self.options.min_snr_db <= 0:
            return True
        samples = np.frombuffer(frame, dtype="<i2").astype(np.float32)
        level = 10.0 * math.log10(float(np.mean(samples * samples)) + 1.0)
        known = len(self._levels) >= (self._levels.maxlen or 0) // 4
        floor = float(np.percentile(self._levels, self.options.floor_percentile)) if known else -math.inf
        self._levels.append(level)
        return level >= floor + self.options.min_snr_db

    def _close(self) -> Utterance | None:
        frames, self._open = self._open or [], None
        speech_end_frame = self._last_speech_frame + 1
        utterance = Utterance(
            pcm=b"".join(frames),
            start_sample=self._skipped_samples + self._open_start_frame * self._frame_samples,
            speech_start_sample=self._skipped_samples + self._speech_start_frame * self._frame_samples,
            speech_end_sample=self._skipped_samples + speech_end_frame * self._frame_samples,
        )
        if utterance.speech_seconds < self.options.min_speech_seconds:
            log.debug("dropping %.2f s of speech as too short", utterance.speech_seconds)
            return None
        level = level_dbfs(utterance.pcm)
        if level < self.options.min_level_dbfs:
            log.debug("dropping speech at %.1f dBFS as too quiet", level)
            return None
        return utterance


def level_dbfs(pcm: bytes) -> float:
    """The loudest 20 ms of `pcm`, RMS in dB relative to full scale (-inf for silence)."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
    size = SAMPLE_RATE // 50
    usable = len(samples) - len(samples) % size
    if usable == 0:
        return -math.inf
    rms = np.sqrt(np.mean(np.square(samples[:usable].reshape(-1, size)), axis=1)).max()
    return 20.0 * math.log10(rms / 32768.0) if rms > 0 else -math.inf
