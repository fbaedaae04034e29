"""Enrolment: the shipped spotter fine-tuned on a user's own takes, on the device, in seconds of CPU.

Each take (a command said once, 16 kHz) is placed with quiet before and after it, in several
augmented copies (level, a small speed change, the user's own room noise at several levels), and
turned into speech embeddings as the stream would give them; every 16-embedding window is labelled
as in training (`clips.window_labels`), so the phrase sits at every position the head sees it in
while it is being said and just after. The head is then trained further from the shipped weights:
the first convolution stays frozen, the rest is pulled back towards the shipped values, "none" is
weighted up (each measured on held-out speakers: `voicecoach bench --enrolled`), and a
compact sample of the original training windows (`replay.npz`, package data) is mixed in so that
rejection and the commands the user did not say are not forgotten. At run time the user's head is
heard together with the shipped one (`head.EnrolledHead`): a class's probability is the higher of
the two, the user's counting only where the shipped head already gives that class some weight, so
nothing the shipped model acts on is lost for a voice that was not enrolled. The decision threshold
stays the shipped model's: enrolment makes the user's commands likelier, it never lowers the bar.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import io
import json
import logging
import time
from dataclasses import dataclass, replace

import numpy as np

from voicecoach.core.commands import Intent
from voicecoach.hear.spotter import fit
from voicecoach.hear.spotter.clips import IGNORE, NONE_CLASS, active_rms, speech_span, stretched, window_labels
from voicecoach.hear.spotter.features import SAMPLE_RATE, Embedder
from voicecoach.hear.spotter.head import WINDOW, EnrolledHead
from voicecoach.hear.spotter.model import MODEL_FILE, SpotterModel

log = logging.getLogger(__name__)

REPLAY_FILE = "replay.npz"


@dataclass(frozen=True)
class Take:
    """One command said once by the user: 16 kHz samples, int16-scaled."""

    intent: Intent
    samples: np.ndarray


@dataclass(frozen=True)
class AdaptOptions:
    """How enrolment trains: copies of each take, epochs, what moves and how freely."""

    copies: int = 8
    epochs: int = 10
    rate: float = 1e-3
    trainable: tuple[str, ...] = ("w2", "b2", "w3", "b3")
    anchor_weight: float = 1.0
    none_weight: float = 3.0  # "none" weighs this much more than in training: fewer false activations
    replay_weight: float = 1.0  # the replay windows' share of the loss, against the user's windows
    speed: tuple[float, float] = (0.93, 1.07)
    gain_db: tuple[float, float] = (-10.0, 6.0)
    snr_db: tuple[float, float] = (5.0, 30.0)
    before_seconds: tuple[float, float] = (1.0, 2.0)  # quiet before each copy of a take
    gate: float = 0.5  # the user's head counts only where the shipped head gives the class this much (EnrolledHead)
    seed: int = 0


@dataclass(frozen=True)
class Replay:
    """Windows from the original training data with their classes, by name."""

    windows: np.ndarray  # (n, 16, 96) float32
    labels: np.ndarray  # (n,) int64, indices into `classes`
    classes: tuple[str, ...]

    def for_classes(self, classes: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """The windows whose class the model has, labelled with the model's class indices."""
        index = {name: i for i, name in enumerate(classes)}
        mapped = np.array([index.get(self.classes[label], -1) for label in self.labels], dtype=np.int64)
        keep = mapped >= 0
        return self.windows[keep], mapped[keep]


def load_replay(data: bytes | None = None) -> Replay:
    """The replay sample shipped in the package (or one given as the bytes of such a file)."""
    if data is None:
        data = (importlib.resources.files("voicecoach.hear.spotter") / REPLAY_FILE).read_bytes()
    with np.load(io.BytesIO(data)) as arrays:
        codes = arrays["embeddings"].astype(np.float32) * arrays["scale"]
        labels = arrays["labels"].astype(np.int64)
        segment = arrays["segment"]
        classes = tuple(json.loads(arrays["classes"].tobytes().decode()))
    ends = np.nonzero(labels != IGNORE)[0]
    ends = ends[(ends >= WINDOW - 1)]
    ends = ends[segment[ends] == segment[ends - WINDOW + 1]]
    return Replay(fit.stack(codes, ends), labels[ends], classes)


def replay_bytes(embeddings: np.ndarray, labels: np.ndarray, segment: np.ndarray, classes: list[str]) -> bytes:
    """A replay file: embeddings quantised to int8 per dimension, the label of the window ending at
    each (IGNORE: none), which segment each belongs to, and the class names."""
    scale = (np.abs(embeddings.astype(np.float32)).max(axis=0) / 127.0 + 1e-6).astype(np.float32)
    codes = np.clip(np.round(embeddings.astype(np.float32) / scale), -127, 127).astype(np.int8)
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        allow_pickle=False,
        embeddings=codes,
        scale=scale,
        labels=labels.astype(np.int8),
        segment=segment.astype(np.int32),
        classes=np.frombuffer(json.dumps(list(classes)).encode(), dtype=np.uint8),
    )
    return buffer.getvalue()


