"""The spotter as a `Recogniser`: PCM in, speech embeddings every 80 ms, the head on the last 16,
a command out when one class is likely enough."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voicecoach.core.commands import Intent, spoken_name
from voicecoach.hear import SAMPLE_RATE, Heard
from voicecoach.hear.spotter.decide import Decider
from voicecoach.hear.spotter.features import FIRST_HEARD_SAMPLES, STEP_SAMPLES, Embedder, StreamingEmbedder
from voicecoach.hear.spotter.head import WINDOW
from voicecoach.hear.spotter.model import SpotterModel, load_model

log = logging.getLogger(__name__)

PHRASE_SECONDS = 0.6  # a guess at how long the phrase heard was: the head only knows when it ended


@dataclass(frozen=True)
class SpotterStep:
    """The head's probabilities at one step (every 80 ms), before any listen_for narrowing; `end_seconds`
    is where the audio it heard ends, on the same clock as `Heard` times."""

    end_seconds: float
    probabilities: Mapping[Intent, float]  # every intent of the model; "none" is what is left


@dataclass(frozen=True)
class SpotterOptions:
    """threshold None: the one the model was tuned with; model None: the user's enrolled model when
    there is one that fits (`enrolled`), else the model in the package."""

    threshold: float | None = None
    model: Path | None = None
    enrolled: bool = True


class SpotterRecogniser:
    """The trained command spotter."""

    name = "spotter"

    def __init__(
        self, options: SpotterOptions | None = None, model: SpotterModel | None = None, embedder: Embedder | None = None
    ) -> None:
        options = options or SpotterOptions()
        if model is None and options.model is None and options.enrolled:
            from voicecoach.hear.spotter.enrolled import load_for_user

            model = load_for_user()
        self._options = options
        self.model = model or load_model(options.model)
        self._embedder = StreamingEmbedder(embedder)
        self._window = np.zeros((0, self.model.head.mean.shape[0]), dtype=np.float32)
        self._threshold = options.threshold if options.threshold is not None else self.model.threshold
        self._decider = Decider(self._threshold, self.model.refractory_steps, self.model.persist_steps)
        self._allowed = np.ones(len(self.model.classes), dtype=bool)
        self._intents = [None, *self.model.intents]
        self._origin = 0  # samples fed before the stream now being heard (flush starts a new one)
        self._fed = 0  # samples fed in all
        self._observers: list[Callable[[SpotterStep], None]] = []

    def observe(self, observer: Callable[[SpotterStep], None]) -> None:
        """Call `observer` with every step's probabilities, as the step is heard (fusion weighs them)."""
        self._observers.append(observer)

    def use_model(self, model: SpotterModel) -> None:
        """Hear with `model` from the next embedding on (a voice just enrolled); it must have the
        same classes. The threshold is the new model's own unless the options fixed one."""
        if model.classes != self.model.classes:
            raise ValueError("the new spotter model has other classes")
        self.model = model
        self._threshold = self._options.threshold if self._options.threshold is not None else model.threshold
        self._decider = Decider(self._threshold, model.refractory_steps, model.persist_steps)

    def listen_for(self, intents: frozenset[Intent]) -> None:
        self._allowed = np.array([i == 0 or self._intents[i] in intents for i in range(len(self._intents))])

    def feed(self, pcm: bytes) -> list[Heard]:
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
        self._fed += len(samples)
        return self._hear(samples)

    def flush(self) -> list[Heard]:
        # Half a second of silence lets a phrase said at the very end reach its deciding window; it
        # is not counted as audio heard, and the next audio starts a stream of its own.
        heard = self._hear(np.zeros(SAMPLE_RATE // 2, dtype=np.float32))
        self._embedder = StreamingEmbedder(self._embedder.embedder)
        self._window = self._window[:0]
        self._decider = Decider(self._threshold, self.model.refractory_steps, self.model.persist_steps)
        self._origin = self._fed
        return heard

    def _hear(self, samples: np.ndarray) -> list[Heard]:
        heard = []
        embeddings = self._embedder.feed(samples)
        first = self._embedder.embeddings_done - len(embeddings)  # the index of the first new one
        for index, embedding in enumerate(embeddings, start=first):
            self._window = np.concatenate([self._window, embedding[np.newaxis]])[-WINDOW:]
            if len(self._window) < WINDOW:
                continue
            probabilities = self.model.head.forward(self._window[np.newaxis])[0]
            heard_samples = FIRST_HEARD_SAMPLES + index * STEP_SAMPLES
            end = min(self._origin + heard_samples, self._fed) / SAMPLE_RATE
            if self._observers:
                step = SpotterStep(end, dict(zip(self.model.intents, map(float, probabilities[1:]))))
                for observer in self._observers:
                    observer(step)
            cls = self._decider(probabilities, self._allowed)
            if cls is None:
                continue
            intent = self._intents[cls]
            assert intent is not None
            confidence = float(probabilities[cls])
            heard.append(Heard(intent, spoken_name(intent), confidence, max(0.0, end - PHRASE_SECONDS), end))
            log.debug("spotted %s (%.2f) at %.2f s", intent.value, confidence, end)
        return heard
