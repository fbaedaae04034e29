"""The corpus as one part of the spotter's speaker split sees it: `--held-out` (the test speakers,
never trained nor tuned on) or `--split tune` (the speakers thresholds may be tuned on)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from voicecoach.bench.corpus import Clip, Corpus
from voicecoach.hear.spotter.split import speaker_of, split_of

SPLITS = ("train", "tune", "test")


@dataclass(frozen=True)
class SplitCorpus(Corpus):
    """Only the recordings whose speaker falls in `split` (train, tune or test)."""

    split: str = "test"

    def _keeps(self, path: Path | str) -> bool:
        return split_of(speaker_of(path)) == self.split

    def words(self) -> dict[str, list[Path]]:
        return {word: [p for p in paths if self._keeps(p)] for word, paths in super().words().items()}

    def distractor_clips(self) -> dict[str, list[Clip]]:
        groups = {word: [c for c in clips if self._keeps(c.path)] for word, clips in super().distractor_clips().items()}
        return {word: clips for word, clips in groups.items() if clips}

    def speech_files(self) -> list[Path]:
        return [p for p in super().speech_files() if self._keeps(p)]


@dataclass(frozen=True)
class HeldOutCorpus(SplitCorpus):
    """`voicecoach bench --held-out`: every engine measured on the spotter's test speakers only."""

    split: str = "test"
