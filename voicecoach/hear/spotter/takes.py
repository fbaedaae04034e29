"""Judging an enrolment take: silent, too quiet, clipped, too long, another command, or good.

A take is a few seconds of microphone audio recorded after the coach asked for a phrase. The level
of every 10 ms frame is compared with the quietest frames (the room); speech is the frames well
above them. The generic spotter then listens to the take as it would in a session: if it fires a
different command, the user most likely said that one. It does not have to fire the asked one
(hearing the user's voice better is what enrolment is for), so "nothing recognised" is not a fault.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voicecoach.core.commands import Intent, spoken_name
from voicecoach.core.enrolment import TakeJudged, Verdict
from voicecoach.hear.spotter.decide import Decider
from voicecoach.hear.spotter.features import SAMPLE_RATE, Embedder
from voicecoach.hear.spotter.fit import stack
from voicecoach.hear.spotter.head import WINDOW
from voicecoach.hear.spotter.model import SpotterModel

FRAME = 160  # 10 ms
SPEECH_ABOVE_ROOM_DB = 15.0  # a frame this far above the room is speech
SILENT_PEAK_DBFS = -50.0  # no frame louder than this: nothing was said
QUIET_DBFS = -42.0  # speech quieter than this (RMS over the speech) is too quiet to learn from
CLIP_LEVEL = 32_000
CLIPPED_SHARE = 0.002  # of the speech samples at full scale
MAX_SPEECH_SECONDS = 2.0  # from the first to the last speech frame: longer is more than a command
MARGIN_SECONDS = 0.3  # kept either side of the speech when the take is trimmed


@dataclass(frozen=True)
class Judged:
    """The verdict, the take trimmed to its speech (with a margin), and the audio around it (the room)."""

    event: TakeJudged
    speech: np.ndarray
    room: np.ndarray


def _levels(samples: np.ndarray) -> np.ndarray:
    frames = len(samples) // FRAME
    power = (samples[: frames * FRAME].astype(np.float64).reshape(frames, FRAME) ** 2).mean(axis=1)
    return 10 * np.log10(power / 32768.0**2 + 1e-12)


def judge(samples: np.ndarray, intent: Intent, model: SpotterModel | None, embedder: Embedder | None) -> Judged:
    """How the take `samples` (16 kHz, int16-scaled) of `intent` sounded; with a model and an
    embedder, also whether the spotter heard another command in it."""
    samples = np.asarray(samples, dtype=np.float64)
    empty = np.zeros(0)
    levels = _levels(samples)
    if len(levels) == 0 or levels.max() < SILENT_PEAK_DBFS:
        return Judged(TakeJudged(Verdict.SILENT), empty, samples)
    room_db = float(np.percentile(levels, 10))
    loud = np.nonzero(levels > max(room_db + SPEECH_ABOVE_ROOM_DB, SILENT_PEAK_DBFS))[0]
    if len(loud) < 5:  # under 50 ms: a click, not a word
        return Judged(TakeJudged(Verdict.SILENT), empty, samples)
    first, last = int(loud[0]) * FRAME, (int(loud[-1]) + 1) * FRAME
    margin = round(MARGIN_SECONDS * SAMPLE_RATE)
    speech = samples[max(0, first - margin) : last + margin]
    room = np.concatenate([samples[: max(0, first - margin)], samples[last + margin :]])
    rms_db = 10 * np.log10((samples[first:last] ** 2).mean() / 32768.0**2 + 1e-12)
    if (np.abs(samples[first:last]) >= CLIP_LEVEL).mean() > CLIPPED_SHARE:
        return Judged(TakeJudged(Verdict.CLIPPED), speech, room)
    if rms_db < QUIET_DBFS:
        return Judged(TakeJudged(Verdict.QUIET), speech, room)
    if (last - first) / SAMPLE_RATE > MAX_SPEECH_SECONDS:
        return Judged(TakeJudged(Verdict.TOO_LONG), speech, room)
    if model is not None and embedder is not None:
        other = other_command(speech, intent, model, embedder)
        if other is not None:
            return Judged(TakeJudged(Verdict.WRONG_WORD, spoken_name(other)), speech, room)
    return Judged(TakeJudged(Verdict.GOOD), speech, room)


def other_command(speech: np.ndarray, intent: Intent, model: SpotterModel, embedder: Embedder) -> Intent | None:
    """A command other than `intent` that the spotter fires on this speech (with quiet around it)."""
    padded = np.concatenate([np.zeros(SAMPLE_RATE), speech, np.zeros(SAMPLE_RATE)])
    embeddings = embedder.embed_clip(padded)
    if len(embeddings) < WINDOW:
        return None
    probabilities = model.head.forward(stack(embeddings, np.arange(WINDOW - 1, len(embeddings))))
    decider = Decider(model.threshold, model.refractory_steps, model.persist_steps)
    allowed = np.ones(len(model.classes), dtype=bool)
    for row in probabilities:
        cls = decider(row, allowed)
        if cls is not None and model.classes[cls] != intent.value:
            return Intent(model.classes[cls])
    return None
