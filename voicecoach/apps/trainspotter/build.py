"""Turning training items into embeddings and window labels, in parallel worker processes."""

from __future__ import annotations

import logging
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voicecoach.core.commands import Intent
from voicecoach.hear.spotter.clips import IGNORE, NONE_CLASS, window_labels

from .data import Item, Noises, Room, augment, read_noises
from .voices import read_wav_bytes

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recipe:
    """How many augmented copies each kind of item gets, and how hard the augmentation is."""

    copies: dict[str, int]
    snr_db: tuple[float, float] = (0.0, 25.0)
    noisy_fraction: float = 0.6
    leak_fraction: float = 0.25
    leak_db: tuple[float, float] = (6.0, 20.0)
    speed: tuple[float, float] = (0.9, 1.1)
    reverb_fraction: float = 0.0  # of every item's copies, heard across a reverberant room
    cancelled_fraction: float = 0.0  # of the copies with the coach's voice leaking in, echo-cancelled
    canceller: str = "livekit"  # by which canceller (`hear.echo` kinds): the session's should be


@dataclass
class Examples:
    """Embeddings of many examples end to end, the label of the window ending at each, and which
    example (and item) each embedding belongs to."""

    embeddings: np.ndarray  # (n, 96) float16
    labels: np.ndarray  # (n,) int8
    example: np.ndarray  # (n,) int32
    kind: list[str]

    def windows(self, window: int = 16) -> tuple[np.ndarray, np.ndarray]:
        """Indices of the last embedding of every labelled window, and the labels."""
        ends = np.nonzero(self.labels != IGNORE)[0]
        ends = ends[ends >= window - 1]
        ends = ends[self.example[ends] == self.example[ends - window + 1]]
        return ends, self.labels[ends].astype(np.int64)


_STATE: dict[str, object] = {}


def _work(args: tuple[Item, int, Recipe, int, list[str], str]) -> tuple[np.ndarray, np.ndarray, str]:
    item, index, recipe, seed, classes, corpus = args
    if "embedder" not in _STATE:
        from voicecoach.hear.spotter.features import Embedder

        _STATE["embedder"] = Embedder()
        _STATE["noises"] = read_noises(Path(corpus))
    embedder = _STATE["embedder"]
    noises: Noises = _STATE["noises"]  # type: ignore[assignment]
    leak: list[np.ndarray] = _STATE["leak"]  # type: ignore[assignment]
    rng = np.random.default_rng([seed, index])
    try:
        samples = read_wav_bytes(Path(item.path).read_bytes()) if item.path else item.voice.render(item.label)  # type: ignore[union-attr]
    except Exception as error:  # a voice that cannot say something is skipped, not fatal
        log.warning("skipping %s: %s", item, error)
        return np.zeros((0, 96), np.float16), np.zeros(0, np.int8), item.kind
    cls = classes.index(item.intent.value) if item.intent is not None else NONE_CLASS
    pool = noises.train if item.split == "train" else noises.test
    embeddings, labels = [], []
    for _ in range(recipe.copies.get(item.kind, 1)):
        snr = float(rng.uniform(*recipe.snr_db)) if rng.random() < recipe.noisy_fraction else None
        leak_db = float(rng.uniform(*recipe.leak_db)) if rng.random() < recipe.leak_fraction else None
        room = Room(rng.random() < recipe.reverb_fraction, rng.random() < recipe.cancelled_fraction, recipe.canceller)
        if item.kind in ("speech", "narration"):
            audio, start, end = augment(
                samples, rng, pool, leak, snr, leak_db, before_seconds=0.3, after_seconds=0.3, room=room
            )
        else:
            speed = float(rng.uniform(*recipe.speed))
            audio, start, end = augment(samples, rng, pool, leak, snr, leak_db, speed, room=room)
        emb = embedder.embed_clip(audio)  # type: ignore[attr-defined]
        embeddings.append(emb.astype(np.float16))
        labels.append(window_labels(len(emb), start, end, cls))
    return np.concatenate(embeddings), np.concatenate(labels), item.kind


def _set_leak(leak: list[np.ndarray]) -> None:
    _STATE["leak"] = leak


def build(
    items: list[Item], recipe: Recipe, classes: list[str], corpus: Path, leak: list[np.ndarray], seed: int, jobs: int
) -> Examples:
    """Every item's augmented copies as embeddings with window labels."""
    todo = [(item, i, recipe, seed, classes, str(corpus)) for i, item in enumerate(items)]
    with ProcessPoolExecutor(max_workers=jobs, initializer=_set_leak, initargs=(leak,)) as pool:
        results = []
        for result in pool.map(_work, todo, chunksize=8):
            results.append(result)
            if len(results) % 500 == 0:
                log.info("embedded %d of %d items", len(results), len(todo))
    lengths = [len(r[0]) for r in results]
    return Examples(
        embeddings=np.concatenate([r[0] for r in results]) if results else np.zeros((0, 96), np.float16),
        labels=np.concatenate([r[1] for r in results]) if results else np.zeros(0, np.int8),
        example=np.repeat(np.arange(len(results), dtype=np.int32), lengths),
        kind=[r[2] for r in results],
    )


def save(examples: Examples, path: Path) -> None:
    np.savez_compressed(
        path,
        embeddings=examples.embeddings,
        labels=examples.labels,
        example=examples.example,
        kind=np.array(examples.kind),
    )


def load(path: Path) -> Examples:
    data = np.load(path)
    return Examples(data["embeddings"], data["labels"], data["example"], list(data["kind"]))


def classes_for(intents: list[Intent]) -> list[str]:
    return ["none", *(intent.value for intent in intents)]
