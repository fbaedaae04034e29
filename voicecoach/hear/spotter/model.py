"""The shipped spotter model: the head's weights, its classes and thresholds, and the phrase table
hash it was trained from, read from package data."""

from __future__ import annotations

import hashlib
import importlib.resources
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voicecoach.core.commands import PHRASES, Intent
from voicecoach.errors import ModelError
from voicecoach.hear.spotter.head import NAMES, Head

MODEL_FILE = "spotter.npz"


def phrase_table_hash(phrases: dict[str, Intent] | None = None) -> str:
    """SHA-256 of the phrase table (phrase -> intent, sorted): what a model was trained to hear."""
    table = sorted((phrase, intent.value) for phrase, intent in (phrases if phrases is not None else PHRASES).items())
    return hashlib.sha256(json.dumps(table).encode()).hexdigest()


@dataclass
class SpotterModel:
    """A head with what it needs to decide: class names ("none" first), one threshold for every
    intent, for how many steps in a row it must be reached, how long to stay quiet after a command,
    and the phrase table hash it was trained from."""

    head: Head
    classes: list[str]
    threshold: float
    refractory_steps: int
    persist_steps: int
    phrase_hash: str
    card: dict[str, object]

    @property
    def intents(self) -> list[Intent]:
        return [Intent(name) for name in self.classes[1:]]

    def save(self, path: Path) -> None:
        meta = {
            "classes": self.classes,
            "threshold": self.threshold,
            "refractory_steps": self.refractory_steps,
            "persist_steps": self.persist_steps,
            "phrase_hash": self.phrase_hash,
            "card": self.card,
        }
        arrays: dict[str, np.ndarray] = {name: array.astype(np.float32) for name, array in self.head.arrays().items()}
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        buffer = io.BytesIO()
        np.savez_compressed(buffer, allow_pickle=False, **arrays)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(buffer.getvalue())

    @classmethod
    def from_bytes(cls, data: bytes) -> SpotterModel:
        with np.load(io.BytesIO(data)) as arrays:
            meta = json.loads(arrays["meta"].tobytes().decode())
            head = Head(**{name: arrays[name] for name in NAMES})
        return cls(
            head,
            list(meta["classes"]),
            float(meta["threshold"]),
            int(meta["refractory_steps"]),
            int(meta.get("persist_steps", 1)),
            str(meta["phrase_hash"]),
            dict(meta.get("card", {})),
        )


def load_model(path: Path | None = None) -> SpotterModel:
    """The model at `path`, or the one shipped in the package."""
    try:
        data = (
            path.read_bytes()
            if path is not None
            else (importlib.resources.files("voicecoach.hear.spotter") / MODEL_FILE).read_bytes()
        )
    except OSError as error:
        raise ModelError(
            f"The spotter's model cannot be read ({error}); rebuild it with `voicecoach train-spotter`."
        ) from error
    return SpotterModel.from_bytes(data)
