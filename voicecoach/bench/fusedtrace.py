"""The fused engine heard once, replayed under another spotter model: `bench --enrolled` for `auto`.

Theory of operation: enrolment changes only the spotter's head; the grammar recogniser (PocketSphinx)
hears the same audio the same way whatever the user enrolled. So each stream (a split's real stop /
go / yes / no clips, its non-command words, its continuous speech, built as the benchmark builds
them) is heard once through the fused recogniser with the shipped model, recording every input of
the fusion rule (`FusedRecogniser.trace`), and embedded once more as a whole (`Embedder.embed_clip`,
the vectors the stream gave). For any model, `restepped` gives the same trace with each of the
spotter's steps recomputed by that model's head from the same 16 embeddings, and `replay` runs the
tuned rule over it: what the fused engine would have acted on, hearing with that model, in a
fraction of a second instead of another pass of PocketSphinx. The shipped model's recomputed steps
must match the recorded ones (`check`), so a step that lands on the wrong embeddings is an error,
not a figure.
"""

from __future__ import annotations

import dataclasses
import logging
import random
from dataclasses import dataclass
from typing import Any

import numpy as np

from voicecoach.bench import measure, stream
from voicecoach.bench.corpus import Clip, read_wav
from voicecoach.bench.heldout import SplitCorpus
from voicecoach.bench.tunefusion import Recorded, replayed_events
from voicecoach.hear import SAMPLE_RATE
from voicecoach.hear.fusion.decide import FusionOptions
from voicecoach.hear.spotter.engine import SpotterStep
from voicecoach.hear.spotter.features import Embedder
from voicecoach.hear.spotter.fit import stack
from voicecoach.hear.spotter.head import WINDOW
from voicecoach.hear.spotter.model import SpotterModel
from voicecoach.hear.spotter.split import speaker_of

log = logging.getLogger(__name__)

WORDS = ("stop", "go", "yes", "no")  # the words with real recordings by many speakers (`bench --enrolled` too)
MATCH = 1e-3  # the largest difference allowed between a recorded and a recomputed probability


@dataclass
class Heard:
    """One stream as the fused engine heard it, and its embeddings (as the spotter's stream made them)."""

    recorded: Recorded
    embeddings: np.ndarray


@dataclass
class Recording:
    """The streams of a split, heard once, and the fusion rule they were heard with."""

    streams: dict[str, Heard]
    options: FusionOptions
    grammar: str  # the grammar recogniser's name


def record(corpus: SplitCorpus, seed: int, embedder: Embedder | None = None) -> Recording:
    """The split's real stop / go / yes / no clips ("real"), its non-command words ("false_accept")
    and its continuous speech ("speech"), each heard once through the fused engine with the shipped
    spotter model (a voice enrolled on this machine is not used)."""
    from voicecoach.hear.engines import open_fusion
    from voicecoach.hear.fusion.engine import FusedRecogniser

    embedder = embedder or Embedder()
    rng, nrng = random.Random(seed), np.random.default_rng(seed)
    real = [c for word, clips in corpus.command_clips().items() if word in WORDS for c in clips]
    distractors = [c for clips in corpus.distractor_clips().values() for c in clips]
    speech = [Clip(str(p), "speech", None) for p in corpus.speech_files()]
    rng.shuffle(real)  # the benchmark's clips come in no particular order either
    trace: list[tuple[str, Any]] = []
    recogniser = open_fusion(trace=trace, enrolled=False)
    assert isinstance(recogniser, FusedRecogniser)
    cost = measure.Cost()
    streams: dict[str, Heard] = {}
    for kind, clips in (("real", real), ("false_accept", distractors), ("speech", speech)):
        recordings = [read_wav(c.path) for c in clips]
        if kind == "speech":
            pcm, placed = stream.build(recordings, nrng, gap_seconds=0.5)
        else:
            pcm, placed = stream.build(recordings, nrng)
        origin, first = cost.audio_seconds, len(trace)
        measure.run(recogniser, pcm, nrng, cost)
        recorded = Recorded(kind, trace[first:], origin, placed, clips, len(pcm) / SAMPLE_RATE)
        # the spotter's flush pads half a second of silence, which its last steps hear
        padded = np.concatenate([pcm.astype(np.float32), np.zeros(SAMPLE_RATE // 2, dtype=np.float32)])
        streams[kind] = Heard(recorded, embedder.embed_clip(padded))
        log.info("%s: %d clips, %.0f s heard", kind, len(clips), len(pcm) / SAMPLE_RATE)
    return Recording(streams, recogniser.decider.options, recogniser.grammar.name)


def restepped(heard: Heard, model: SpotterModel) -> list[tuple[str, Any]]:
    """The stream's trace with every spotter step as `model`'s head gives it."""
    steps = [n for n, (kind, _) in enumerate(heard.recorded.trace) if kind == "step"]
    ends = np.arange(WINDOW - 1, len(heard.embeddings))
    if len(steps) != len(ends):
        raise ValueError(f"{len(steps)} steps recorded but {len(ends)} windows of embeddings")
    probabilities = model.head.forward(stack(heard.embeddings, ends)) if len(ends) else np.zeros((0, 1))
    trace = list(heard.recorded.trace)
    for n, row in zip(steps, probabilities, strict=True):
        step = trace[n][1]
        trace[n] = ("step", SpotterStep(step.end_seconds, dict(zip(model.intents, map(float, row[1:])))))
    return trace


def check(heard: Heard, model: SpotterModel) -> float:
    """The largest difference between the recorded steps and `model`'s recomputed ones (the model
    recorded with); a ValueError when they do not match."""
    worst = 0.0
    for (kind, old), (_, new) in zip(heard.recorded.trace, restepped(heard, model), strict=True):
        if kind == "step":
            worst = max(worst, max(abs(old.probabilities[i] - p) for i, p in new.probabilities.items()))
    if worst > MATCH:
        raise ValueError(
            f"the {heard.recorded.kind} stream's recomputed steps differ from the recorded ones by {worst:.4f}"
        )
    return worst


def acted(heard: Heard, model: SpotterModel, options: FusionOptions) -> list[measure.Event]:
    """What the fused engine, hearing with `model` under `options`, acted on over the stream."""
    return replayed_events(dataclasses.replace(heard.recorded, trace=restepped(heard, model)), options, None)


def outcomes(heard: Heard, model: SpotterModel, options: FusionOptions) -> list[measure.Outcome]:
    """What the fused engine, hearing with `model`, made of each clip of the stream."""
    clips = heard.recorded.clips
    return measure.score(acted(heard, model, options), heard.recorded.placed, [c.intent for c in clips])


def figures(recording: Recording, model: SpotterModel, own: set[str], speaker: str) -> dict[str, Any]:
    """The fused engine hearing with `model`, as `bench.enrolled.figures` counts the spotter: the
    clips in `own` (paths), every clip of a speaker other than `speaker`, non-command words, and
    commands acted on in continuous speech."""
    real = recording.streams["real"]
    heard = outcomes(real, model, recording.options)
    clips = real.recorded.clips
    speech = recording.streams["speech"]
    return {
        "own": [o.accepted for o, c in zip(heard, clips, strict=True) if c.path in own],
        "others": [o.accepted for o, c in zip(heard, clips, strict=True) if speaker_of(c.path) != speaker],
        "nontarget": [bool(o.heard) for o in outcomes(recording.streams["false_accept"], model, recording.options)],
        "speech_fires": len(acted(speech, model, recording.options)),
        "speech_hours": speech.recorded.seconds / 3600,
    }
