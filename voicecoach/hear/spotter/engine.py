"""The spotter as a `Recogniser`: PCM in, speech embeddings every 80 ms, the head on the last 16,
a command out when one class is likely enough."""

from __future__ import annotations

import logging
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
class SpotterOptions:
    """threshold None: the one the model was tuned with; model None: the model in the package."""

    threshold: float | None = None
    model: Path | None = None


class SpotterRecogniser:
    """The trained command spotter."""

    name = "spotter"

    def __init__(
        self, options: SpotterOptions | None = None, model: SpotterModel | None = None, embedder: Embedder | None = None
    ) -> None:
        options = options or SpotterOptions()
        self.model = model or load_model(options.model)
        self._embedder = StreamingEmbedder(embedder)
        self._window = np.zeros((0, self.model.head.mean.shape[0]), dtype=np.float32)
        threshold = options.threshold if options.threshold is not None else self.model.threshold
        self._decider = Decider(threshold, self.model.refractory_steps, self.model.persist_steps)
        self._allowed = np.ones(len(self.model.classes), dtype=bool)
        self._intents = [None, *self.model.intents]

    def listen_for(self, intents: frozenset[Intent]) -> None:
        self._allowed = np.array([i == 0 or self._intents[i] in intents for i in range(len(self._intents))])

    def feed(self, pcm: bytes) -> list[Heard]:
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
        heard = []
        for embedding in self._embedder.feed(samples):
            self._window = np.concatenate([self._window, embedding[np.newaxis]])[-WINDOW:]
            if len(self._window) < WINDOW:
                continue
            probabilities = self.model.head.forward(self._window[np.newaxis])[0]
            cls = self._decider(probabilities, self._allowed)
            if cls is None:
                continue
            intent = self._intents[cls]
            assert intent is not None
            end = (FIRST_HEARD_SAMPLES + (self._embedder.embeddings_done - 1) * STEP_SAMPLES) / SAMPLE_RATE
            heard.append(
                Heard(intent, spoken_name(intent), float(probabilities[cls]), max(0.0, end - PHRASE_SECONDS), end)
            )
            log.debug("spotted %s (%.2f) at %.2f s", intent.value, probabilities[cls], end)
        return heard

    def flush(self) -> list[Heard]:
        # Half a second of silence lets a phrase said at the very end reach its deciding window.
        return self.feed(bytes(2 * SAMPLE_RATE // 2))
