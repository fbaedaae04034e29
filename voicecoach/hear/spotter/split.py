"""Which corpus speakers the spotter may learn from: a fixed split by a hash of the speaker.

train (60 %) fits the head, tune (20 %) chooses its threshold, test (20 %) is only ever measured,
by `voicecoach train-spotter --evaluate` and by `voicecoach bench --held-out`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def split_of(key: str) -> str:
    """train, tune or test, fixed by a hash of the speaker (or file) key."""
    bucket = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % 10
    return "train" if bucket < 6 else "tune" if bucket < 8 else "test"


def speaker_of(path: Path | str) -> str:
    """The speaker of a corpus file: Speech Commands' `<speaker>_nohash_<n>`, LibriSpeech's `<speaker>-…`."""
    path = Path(path)
    stem = path.stem.split("__")[-1]
    if "_nohash_" in stem:
        return stem.split("_nohash_")[0]
    if path.parent.name.startswith("librispeech"):
        return stem.split("-")[0]
    return stem


def in_split(path: Path | str, split: str) -> bool:
    """Whether this file's speaker is in `split` (train, tune or test)."""
    return split_of(speaker_of(path)) == split


def held_out(path: Path | str) -> bool:
    """Whether the spotter never trained on, nor tuned with, this file's speaker."""
    return in_split(path, "test")