def placed(
    samples: np.ndarray,
    rng: np.random.Generator,
    room: np.ndarray | None,
    options: AdaptOptions,
    plain: bool = False,
) -> tuple[np.ndarray, int, int]:
    """One copy of a take with quiet before (`options.before_seconds`) and after (0.7 s): as said (`plain`), or at
    another level and speed with the room's noise under it. Returns the audio and where the
    phrase starts and ends."""
    voice = samples.astype(np.float64)
    if not plain:
        if rng.random() < 0.6:
            voice = stretched(voice, float(rng.uniform(*options.speed)))
        voice = voice * 10 ** (rng.uniform(*options.gain_db) / 20)
    start, end = speech_span(voice)
    before = round(rng.uniform(*options.before_seconds) * SAMPLE_RATE)
    after = round(0.7 * SAMPLE_RATE)
    audio = np.zeros(before + len(voice) + after)
    audio[before : before + len(voice)] = voice
    level = active_rms(voice)
    audio += rng.normal(0, level * 10 ** (-60 / 20), len(audio))
    if not plain and room is not None and len(room) > 0:
        first = int(rng.integers(0, max(1, len(room) - len(audio))))
        noise = np.resize(room[first : first + len(audio)].astype(np.float64), len(audio))
        noise_rms = float(np.sqrt((noise**2).mean())) + 1e-6
        snr = float(rng.uniform(*options.snr_db))
        # the room as it was, unless that is louder than the chosen SNR allows
        audio += noise * min(1.0, level * 10 ** (-snr / 20) / noise_rms)
    return np.clip(audio, -32768, 32767), before + start, before + end


def take_windows(
    takes: list[Take],
    classes: list[str],
    embedder: Embedder,
    room: np.ndarray | None,
    options: AdaptOptions,
) -> tuple[np.ndarray, np.ndarray]:
    """Labelled windows (n, 16, 96) and labels (n,) from the augmented copies of every take."""
    rng = np.random.default_rng(options.seed)
    windows, labels = [], []
    for take in takes:
        cls = classes.index(take.intent.value)
        for copy in range(options.copies):
            audio, start, end = placed(take.samples, rng, room, options, plain=copy == 0)
            embeddings = embedder.embed_clip(audio)
            label = window_labels(len(embeddings), start, end, cls)
            ends = np.nonzero(label != IGNORE)[0]
            windows.append(fit.stack(embeddings, ends))
            labels.append(label[ends].astype(np.int64))
    if not windows:
        return np.zeros((0, WINDOW, 96), np.float32), np.zeros(0, np.int64)
    return np.concatenate(windows), np.concatenate(labels)


def base_fingerprint(model: SpotterModel) -> str:
    """What a user's model was adapted from: the shipped head's weights, hashed."""
    digest = hashlib.sha256()
    for name, array in model.head.arrays().items():
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(array, dtype=np.float32).tobytes())
    return digest.hexdigest()


def adapt(
    base: SpotterModel,
    takes: list[Take],
    embedder: Embedder,
    room: np.ndarray | None = None,
    replay: Replay | None = None,
    options: AdaptOptions | None = None,
) -> SpotterModel:
    """The base model fine-tuned on the user's takes; its threshold and decision rule unchanged."""
    options = options or AdaptOptions()
    if not takes:
        raise ValueError("there are no takes to learn from")
    unknown = sorted({t.intent.value for t in takes} - set(base.classes))
    if unknown:
        raise ValueError(f"the spotter has no class for {', '.join(unknown)}")
    started = time.process_time()
    user_x, user_y = take_windows(takes, base.classes, embedder, room, options)
    parts_x, parts_y = [user_x], [user_y]
    weights = [np.ones(len(user_y), np.float32)]
    if replay is not None:
        replay_x, replay_y = replay.for_classes(base.classes)
        parts_x.append(replay_x)
        parts_y.append(replay_y)
        # the replay's share of the loss is `replay_weight` times the user's, whatever the counts
        share = options.replay_weight * len(user_y) / max(len(replay_y), 1)
        weights.append(np.full(len(replay_y), share, np.float32))
    windows = np.concatenate(parts_x).astype(np.float32)
    labels = np.concatenate(parts_y)
    head = fit.fine_tune(
        base.head,
        windows,
        labels,
        trainable=options.trainable,
        anchor_weight=options.anchor_weight,
        epochs=options.epochs,
        rate=options.rate,
        seed=options.seed,
        sample_weights=np.concatenate(weights),
        none_weight=options.none_weight,
    )
    seconds = time.process_time() - started
    counts = {name: sum(t.intent.value == name for t in takes) for name in base.classes if name != "none"}
    card = {
        "enrolled": {
            "takes": {name: n for name, n in counts.items() if n},
            "user_windows": int(len(user_y)),
            "user_none_windows": int((user_y == NONE_CLASS).sum()),
            "replay_windows": int(len(labels) - len(user_y)),
            "cpu_seconds": round(seconds, 1),
            "base": base_fingerprint(base),
            "base_file": MODEL_FILE,
            "gate": options.gate,
            "options": {k: v for k, v in options.__dict__.items()},
        },
        "base_card_chosen": base.card.get("chosen"),
    }
    log.info("adapted to %d takes in %.1f s of CPU (%d windows of theirs)", len(takes), seconds, len(user_y))
    return replace(base, head=EnrolledHead(**head.arrays(), base=base.head, gate=options.gate), card=card)


def heard_with_base(model: SpotterModel, base: SpotterModel) -> SpotterModel:
    """An enrolled model as read from its file (the user's head alone) heard together with the shipped one."""
    enrolled = model.card.get("enrolled")
    gate = float(enrolled.get("gate", 0.5)) if isinstance(enrolled, dict) else 0.5
    return replace(model, head=EnrolledHead(**model.head.arrays(), base=base.head, gate=gate))
