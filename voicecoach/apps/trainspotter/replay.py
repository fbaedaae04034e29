"""`voicecoach train-spotter` (or `--replay` alone): the compact sample of training windows that enrolment mixes in.

Enrolment fine-tunes the head on one user's takes; without some of the original data it would
forget what "none" sounds like and the commands the user did not say. This picks a few examples of
every intent and a spread of non-commands (other words, near-rhymes, continuous speech, the coach's
narration) from the training set's embeddings, keeps only the stretch of each that its labelled
windows need (6 windows, 21 embeddings), and writes them as int8 into the package (a few hundred kB).
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import numpy as np

from voicecoach.hear.spotter.adapt import replay_bytes
from voicecoach.hear.spotter.clips import IGNORE, NONE_CLASS
from voicecoach.hear.spotter.head import WINDOW

from .build import Examples

log = logging.getLogger(__name__)

RUN = 6  # windows kept from each example
PER_INTENT = 4
NONE_SEGMENTS = {"nontarget": 35, "speech": 35, "synth": 20, "narration": 10}


def _runs(labels: np.ndarray, first: int, last: int, wanted: int) -> list[int]:
    """Ends (absolute indices) of windows in first..last-1 labelled `wanted` that hold a full window."""
    ends = np.arange(first + WINDOW - 1, last)
    return [int(e) for e in ends if labels[e] == wanted]


def select(built: Examples, classes: list[str], seed: int = 0) -> list[tuple[int, int, int]]:
    """(first embedding, last embedding + 1, class) of every segment to keep."""
    rng = np.random.default_rng(seed)
    bounds = np.searchsorted(built.example, np.arange(len(built.kind) + 1))
    by_class: dict[int, list[int]] = {}
    none_by_kind: dict[str, list[int]] = {}
    for i, kind in enumerate(built.kind):
        labels = built.labels[bounds[i] : bounds[i + 1]]
        cls = int(labels.max(initial=0))
        if cls > 0:
            by_class.setdefault(cls, []).append(i)
        else:
            none_by_kind.setdefault(kind, []).append(i)
    segments = []
    for cls in range(1, len(classes)):
        for i in rng.permutation(by_class.get(cls, []))[:PER_INTENT]:
            ends = _runs(built.labels, bounds[i], bounds[i + 1], cls)
            if ends:
                segments.append((ends[0] - WINDOW + 1, ends[min(len(ends), RUN) - 1] + 1, cls))
    for kind, count in NONE_SEGMENTS.items():
        for i in rng.permutation(none_by_kind.get(kind, []))[:count]:
            ends = _runs(built.labels, bounds[i], bounds[i + 1], NONE_CLASS)
            if len(ends) >= RUN:
                at = int(rng.integers(0, len(ends) - RUN + 1))
                segments.append((ends[at] - WINDOW + 1, ends[at + RUN - 1] + 1, NONE_CLASS))
    return segments


def write_replay(built: Examples, classes: list[str], out: Path, seed: int = 0) -> None:
    segments = select(built, classes, seed)
    embeddings, labels, segment = [], [], []
    for n, (first, last, cls) in enumerate(segments):
        part = built.labels[first:last].astype(np.int8).copy()
        part[: WINDOW - 1] = IGNORE
        part[(part != cls)] = IGNORE
        embeddings.append(built.embeddings[first:last])
        labels.append(part)
        segment.append(np.full(last - first, n, np.int32))
    data = replay_bytes(np.concatenate(embeddings), np.concatenate(labels), np.concatenate(segment), classes)
    out.write_bytes(data)
    kept = Counter(classes[cls] for _, _, cls in segments)
    log.info("wrote %s: %d segments, %d kB (%s)", out, len(segments), len(data) // 1024, dict(kept))
